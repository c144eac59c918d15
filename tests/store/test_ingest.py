"""Imported keypoints -> store -> exports: values, names, labels, splits survive the round trip."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from skelpipe.apps.store_exports import store_info, write_npz_store, write_pyskl_store
from skelpipe.io.keypoints import KeypointSample, KeypointSource, SourceError
from skelpipe.io.raw_sources import Rejected
from skelpipe.params import ShardParams, ValidationParams
from skelpipe.store.ingest import ingest_source, store_source
from skelpipe.store.reader import SampleStore

PARAMS = ShardParams(
    dataset="ntu60",  # unused for imported stores
    shard_frames=256,
    chunk_frames=64,
    compressor="lz4",
    compression_level=5,
    validation=ValidationParams(fraction=0.25, seed=0, group_by="subject"),
)


def _annotations(n: int = 12, v: int = 17, c: int = 2, seed: int = 0) -> list[dict]:
    """PYSKL-like 2-D annotations (float16 keypoints with scores), 1 or 2 persons."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        m, t = 1 + k % 2, int(rng.integers(5, 90))
        out.append(
            {
                "frame_dir": f"clip_{k:03d}",
                "label": k % 4,
                "keypoint": rng.uniform(0, 1000, (m, t, v, c)).astype(np.float16),
                "keypoint_score": rng.uniform(0, 1, (m, t, v)).astype(np.float16),
                "img_shape": (1080, 1920),
                "original_shape": (1080, 1920),
                "total_frames": t,
            }
        )
    return out


def _source(anns: list[dict], splits: dict[str, list[str]], extra=()) -> KeypointSource:
    def samples():
        for a in anns:
            yield KeypointSample(
                a["frame_dir"],
                a["keypoint"].astype(np.float32),
                a["keypoint_score"].astype(np.float32),
                a["label"],
                img_shape=a["img_shape"],
            )
        yield from extra

    return KeypointSource("pyskl", "coco17", ("x", "y"), samples(), splits, dtype="float16")


def _splits(anns: list[dict]) -> dict[str, list[str]]:
    names = [a["frame_dir"] for a in anns]
    return {"xsub_train": names[::-1][:8], "xsub_val": names[-4:], "other": names[:2]}


def test_pyskl_round_trip(tmp_path):
    anns = _annotations()
    counts, rejected = ingest_source(_source(anns, _splits(anns)), tmp_path / "s.zarr", PARAMS)
    assert not rejected and counts["n_samples"] == len(anns)
    write_pyskl_store(tmp_path / "s.zarr", tmp_path / "out.pkl")
    with open(tmp_path / "out.pkl", "rb") as fh:
        back = pickle.load(fh)
    assert back["split"] == _splits(anns)  # names and order of every split, verbatim
    assert len(back["annotations"]) == len(anns)
    for a, b in zip(anns, back["annotations"], strict=True):
        assert set(a) == set(b)
        for key in a:
            if isinstance(a[key], np.ndarray):
                assert b[key].dtype == np.float16 and np.array_equal(a[key], b[key]), key
            else:
                assert a[key] == b[key], key


def test_store_reads_imported_2d(tmp_path):
    anns = _annotations()
    ingest_source(_source(anns, _splits(anns)), tmp_path / "s.zarr", PARAMS)
    store = SampleStore(tmp_path / "s.zarr")
    assert store.channels == ("x", "y")
    x = store.sample(1)
    assert x.shape == (anns[1]["total_frames"], 2, 17, 2)  # (T, M, V, C), M padded to 2
    # PYSKL's "val" split is its test set; a validation fold is carved from train
    names = {p: {store.names[i] for i in store.split("xsub", p)} for p in ("train", "val", "test")}
    assert names["test"] == set(_splits(anns)["xsub_val"])
    assert names["train"] | names["val"] == set(_splits(anns)["xsub_train"])
    assert not names["train"] & names["val"] and len(names["val"]) == 2
    info = store_info(tmp_path / "s.zarr")
    assert info == {
        "layout": "coco17",
        "n_joints": 17,
        "channels": ["x", "y"],
        "n_samples": 12,
        "n_frames": sum(a["total_frames"] for a in anns),
        "benchmarks": {"xsub": {"test": 4, "train": 6, "val": 2}},
    }


def test_bad_samples_rejected_good_kept(tmp_path):
    anns = _annotations(n=4)
    wrong = KeypointSample("bad_joints", np.zeros((1, 5, 20, 2), np.float32), label=0)
    long = KeypointSample("x" * 40, np.zeros((1, 5, 17, 2), np.float32), label=0)
    own = Rejected("broken", "f.pkl", None, "NaN coordinate", "ingest")
    counts, rejected = ingest_source(
        _source(anns, {}, extra=(wrong, own, long)), tmp_path / "s.zarr", PARAMS
    )
    assert counts["n_samples"] == 4
    assert [r.name for r in rejected] == ["bad_joints", "broken", "x" * 40]  # source order
    assert "20" in rejected[0].reason and "ASCII" in rejected[2].reason


