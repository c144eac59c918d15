"""Each importer's data through the keypoints pipeline's stages: ``ingest`` -> ``align`` -> one
training epoch (a classifier where the source has labels, the tokenizer where it has none), on
files written here in each format (no third-party data)."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from skelpipe.models.tokenizer import SkeletonTokenizer
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.train import ClipDataset, fit_tokenizer, model_config, run_identity
from stages.align_keypoints import app as align_app
from stages.ingest import app as ingest_app
from tests.helpers import ROOT, TOKENIZER_PARAMS, TRAIN_PARAMS, run_train_stage

pytestmark = pytest.mark.slow
RNG = np.random.default_rng(4)


def _moving(t: int, v: int, d: int, label: int, scale: float) -> np.ndarray:
    """(t, v, d) joints at rest plus one class-specific joint swinging: learnable."""
    x = RNG.normal(0, 0.1 * scale, (1, v, d)).repeat(t, axis=0) + scale
    x[:, 1 + label, 0] += 0.5 * scale * np.sin(np.linspace(0, 6, t))
    return x


def _pyskl_2d(root: Path) -> Path:
    anns, names = [], []
    for k in range(36):
        t, label = int(RNG.integers(20, 40)), k % 3
        anns.append(
            {
                "frame_dir": f"v{k:03d}",
                "label": label,
                "keypoint": (_moving(t, 17, 2, label, 300.0)[None]).astype(np.float16),
                "keypoint_score": np.ones((1, t, 17), np.float16),
                "img_shape": (480, 640),
                "total_frames": t,
            }
        )
        names.append(f"v{k:03d}")
    path = root / "pyskl.pkl"
    split = {"xsub_train": names[:27], "xsub_val": names[27:]}
    path.write_bytes(pickle.dumps({"split": split, "annotations": anns}, protocol=4))
    return path


def _npz_3d(root: Path) -> Path:
    for k in range(36):
        split, label = ("train" if k < 27 else "test"), k % 3
        path = root / "npz" / split / f"class{label}" / f"s{k:03d}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, poses=_moving(int(RNG.integers(20, 40)), 25, 3, label, 1.0))
    return root / "npz"


def _mars(root: Path) -> Path:
    folder = root / "mars"
    folder.mkdir()
    for split, frames in [("train", 400), ("validate", 100), ("test", 100)]:
        joints = _moving(frames, 19, 3, 0, 1.0)  # (T, 19, 3) -> x0..x18, y0..y18, z0..z18
        np.save(folder / f"labels_{split}.npy", joints.transpose(0, 2, 1).reshape(frames, 57))
    return folder


def _params(root: Path, fmt: str) -> Path:
    doc = yaml.safe_load((ROOT / "pipelines/keypoints/params.yaml").read_text())
    doc["ingest"].update(format=fmt, clip_frames=20)
    doc["shard"].update(shard_frames=1024, chunk_frames=256)
    bench = "default" if fmt != "pyskl" else "xsub"
    p = dataclasses.replace(TRAIN_PARAMS, benchmark=bench, models=("ctrgcn",), epochs=1)
    doc["train"] = {**dataclasses.asdict(p), "models": ["ctrgcn"], "streams": ["joint"]}
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _ingest_and_align(root: Path, src: Path, fmt: str) -> tuple[SampleStore, Path]:
    params = _params(root, fmt)
    for app, args in (
        (ingest_app, ["--raw", src, "--out", root / "in.zarr"]),
        (align_app, ["--store", root / "in.zarr", "--out", root / "store.zarr"]),
    ):
        argv = [*args, "--rejected", root / "rej.csv", "--metrics", root / "m.json"]
        result = CliRunner().invoke(app, [str(a) for a in ["--params", params, *argv]])
        assert result.exit_code == 0, result.output
    return SampleStore(root / "store.zarr"), params


@pytest.mark.parametrize(
    ("fmt", "make", "layout", "channels"),
    [("pyskl", _pyskl_2d, "coco17", 2), ("npz", _npz_3d, "ntu25", 3)],
)
def test_labelled_sources_train_a_classifier(tmp_path, fmt, make, layout, channels) -> None:
    store, params = _ingest_and_align(tmp_path, make(tmp_path), fmt)
    assert store.attrs["layout"] == layout and len(store.channels) == channels
    assert store.attrs["aligned"] and store.attrs["source_format"] == fmt
    run = tmp_path / "run"
    metrics = run_train_stage(tmp_path / "store.zarr", params, run, "joint")
    assert metrics["test_n"] == 9 and np.isfinite(metrics["final_train_loss"])


def test_unlabelled_mars_trains_the_tokenizer(tmp_path) -> None:
    store, _ = _ingest_and_align(tmp_path, _mars(tmp_path), "mars")
    assert store.attrs["layout"] == "mars19" and set(store.meta["label"]) == {-1}
    p = dataclasses.replace(TOKENIZER_PARAMS, benchmark="default", part_weights={})
    cfg = model_config(p, store)
    train, val = (
        ClipDataset(store, store.split("default", part), cfg, p, part == "train")
        for part in ("train", "val")
    )
    assert len(train) == 20 and len(val) > 0
    torch.manual_seed(0)
    state = fit_tokenizer(
        SkeletonTokenizer(cfg), train, val, p, tmp_path / "t.pt", run_identity(p, cfg), print
    )
    assert all(np.isfinite(r["train_recon"]) for r in state.history)
