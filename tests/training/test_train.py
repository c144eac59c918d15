"""Training loop: deterministic, resumable (interrupted == uninterrupted), learns, schedule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import skelpipe.tokenizer.train as tok_module
import skelpipe.training.loop as train_module
from skelpipe.models.tokenizer import tokenizer_config
from skelpipe.params import TrainParams
from skelpipe.store.reader import SampleStore
from skelpipe.training.loop import build_datasets, config_hash, fit, lr_at, make_loader, predict
from tests.helpers import TOKENIZER_PARAMS, TRAIN_PARAMS, Tiny, build_store, make_sequences


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SampleStore:
    path = tmp_path_factory.mktemp("store")
    build_store(path, make_sequences(n=48, seed=5))
    return SampleStore(path / "store.zarr")


def _run(store: SampleStore, ckpt, stop_after: int | None = None, p: TrainParams = TRAIN_PARAMS):
    torch.manual_seed(p.seed)
    net = Tiny()
    ds = build_datasets(store, p, "bone")
    rows = []

    def on_epoch(row: dict) -> None:
        rows.append(row)
        if stop_after is not None and row["epoch"] == stop_after:
            raise Interrupt

    try:
        state = fit(net, ds, p, ckpt, config_hash(p, "tiny", "bone"), "tiny", on_epoch)
    except Interrupt:
        return None, rows
    return (net, state), rows


def test_a_finished_run_of_other_code_is_not_resumed(store, tmp_path, monkeypatch) -> None:
    """The run identity holds the package's source fingerprint: after a code change the stage
    trains afresh instead of returning the old code's finished weights."""
    (_, state), _ = _run(store, tmp_path / "a.pt")
    assert len(state.history) == TRAIN_PARAMS.epochs
    hashes = (config_hash(TRAIN_PARAMS, "tiny", "bone"), train_module.code_fingerprint())
    monkeypatch.setattr(train_module, "code_fingerprint", lambda: "other code")
    assert config_hash(TRAIN_PARAMS, "tiny", "bone") != hashes[0]
    _, rows = _run(store, tmp_path / "a.pt")
    assert [r["epoch"] for r in rows] == list(range(1, TRAIN_PARAMS.epochs + 1))  # trained afresh
    cfg = tokenizer_config("ntu25")  # the tokenizer's identity: the same function
    other = tok_module.run_identity(TOKENIZER_PARAMS, cfg)
    monkeypatch.setattr(train_module, "code_fingerprint", lambda: hashes[1])
    assert tok_module.run_identity(TOKENIZER_PARAMS, cfg) != other


def test_resume_equals_uninterrupted(store, tmp_path) -> None:
    (net_a, state_a), _ = _run(store, tmp_path / "a.pt")
    assert _run(store, tmp_path / "b.pt", stop_after=2)[0] is None
    (net_b, state_b), rows_b = _run(store, tmp_path / "b.pt")
    assert [r["epoch"] for r in rows_b] == [3, 4]  # resumed after epoch 2
    assert state_a.history == state_b.history
    for ta, tb in zip(net_a.state_dict().values(), net_b.state_dict().values(), strict=True):
        torch.testing.assert_close(ta, tb, rtol=0, atol=0)


def test_checkpoint_of_another_config_is_not_resumed(store, tmp_path) -> None:
    _run(store, tmp_path / "c.pt", stop_after=2)
    other = dataclasses.replace(TRAIN_PARAMS, lr=0.01)
    (_, state), rows = _run(store, tmp_path / "c.pt", p=other)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]


def test_learns_and_scores_every_sample(store, tmp_path) -> None:
    p = dataclasses.replace(TRAIN_PARAMS, epochs=12, rotate_theta=0.0, lr=0.1, lr_steps=(10,))
    (net, state), _ = _run(store, tmp_path / "d.pt", p=p)
    losses = [r["train_loss"] for r in state.history]
    assert losses[-1] < losses[0]
    ds = build_datasets(store, p, "joint")
    scores, labels, idx = predict(net, make_loader(ds["test"], p, False, 0), torch.device("cpu"))
    assert scores.shape == (len(ds["test"]), 60)
    assert sorted(idx.tolist()) == sorted(ds["test"].indices.tolist())


def test_lr_schedule() -> None:
    assert lr_at(0, TRAIN_PARAMS) == pytest.approx(TRAIN_PARAMS.lr / 2)  # warm-up
    assert lr_at(1, TRAIN_PARAMS) == pytest.approx(TRAIN_PARAMS.lr)
    assert lr_at(3, TRAIN_PARAMS) == pytest.approx(TRAIN_PARAMS.lr * 0.1)
    cos = dataclasses.replace(TRAIN_PARAMS, schedule="cosine", epochs=11)
    assert lr_at(1, cos) == pytest.approx(TRAIN_PARAMS.lr)
    assert lr_at(11, cos) == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff([lr_at(e, cos) for e in range(1, 12)]) <= 0)