def test_masked_frames_and_extra_persons(tmp_path):
    kp = np.arange(3 * 6 * 20 * 3, dtype=np.float32).reshape(3, 6, 20, 3)
    mask = np.array([1, 1, 0, 1, 0, 0], bool)
    s = KeypointSample("a", kp, label=None, mask=mask)
    src = KeypointSource("npz", "ucla20", ("x", "y", "z"), iter([s]), {"train": ["a"]})
    counts, _ = ingest_source(src, tmp_path / "s.zarr", PARAMS)
    store = SampleStore(tmp_path / "s.zarr")
    assert counts["n_persons_dropped"] == 2 and int(store.meta["label"][0]) == -1
    assert np.array_equal(store.sample(0)[:, 0], kp[0, mask])
    assert store.scores(0) is None


def test_empty_source_is_an_error(tmp_path):
    own = Rejected("broken", "f.pkl", None, "truncated", "ingest")
    src = KeypointSource("pyskl", "coco17", ("x", "y"), iter([own]))
    with pytest.raises(SourceError, match="no usable sample"):
        ingest_source(src, tmp_path / "s.zarr", PARAMS)


def test_npz_export(tmp_path):
    anns = _annotations(n=5)
    ingest_source(_source(anns, {"train": ["clip_000"]}), tmp_path / "s.zarr", PARAMS)
    assert write_npz_store(tmp_path / "s.zarr", tmp_path / "npz") == 5
    with np.load(tmp_path / "npz" / "train" / "clip_000.npz") as z:
        assert np.array_equal(z["poses"], anns[0]["keypoint"].transpose(1, 0, 2, 3))
        assert z["scores"].shape == (anns[0]["total_frames"], 1, 17)  # (T, M, V)
    labels = (tmp_path / "npz" / "labels.csv").read_text().splitlines()
    assert labels[0] == "name,label" and labels[1] == "clip_000,0"


def _store_arrays(path) -> dict:
    s = SampleStore(path)
    return {
        "names": s.names,
        "meta": {k: v.tolist() for k, v in s.meta.items()},
        "samples": [s.sample(i) for i in range(len(s))],
        "scores": [s.scores(i) for i in range(len(s))],
        "shapes": [s.img_shape(i) for i in range(len(s))],
        "splits": {
            b: {p: s.split(b, p).tolist() for p in ("train", "val", "test")}
            for b in s.attrs["benchmarks"]
        },  # fmt: skip
        "attrs": s.attrs,
    }


def test_store_source_reads_an_ingested_store_back(tmp_path):
    anns = _annotations()
    ingest_source(_source(anns, _splits(anns)), tmp_path / "a.zarr", PARAMS)
    src = store_source(SampleStore(tmp_path / "a.zarr"))
    assert (src.format, src.layout, src.channels, src.dtype) == (
        "pyskl",
        "coco17",
        ("x", "y"),
        "float16",
    )
    ingest_source(src, tmp_path / "b.zarr", PARAMS)
    a, b = _store_arrays(tmp_path / "a.zarr"), _store_arrays(tmp_path / "b.zarr")
    for key in ("names", "meta", "shapes", "splits", "attrs"):
        assert a[key] == b[key], key
    for x, y in zip(a["samples"] + a["scores"], b["samples"] + b["scores"], strict=True):
        np.testing.assert_array_equal(x, y)


def test_a_transform_is_applied_and_its_failures_rejected(tmp_path):
    anns = _annotations(n=6)

    def halve(s: KeypointSample) -> KeypointSample:
        if s.name == "clip_002":
            raise ValueError("clip_002: cannot align")
        s.keypoint = s.keypoint / 2
        return s

    counts, bad = ingest_source(_source(anns, _splits(anns)), tmp_path / "s.zarr", PARAMS, halve)
    store = SampleStore(tmp_path / "s.zarr")
    assert "clip_002" not in store.names and len(store) == 5
    assert [r.stage for r in bad] == ["align"] and counts["n_rejected"] == 1
    i = store.index_of["clip_000"]
    np.testing.assert_array_equal(
        store.sample(i)[:, 0], anns[0]["keypoint"][0].astype(np.float32) / 2
    )


def test_store_source_refuses_a_store_of_the_shard_stage(tmp_path):
    from tests.helpers import build_store, make_sequences

    _, store = build_store(tmp_path, make_sequences(n=4))
    with pytest.raises(SourceError, match="not a store of imported keypoints"):
        store_source(store)
