"""What the published recipes need from the loop: gradient accumulation, clipping, model EMA,
multi-clip and mirrored testing, uniform sampling, the linear learning-rate rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from skelpipe.store.reader import SampleStore
from skelpipe.training.ema import ModelEMA
from skelpipe.training.loop import (
    build_datasets,
    config_hash,
    evaluate,
    fit,
    global_batch,
    lr_at,
    make_loader,
    optimizer_step,
    peak_lr,
    predict,
)
from tests.helpers import TRAIN_PARAMS, Tiny, build_store, make_sequences

CPU = torch.device("cpu")
PLAIN = dataclasses.replace(TRAIN_PARAMS, rotate_theta=0.0, compile=False, epochs=2)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SampleStore:
    path = tmp_path_factory.mktemp("store")
    build_store(path, make_sequences(n=48, seed=5))
    return SampleStore(path / "store.zarr")


def _fit(store: SampleStore, p, ckpt, stream: str = "joint"):
    torch.manual_seed(p.seed)
    net = Tiny()
    ds = build_datasets(store, p, stream)
    state = fit(net, ds, p, ckpt, config_hash(p, "tiny", stream), "tiny", lambda row: None)
    return net, state, ds


def test_accumulating_two_half_batches_equals_one_full_batch(store, tmp_path) -> None:
    n_train = len(build_datasets(store, PLAIN, "joint")["train"])
    batch = max(b for b in (1, 2, 3, 4, 5) if n_train % (2 * b) == 0)  # whole batches only
    assert batch > 1, n_train
    full = dataclasses.replace(PLAIN, batch_size=2 * batch)
    half = dataclasses.replace(PLAIN, batch_size=batch, grad_accum=2)
    assert global_batch(full) == global_batch(half)
    net_a, state_a, _ = _fit(store, full, tmp_path / "a.pt")
    net_b, state_b, _ = _fit(store, half, tmp_path / "b.pt")
    for ta, tb in zip(net_a.state_dict().values(), net_b.state_dict().values(), strict=True):
        torch.testing.assert_close(ta, tb, rtol=1e-4, atol=1e-6)
    other = dataclasses.replace(PLAIN, batch_size=batch)  # same batches, no accumulation
    net_c, _, _ = _fit(store, other, tmp_path / "c.pt")
    assert not torch.allclose(net_a.fc.weight, net_c.fc.weight, atol=1e-4)


def test_gradient_clipping_bounds_the_step() -> None:
    torch.manual_seed(0)
    net = torch.nn.Linear(10, 3)
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    (net(100 * torch.randn(8, 10)) ** 2).sum().backward()
    optimizer_step(net, opt, torch.amp.GradScaler("cuda", enabled=False), clip=0.5)
    step = torch.cat(
        [(p.detach() - b).flatten() for p, b in zip(net.parameters(), before, strict=True)]
    )
    assert step.norm().item() == pytest.approx(0.5, rel=1e-4)


def test_ema_update_rule() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    ema = ModelEMA(net, 0.9)
    start = {k: v.clone() for k, v in ema.state_dict().items()}
    with torch.no_grad():
        net[0].weight.add_(1.0)
    net(torch.randn(8, 4))  # BatchNorm statistics and its batch counter move
    ema.update(net)
    cur = net.state_dict()
    for name, avg in ema.state_dict().items():
        if avg.dtype.is_floating_point:
            torch.testing.assert_close(avg, 0.9 * start[name] + 0.1 * cur[name])
        else:
            assert torch.equal(avg, cur[name])
    assert not any(p.requires_grad for p in ema.module.parameters())
    with pytest.raises(ValueError):
        ModelEMA(net, 1.0)


def test_ema_weights_are_what_is_evaluated_and_resumed(store, tmp_path) -> None:
    p = dataclasses.replace(PLAIN, ema_decay=0.5, epochs=3)
    net_raw, _, _ = _fit(store, dataclasses.replace(p, ema_decay=0.0), tmp_path / "r.pt")
    net, state, ds = _fit(store, p, tmp_path / "e.pt")
    assert not torch.allclose(net.fc.weight, net_raw.fc.weight)  # averaged, not the raw weights
    ckpt = torch.load(tmp_path / "e.pt", weights_only=True)
    torch.testing.assert_close(net.state_dict()["fc.weight"], ckpt["ema"]["fc.weight"])
    again, state_again, _ = _fit(store, p, tmp_path / "e.pt")  # finished: resumed, not retrained
    assert state_again.history == state.history
    assert torch.equal(again.fc.weight, net.fc.weight)


def test_multi_clip_scores_are_log_mean_probabilities(store, tmp_path) -> None:
    net, _, _ = _fit(store, PLAIN, tmp_path / "m.pt")
    p = dataclasses.replace(PLAIN, test_clips=3, test_flip=True)
    ds = build_datasets(store, p, "joint")["test"]
    scores, labels, idx = evaluate(net, ds, p, CPU)
    probs = []
    for clip in range(3):
        for flip in (False, True):
            s, lab, i = predict(net, make_loader(ds.with_clip(clip, flip), p, False, 0), CPU)
            assert np.array_equal(lab, labels) and np.array_equal(i, idx)
            probs.append(torch.softmax(torch.from_numpy(s).double(), 1).numpy())
    np.testing.assert_allclose(np.exp(scores), np.mean(probs, axis=0), rtol=1e-5)
    single = evaluate(net, build_datasets(store, PLAIN, "joint")["test"], PLAIN, CPU)
    base = predict(
        net, make_loader(build_datasets(store, PLAIN, "joint")["test"], PLAIN, False, 0), CPU
    )
    assert np.array_equal(single[0], base[0])  # one clip: the plain scores, unchanged
    assert not np.allclose(probs[0], probs[2])  # the clips see different frames


def test_uniform_sampling_trains_and_its_test_clips_are_reproducible(store, tmp_path) -> None:
    p = dataclasses.replace(PLAIN, sampling="uniform", test_clips=2)
    net, state, ds = _fit(store, p, tmp_path / "u.pt")
    assert np.isfinite(state.history[-1]["train_loss"])
    a = evaluate(net, ds["test"], p, CPU)[0]
    b = evaluate(net, build_datasets(store, p, "joint")["test"], p, CPU)[0]
    assert np.array_equal(a, b)


def test_linear_lr_rule() -> None:
    p = dataclasses.replace(PLAIN, lr=0.1, batch_size=16, lr_reference_batch=128)
    assert peak_lr(p) == pytest.approx(0.1 * 16 / 128)
    assert peak_lr(dataclasses.replace(p, grad_accum=8)) == pytest.approx(0.1)
    assert peak_lr(dataclasses.replace(p, lr_reference_batch=0)) == 0.1
    assert lr_at(p.warmup_epochs, p) == pytest.approx(peak_lr(p))
