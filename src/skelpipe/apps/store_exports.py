"""Exports of a sample store to the formats other tools read: PYSKL annotation pickles, npz folders.

A store written by :func:`skelpipe.store.ingest.ingest_source` exports back to what it was read
from: the PYSKL export of a store ingested from a PYSKL pickle holds the same names, labels,
keypoints (cast back to the source dtype, e.g. float16), scores, image shapes and the split dict
in its own order. A store written by the shard stage (NTU, NW-UCLA: aligned coordinates) exports
its samples with the benchmark splits named ``<benchmark>_train`` / ``_val`` / ``_test``.

Both exports read one sample at a time; the pickle itself is built in memory (the format is one
object), the npz folder is written file by file.
"""

from __future__ import annotations

import csv
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import zarr

from skelpipe.atomic import atomic_file
from skelpipe.store.reader import SampleStore, store_splits


def _annotation(store: SampleStore, i: int, dtype: np.dtype) -> dict:
    """PYSKL annotation of sample ``i``: keypoint (M, T, V, C) with M = the persons it has."""
    m = max(int(store.meta["n_actors"][i]), 1)
    joints = store.sample(i)[:, :m]  # (T, M, V, C)
    ann = {
        "frame_dir": store.names[i],
        "label": int(store.meta["label"][i]),
        "keypoint": joints.transpose(1, 0, 2, 3).astype(dtype),
        "total_frames": int(joints.shape[0]),
    }
    scores = store.scores(i)
    if scores is not None:
        ann["keypoint_score"] = scores[:, :m].transpose(1, 0, 2).astype(dtype)
    shape = store.img_shape(i)
    if shape is not None:
        ann["img_shape"] = ann["original_shape"] = shape
    return ann


def write_pyskl_store(store_path: Path, out: Path) -> int:
    """Write the store as a PYSKL annotation pickle; returns the number of samples."""
    store = SampleStore(store_path)
    dtype = np.dtype(store.attrs.get("source_dtype", "float32"))
    data = {
        "split": store_splits(store),
        "annotations": [_annotation(store, i, dtype) for i in range(len(store))],
    }
    with atomic_file(out) as tmp, open(tmp, "wb") as fh:
        pickle.dump(data, fh, protocol=4)
    return len(store)


def _split_of(store: SampleStore) -> dict[str, str]:
    """Sample name -> the folder its npz goes to (train / val / test of the first benchmark)."""
    root = zarr.open_group(store.path, mode="r")
    benches = sorted(root["splits"].group_keys())
    if not benches:
        return {}
    group = root["splits"][benches[0]]
    return {store.names[int(i)]: part for part in group.array_keys() for i in group[part][:]}


def _npz_items(store: SampleStore) -> Iterator[tuple[str, str, dict[str, np.ndarray]]]:
    split = _split_of(store)
    for i, name in enumerate(store.names):
        m = max(int(store.meta["n_actors"][i]), 1)
        arrays = {"poses": store.sample(i)[:, :m]}  # (T, M, V, C)
        scores = store.scores(i)
        if scores is not None:
            arrays["scores"] = scores[:, :m]  # (T, M, V)
        yield split.get(name, ""), name, arrays


def write_npz_store(store_path: Path, out: Path) -> int:
    """Write one ``<split>/<name>.npz`` per sample (``poses`` (T, M, V, C), ``scores`` when the
    store has them) and ``labels.csv`` (name, label); returns the number of samples."""
    store = SampleStore(store_path)
    out.mkdir(parents=True, exist_ok=True)
    for split, name, arrays in _npz_items(store):
        folder = out / split if split else out
        folder.mkdir(exist_ok=True)
        with atomic_file(folder / f"{name}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    with atomic_file(out / "labels.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "label"])
        for name, label in zip(store.names, store.meta["label"], strict=True):
            w.writerow([name, int(label)])
    return len(store)


def store_info(store_path: Path) -> dict:
    """``{layout, n_joints, channels, n_samples, n_frames, benchmarks: {name: {part: count}}}``."""
    store = SampleStore(store_path)
    root = zarr.open_group(store.path, mode="r")
    benchmarks = {
        b: {p: int(root["splits"][b][p].shape[0]) for p in sorted(root["splits"][b].array_keys())}
        for b in sorted(root["splits"].group_keys())
    }
    return {
        "layout": store.attrs["layout"],
        "n_joints": int(root["joints"].shape[2]),
        "channels": list(store.channels),
        "n_samples": len(store),
        "n_frames": int(np.sum(store.n_frames)),
        "benchmarks": benchmarks,
    }
