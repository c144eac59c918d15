"""Every registered model trains through the real ``train@<model>-<stream>`` stage (one epoch on a
tiny store), and the recipe features run there: uniform sampling, multi-clip and mirrored testing,
EMA, accumulation, clipping and the linear lr rule, stated in the metrics."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from skelpipe.classify.ensemble import load_scores
from skelpipe.models import registry
from tests.helpers import ROOT, TRAIN_PARAMS, build_store, make_sequences, train_stage_cmd

ENV = {**os.environ, "CI": "true", "OMP_NUM_THREADS": "1"}
ONE_EPOCH = dataclasses.replace(
    TRAIN_PARAMS, epochs=1, eval_every=1, compile=False, batch_size=16, window=16
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zoo")
    build_store(path, make_sequences(n=40, seed=11))
    return path / "store.zarr"


def _run_stage(store: Path, tmp: Path, model: str, p) -> dict:
    params = tmp / "params.yaml"
    params.write_text(yaml.safe_dump({"train": dataclasses.asdict(p)}, sort_keys=False))
    run = tmp / model
    cmd = train_stage_cmd(store, params, run, stream="bone", model=model)
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    scores = load_scores(run / "out" / "scores_test.npz")
    assert scores.scores.shape[1] == 60 and len(scores.names) > 0
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(registry))
def test_each_model_trains_one_epoch_through_the_stage(store, tmp_path, model) -> None:
    metrics = _run_stage(store, tmp_path, model, ONE_EPOCH)
    assert metrics["epochs"] == 1 and 0.0 <= metrics["test_top1"] <= 1.0
    assert "lr_effective" not in metrics  # stated only when the linear lr rule is in use


@pytest.mark.slow
def test_recipe_features_through_the_stage(store, tmp_path) -> None:
    p = dataclasses.replace(
        ONE_EPOCH,
        epochs=2,
        sampling="uniform",
        test_clips=3,
        test_flip=True,
        grad_accum=2,
        batch_size=8,
        grad_clip=40.0,
        ema_decay=0.9,
        lr_reference_batch=64,
    )
    metrics = _run_stage(store, tmp_path, "stgcnpp", p)
    assert metrics["global_batch"] == 16
    assert metrics["lr_effective"] == pytest.approx(p.lr * 16 / 64)
    assert metrics["epochs"] == 2
