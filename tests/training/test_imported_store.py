"""A store ingested from 2-D keypoints (PYSKL COCO-17 pickle) trains through the train stage."""

from __future__ import annotations

import dataclasses

import numpy as np
import yaml

from skelpipe.classify.ensemble import load_scores
from skelpipe.classify.features import random_rotate
from skelpipe.io.pyskl import open_pyskl
from skelpipe.models import model_config, store_model_config
from skelpipe.store.ingest import ingest_source
from skelpipe.store.reader import SampleStore
from tests.helpers import SHARD_PARAMS, TRAIN_PARAMS, coco_pickle, run_train_stage


def test_two_d_store_trains_and_scores(tmp_path) -> None:
    coco_pickle(tmp_path / "coco.pkl")
    counts, rejected = ingest_source(
        open_pyskl(tmp_path / "coco.pkl"), tmp_path / "s.zarr", SHARD_PARAMS
    )
    assert not rejected and counts["n_samples"] == 48
    store = SampleStore(tmp_path / "s.zarr")
    assert store.attrs["layout"] == "coco17" and store.channels == ("x", "y")
    assert store_model_config("ctrgcn", store.attrs, "cpu").in_channels == 2
    p = dataclasses.replace(
        TRAIN_PARAMS,
        benchmark="default",
        models=("ctrgcn",),
        epochs=1,
        compile=False,
        rotate_theta=0.3,
    )
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": dataclasses.asdict(p)}, sort_keys=False))
    run = tmp_path / "run"
    metrics = run_train_stage(tmp_path / "s.zarr", params, run, "bone")
    assert metrics["test_n"] == 12 and 0.0 <= metrics["test_top1"] <= 1.0
    scores = load_scores(run / "out" / "scores_test.npz")
    assert scores.scores.shape == (12, 3)
    assert set(scores.names) == set(store.names[36:])  # PYSKL's "val" split is the test set


def test_store_config_equals_the_registered_dataset_config() -> None:
    attrs = {"num_classes": 60, "layout": "ntu25", "dataset": "ntu60"}  # a shard-stage store
    for name in ("ctrgcn", "stgcnpp", "infogcn"):
        assert store_model_config(name, attrs, "cpu") == model_config(name, "ntu60", "cpu")


def test_two_d_rotation_is_a_plane_rotation() -> None:
    x = np.random.default_rng(0).normal(size=(5, 1, 17, 2)).astype(np.float32)
    x[:, :, 3] = 0.0  # a missing joint
    y = random_rotate(x, 0.5, np.random.default_rng(1))
    assert not np.allclose(x, y)
    assert np.allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), atol=1e-5)
    assert (y[:, :, 3] == 0).all()
