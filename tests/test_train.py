"""Training loop: deterministic, resumable (interrupted == uninterrupted), learns, schedule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import skelpipe.tokenizer.train as tok_module
import skelpipe.training.loop as train_module
from skelpipe.models.tokenizer import tokenizer_config
from skelpipe.params import TrainParams
from skelpipe.store.reader import SampleStore
from skelpipe.training.loop import build_datasets, config_hash, fit, lr_at, make_loader, predict
from tests.test_shards import _build, _sequences
from tests.test_tokenizer_pipeline import P as TOKENIZER_PARAMS

P = TrainParams(
    benchmark="ntu60_xsub",
    models=("tiny",),
    streams=("joint",),
    preset="cpu",
    epochs=4,
    batch_size=8,
    lr=0.05,
    momentum=0.9,
    nesterov=True,
    weight_decay=1e-4,
    warmup_epochs=1,
    schedule="step",
    lr_steps=(3,),
    lr_decay=0.1,
    label_smoothing=0.1,
    window=16,
    p_interval_train=(0.5, 1.0),
    p_interval_eval=(0.95,),
    rotate_theta=0.3,
    seed=3,
    num_workers=0,
    threads=1,
    reproducible=False,  # in-process: the pinned environment is set by stages.launch
    device="cpu",
    amp=True,
    compile=True,
    eval_every=2,
)


class Tiny(nn.Module):
    """A small stand-in for a GCN: pools joints and time, then a linear classifier."""

    def __init__(self, num_classes: int = 60) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=(3, 1), padding=(1, 0))
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)  # (N*M, C, T, V)
        h = torch.relu(self.conv(x)).mean(dim=(2, 3)).reshape(n, m, -1).mean(1)
        return self.fc(h)


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SampleStore:
    path = tmp_path_factory.mktemp("store")
    _build(path, _sequences(n=48, seed=5))
    return SampleStore(path / "store.zarr")


def _run(store: SampleStore, ckpt, stop_after: int | None = None, p: TrainParams = P):
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
    assert len(state.history) == P.epochs
    hashes = (config_hash(P, "tiny", "bone"), train_module.code_fingerprint())
    monkeypatch.setattr(train_module, "code_fingerprint", lambda: "other code")
    assert config_hash(P, "tiny", "bone") != hashes[0]
    _, rows = _run(store, tmp_path / "a.pt")
    assert [r["epoch"] for r in rows] == list(range(1, P.epochs + 1))  # trained afresh
    monkeypatch.setattr(tok_module, "code_fingerprint", lambda: "other code")
    cfg = tokenizer_config("ntu25")
    other = tok_module.run_identity(TOKENIZER_PARAMS, cfg)
    monkeypatch.setattr(tok_module, "code_fingerprint", lambda: hashes[1])
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
    other = dataclasses.replace(P, lr=0.01)
    (_, state), rows = _run(store, tmp_path / "c.pt", p=other)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]


def test_learns_and_scores_every_sample(store, tmp_path) -> None:
    p = dataclasses.replace(P, epochs=12, rotate_theta=0.0, lr=0.1, lr_steps=(10,))
    (net, state), _ = _run(store, tmp_path / "d.pt", p=p)
    losses = [r["train_loss"] for r in state.history]
    assert losses[-1] < losses[0]
    ds = build_datasets(store, p, "joint")
    scores, labels, idx = predict(net, make_loader(ds["test"], p, False, 0), torch.device("cpu"))
    assert scores.shape == (len(ds["test"]), 60)
    assert sorted(idx.tolist()) == sorted(ds["test"].indices.tolist())


def test_lr_schedule() -> None:
    assert lr_at(0, P) == pytest.approx(P.lr / 2)  # warm-up
    assert lr_at(1, P) == pytest.approx(P.lr)
    assert lr_at(3, P) == pytest.approx(P.lr * 0.1)
    cos = dataclasses.replace(P, schedule="cosine", epochs=11)
    assert lr_at(1, cos) == pytest.approx(P.lr)
    assert lr_at(11, cos) == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff([lr_at(e, cos) for e in range(1, 12)]) <= 0)
