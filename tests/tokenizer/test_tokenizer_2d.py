"""The tokenizer on image coordinates: channels from the store, no body frame, errors in pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelpipe.io.h5store import Sequence
from skelpipe.models.tokenizer import SkeletonTokenizer
from skelpipe.skeleton import NTU25
from skelpipe.store.reader import SampleStore
from skelpipe.store.shards import StoreWriter, shards_needed
from skelpipe.tokenizer.metrics import (
    METRES,
    MM,
    Units,
    joint_errors,
    pa_mpjpe,
    reconstruction_metrics,
    store_units,
)
from skelpipe.tokenizer.train import (
    ClipDataset,
    evaluate,
    fit_tokenizer,
    model_config,
    prepare,
    rate_metrics,
    run_identity,
    tokenize_sample,
)
from tests.helpers import SHARD_PARAMS, TOKENIZER_PARAMS, make_sequences


@pytest.fixture(scope="module")
def store2d(tmp_path_factory) -> SampleStore:
    path = tmp_path_factory.mktemp("store2d") / "store.zarr"
    seqs = [
        Sequence(s.name, (0.3 * s.joints[..., :2]).astype(np.float32), s.n_actors)
        for s in make_sequences(n=40, seed=5)
    ]
    bound = shards_needed(np.array([len(s.joints) for s in seqs]), SHARD_PARAMS.shard_frames)
    writer = StoreWriter(path, NTU25, SHARD_PARAMS, bound, coords="color2d")
    for s in seqs:
        writer.append(s)
    writer.close()
    return SampleStore(path)


def test_units_of_each_kind_of_store(store2d) -> None:
    assert store_units({}, 3) == METRES
    assert store_units(store2d.attrs, 2) == Units("px", (960.0, 540.0), 10.0)
    assert store_units({"channels": ["x", "y"]}, 2) == Units("px", (1.0, 1.0), 10.0)


def test_metres_keep_their_keys_and_values() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(2, 6, 25, 3))
    pred = target + rng.normal(scale=0.02, size=target.shape)
    mask = np.ones((2, 6), bool)
    out = reconstruction_metrics(pred, target, mask)
    assert {"mpjpe_mm", "pa_mpjpe_mm", "accel_error_mm", "pck_50mm"} <= set(out)
    assert out["mpjpe_mm"] == MM * float(joint_errors(pred, target).mean())


def test_pixel_errors_undo_the_image_scaling(store2d) -> None:
    units = store_units(store2d.attrs, 2)
    target = np.zeros((1, 4, 25, 2))
    target[..., 0], target[..., 1] = 0.1, -0.2
    pred = target.copy()
    pred[..., 0] += 0.01  # 9.6 px in a 1920-wide image
    pred[..., 1] += 0.02  # 10.8 px in a 1080-high image
    out = reconstruction_metrics(pred, target, np.ones((1, 4), bool), None, units)
    assert set(out) == {"mpjpe_px", "pa_mpjpe_px", "accel_error_px", "pck_10px"}
    assert out["mpjpe_px"] == pytest.approx(np.hypot(9.6, 10.8))
    assert out["pck_10px"] == 0.0 and out["pa_mpjpe_px"] == pytest.approx(0.0, abs=1e-9)


def test_procrustes_in_the_plane_removes_a_similarity() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(size=(1, 5, 25, 2))
    a = 0.7
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pred = 1.8 * target @ rot.T + np.array([3.0, -2.0])
    mask = np.ones((1, 5), bool)
    assert pa_mpjpe(pred, target, mask, 1.0) == pytest.approx(0.0, abs=1e-9)
    mirrored = target * np.array([-1.0, 1.0])  # a reflection is not removed
    assert pa_mpjpe(mirrored, target, mask, 1.0) > 0.1


def test_the_tokenizer_trains_and_reconstructs_image_coordinates(store2d, tmp_path) -> None:
    p = TOKENIZER_PARAMS
    assert p.body_frame  # asked for, and left out: an image has no body frame
    cfg = model_config(p, store2d)
    assert cfg.in_channels == 2
    sample = store2d.sample(0)
    x, R, origin = prepare(sample, 2, NTU25, canonical=True)
    np.testing.assert_array_equal(x, sample.transpose(1, 0, 2, 3))
    assert R.shape == (2, 2) and not origin.any()
    train, val = (
        ClipDataset(store2d, store2d.split(p.benchmark, part), cfg, p, part == "train")
        for part in ("train", "val")
    )
    torch.manual_seed(p.seed)
    model = SkeletonTokenizer(cfg)
    ckpt, identity = tmp_path / "ckpt.pt", run_identity(p, cfg)
    state = fit_tokenizer(model, train, val, p, ckpt, identity, lambda row: None)
    losses = [r["train_recon"] for r in state.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    tokens, recon = tokenize_sample(model, sample, p)
    assert recon.shape == sample.shape and tokens.shape[-1] == cfg.levels
    metrics, _ = evaluate(model, store2d, store2d.split(p.benchmark, "test"), p)
    assert np.isfinite(metrics["mpjpe_px"]) and "mpjpe_mm" not in metrics
    assert rate_metrics(cfg, NTU25)["compression_ratio"] == 25 * 2 * 32 / (2 * 4 / 4)
