"""The one training loop (classifiers, the token stream and the tokenizer), and classifier
training on the sample store: recipe, determinism, resume, scores by name.

:func:`run_epochs` (reseeding, checkpoints, evaluation when due) and :func:`train_epoch`
(learning rate, gradient accumulation and clipping, AMP, EMA, rank-weighted losses) are shared;
:func:`fit` and :func:`skelpipe.tokenizer.train.fit_tokenizer` only say what a batch's loss is
and what a row reports. One :func:`run_identity` names every run.

The recipe follows CTR-GCN / InfoGCN: SGD with Nesterov momentum (AdamW for the token stream's
transformer, ``optimizer`` in the params), linear warm-up then step or cosine decay, weight decay,
optional label smoothing, valid crop-resize and rotation augmentation. The other published recipes
need, and get: PYSKL's uniform sampling with multi-clip testing (softmax-averaged, optionally with
mirrored clips), gradient accumulation and clipping, a model EMA evaluated and saved in place of the
raw weights (TSGCNeXt), and the linear learning-rate rule for a global batch other than the
recipe's (``lr_reference_batch``).

Determinism: model init, shuffling and every sample's augmentation are seeded from
``(seed, epoch, sample index)`` and the global torch generator (dropout) is reseeded every epoch, so
a run resumed from an epoch checkpoint equals an uninterrupted
one (CPU). Checkpoints are written atomically at the end of each epoch.

Under ``torchrun`` the same code trains with DDP (:mod:`skelpipe.training.distributed`): each
rank takes a slice of the single-process global batch; only rank 0 checkpoints and reports epochs.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from skelpipe.classify.features import InputConfig, make_input
from skelpipe.classify.metrics import topk_accuracy
from skelpipe.params import TokenizerParams, TrainParams, tracked_keys
from skelpipe.progress import progress_bar
from skelpipe.skeleton import Layout, get_layout
from skelpipe.store.reader import SampleStore
from skelpipe.training import distributed
from skelpipe.training.ema import ModelEMA


class StreamDataset(Dataset):
    """One split of the store as model input ``(C, T, V, M)`` of one stream.

    Augmentation randomness comes from ``(seed, epoch, sample index)``: independent of workers.
    """

    def __init__(
        self,
        store: SampleStore,
        indices: np.ndarray,
        cfg: InputConfig,
        layout: Layout,
        seed: int,
        train: bool,
    ) -> None:
        self.store, self.indices, self.cfg, self.layout = store, indices, cfg, layout
        self.seed, self.train, self.epoch = seed, train, 0

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int, int]:
        i = int(self.indices[k])
        rng = None
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, i])
        elif self.cfg.sampling == "uniform":  # test clips drawn per sample, the same every time
            rng = np.random.default_rng([self.seed, EVAL_STREAM, i])
        x = make_input(self.store.sample(i), self.cfg, self.layout, rng)
        return torch.from_numpy(x), int(self.store.meta["label"][i]), i

    def with_clip(self, clip: int, flip: bool) -> StreamDataset:
        """The same split as evaluation clip ``clip`` of ``test_clips`` (mirrored if ``flip``)."""
        cfg = replace(self.cfg, clip=clip, flip=flip)
        return StreamDataset(self.store, self.indices, cfg, self.layout, self.seed, self.train)


EVAL_STREAM = 2**32 - 1  # seed word of evaluation draws: never an epoch number


def input_config(p: TrainParams, stream: str, train: bool) -> InputConfig:
    return InputConfig(
        stream=stream,
        window=p.window,
        p_interval=p.p_interval_train if train else p.p_interval_eval,
        rotate_theta=p.rotate_theta if train else 0.0,
        sampling=p.sampling,
        num_clips=1 if train else p.test_clips,
    )


def global_batch(p: TrainParams) -> int:
    """Samples per optimizer step (``batch_size`` is already global under DDP)."""
    return p.batch_size * p.grad_accum


def peak_lr(p: TrainParams) -> float:
    """``lr``, or by the linear rule ``lr * global batch / lr_reference_batch`` when a recipe's
    learning rate is stated for another global batch (Goyal et al., 2017)."""
    if p.lr_reference_batch <= 0:
        return p.lr
    return p.lr * global_batch(p) / p.lr_reference_batch


def lr_at(epoch: float, p: TrainParams) -> float:
    """Learning rate at a (fractional) epoch: linear warm-up, then step or cosine decay."""
    lr = peak_lr(p)
    if epoch < p.warmup_epochs:
        return lr * (epoch + 1) / (p.warmup_epochs + 1)
    if p.schedule == "cosine":
        span = max(p.epochs - p.warmup_epochs, 1)
        return 0.5 * lr * (1 + math.cos(math.pi * (epoch - p.warmup_epochs) / span))
    return lr * p.lr_decay ** sum(epoch >= s for s in p.lr_steps)


def resolve_device(p: TrainParams) -> torch.device:
    if p.device == "cuda" or (p.device == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def code_fingerprint() -> str:
    """sha256 of the package's Python sources. Part of every run identity: after a code change
    a stage starts afresh instead of "resuming" the finished checkpoint of the old code (which
    would hand back the old weights, recorded by DVC against the new code)."""
    root = Path(__file__).resolve().parents[1]  # src/skelpipe (this file: training/loop.py)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_identity(**parts: object) -> str:
    """Identifies a training run by ``parts`` (its configuration) and the code: a checkpoint of
    another configuration or code is never resumed. For classifiers and the tokenizer alike."""
    blob = json.dumps({**parts, "code": code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def config_hash(p: TrainParams, model: str, stream: str) -> str:
    """The run identity of a classifier stream: its tracked params, model and stream."""
    tracked = {k: v for k, v in asdict(p).items() if k in tracked_keys(TrainParams)}
    return run_identity(params=tracked, model=model, stream=stream)


@dataclass
class RunState:
    """What a checkpoint holds besides the weights."""

    epoch: int = 0  # epochs completed
    history: list[dict] = field(default_factory=list)


def save_checkpoint(
    path: Path,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    state: RunState,
    run_id: str,
    ema: ModelEMA | None = None,
) -> None:
    """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
    tmp = path.with_name(path.name + ".tmp")
    ckpt = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": state.epoch,
        "history": state.history,
        "run_id": run_id,
    }
    if ema is not None:
        ckpt["ema"] = ema.state_dict()
    torch.save(ckpt, tmp)
    os.replace(tmp, path)


def load_checkpoint(
    path: Path,
    model: nn.Module,
    opt: torch.optim.Optimizer | None,
    run_id: str,
    ema: ModelEMA | None = None,
) -> RunState | None:
    """Restore from ``path`` if it belongs to this run (same ``run_id``); else None."""
    if not path.exists():
        return None
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("run_id") != run_id:
        return None
    model.load_state_dict(ckpt["model"])
    if opt is not None:
        opt.load_state_dict(ckpt["optimizer"])
    if ema is not None:
        ema.load_state_dict(ckpt["ema"])
    return RunState(int(ckpt["epoch"]), list(ckpt["history"]))


def make_loader(
    ds: Dataset, p: TrainParams | TokenizerParams, shuffle: bool, epoch: int
) -> DataLoader:
    """The loader of an epoch (classifier or tokenizer params): shuffled from (seed, epoch), or
    a DDP rank's share of it under torchrun."""
    gen = torch.Generator().manual_seed(p.seed * 1000 + epoch)
    if shuffle and distributed.enabled():
        return distributed.rank_loader(ds, p.batch_size, gen, p.num_workers)
    return DataLoader(
        ds,
        batch_size=p.batch_size,
        shuffle=shuffle,
        generator=gen,
        num_workers=p.num_workers,
        drop_last=False,
        persistent_workers=False,
        pin_memory=False,
    )


def loss_for(model: nn.Module, x: torch.Tensor, y: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Cross-entropy, plus the model's auxiliary loss when it has one (InfoGCN's bottleneck:
    ``forward_with_latent`` and ``aux_loss(z, labels)``)."""
    with_latent = getattr(model, "forward_with_latent", None)
    if callable(with_latent):
        logits, z = with_latent(x)
        loss = nn.functional.cross_entropy(logits.float(), y, label_smoothing=smoothing)
        return loss + model.aux_loss(z.float(), y)
    return nn.functional.cross_entropy(model(x).float(), y, label_smoothing=smoothing)


@dataclass
class StepRule:
    """How the one loop steps: learning rate by fractional epoch, gradient accumulation and
    clipping, AMP (CUDA only), and an optional hook before each batch (e.g. a temperature)."""

    lr: Callable[[float], float]
    grad_accum: int
    grad_clip: float
    device: torch.device
    amp: bool = False
    before_batch: Callable[[float], None] | None = None


Batch = tuple[torch.Tensor, ...]
LossFn = Callable[[Batch], tuple[torch.Tensor, dict[str, float], int]]


def train_epoch(
    model: nn.Module,
    loader: DataLoader,
    opt: torch.optim.Optimizer,
    epoch: int,
    rule: StepRule,
    loss_fn: LossFn,
    on_batch: Callable[[int], None],
    ema: ModelEMA | None = None,
) -> dict[str, float]:
    """One epoch of the one training loop; an optimizer step every ``grad_accum`` batches (and
    after the last), its lr from ``rule.lr`` at the step's first batch, gradients clipped to
    ``grad_clip`` when set, then the EMA updated.

    ``loss_fn(batch)`` returns (loss, logged terms, batch size). Returns the means over the epoch
    (all ranks) of ``loss`` and of every logged term, in that order.
    """
    model.train()
    use_amp = rule.amp and rule.device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    n_iter, sums, count = len(loader), {}, 0
    for it, batch in enumerate(loader):
        at = epoch + it / max(n_iter, 1)
        if it % rule.grad_accum == 0:
            for group in opt.param_groups:
                group["lr"] = rule.lr(at)
            opt.zero_grad(set_to_none=True)
        if rule.before_batch is not None:
            rule.before_batch(at)
        with torch.autocast(rule.device.type, enabled=use_amp):
            loss, logged, n = loss_fn(batch)
        # DDP rank share (1.0 in a single process) over the accumulated batches
        weight = distributed.loss_weight(n, rule.device) / rule.grad_accum
        scaler.scale(loss if weight == 1.0 else loss * weight).backward()
        if (it + 1) % rule.grad_accum == 0 or it + 1 == n_iter:
            optimizer_step(model, opt, scaler, rule.grad_clip)
            if ema is not None:
                ema.update(getattr(model, "module", model))  # the DDP / compiled model's module
        for key, value in {"loss": loss.item(), **logged}.items():
            sums[key] = sums.get(key, 0.0) + float(value) * n
        count += n
        on_batch(n)
    keys = list(sums)  # the same insertion order on every rank
    *totals, count = distributed.all_sum([*(sums[k] for k in keys), count], rule.device)
    return {k: v / max(count, 1) for k, v in zip(keys, totals, strict=True)}


def run_epochs(
    state: RunState,
    epochs: int,
    seed: int,
    train_ds: Dataset,
    label: str,
    one_epoch: Callable[[int, Callable[[int], None]], dict],
    evaluate_now: Callable[[int], dict],
    finish: Callable[[RunState, dict], None],
) -> RunState:
    """The epoch loop every trainer shares: reseed torch from (seed, epoch) so that a resumed run
    draws what an uninterrupted one draws (dropout, k-means, dead codes), tell the dataset its
    epoch, train with a progress bar, evaluate when due, record and checkpoint.

    ``one_epoch(epoch, on_batch)`` and ``evaluate_now(epoch)`` give the row's training and
    evaluation entries; ``finish(state, row)`` checkpoints and reports.
    """
    for epoch in range(state.epoch, epochs):
        torch.manual_seed(seed * 100_003 + epoch)
        train_ds.epoch = epoch
        with progress_bar(len(train_ds), f"{label} epoch {epoch + 1}/{epochs}") as bar:
            row = {"epoch": epoch + 1, **one_epoch(epoch, bar.update)}
        row.update(evaluate_now(epoch))
        state.history.append(row)
        state.epoch = epoch + 1
        finish(state, row)
    return state


def due(epoch: int, every: int, epochs: int) -> bool:
    """Whether the epoch (0-based) ends with an evaluation: every ``every`` and the last."""
    return (epoch + 1) % every == 0 or epoch + 1 == epochs


def optimizer_step(
    model: nn.Module, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, clip: float
) -> None:
    """Step (through the AMP scaler), the gradients first clipped to norm ``clip`` if > 0."""
    if clip > 0:
        scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    scaler.step(opt)
    scaler.update()


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[np.ndarray, ...]:
    """Scores (N, K) float32, labels (N,), store indices (N,) for every sample of ``loader``."""
    model.eval()
    scores, labels, idx = [], [], []
    for x, y, i in loader:
        scores.append(model(x.to(device)).float().cpu().numpy())
        labels.append(y.numpy())
        idx.append(i.numpy())
    if not scores:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(scores), np.concatenate(labels), np.concatenate(idx)


def evaluate(
    model: nn.Module, ds: Dataset, p: TrainParams, device: torch.device
) -> tuple[np.ndarray, ...]:
    """Scores of every sample of ``ds`` as :func:`predict`, over ``test_clips`` clips (each also
    mirrored with ``test_flip``): then the scores are the log of the softmax probabilities averaged
    over the views (PYSKL's ``average_clips='prob'``), float32."""
    views = [
        (c, f) for c in range(p.test_clips) for f in ((False, True) if p.test_flip else (False,))
    ]
    if len(views) == 1:
        return predict(model, make_loader(ds, p, False, 0), device)
    if not hasattr(ds, "with_clip"):
        raise ValueError(f"{type(ds).__name__} has one view per sample: set test_clips 1, no flip")
    total = None
    for clip, flip in views:
        scores, labels, idx = predict(
            model, make_loader(ds.with_clip(clip, flip), p, False, 0), device
        )
        prob = torch.softmax(torch.from_numpy(scores).double(), dim=1).numpy()
        total = prob if total is None else total + prob
    return np.log(total / len(views)).astype(np.float32), labels, idx


def build_datasets(store: SampleStore, p: TrainParams, stream: str) -> dict[str, StreamDataset]:
    layout = get_layout(store.attrs["layout"])
    out = {}
    for part in ("train", "val", "test"):
        train = part == "train"
        out[part] = StreamDataset(
            store,
            store.split(p.benchmark, part),
            input_config(p, stream, train),
            layout,
            p.seed,
            train,
        )
    return out


def make_optimizer(net: nn.Module, p: TrainParams) -> torch.optim.Optimizer:
    """``sgd``: SGD with (Nesterov) momentum, the GCN recipe; ``adamw``: AdamW, for transformers
    (they train poorly with plain SGD)."""
    if p.optimizer == "adamw":
        return torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    return torch.optim.SGD(
        net.parameters(),
        lr=p.lr,
        momentum=p.momentum,
        nesterov=p.nesterov,
        weight_decay=p.weight_decay,
    )


def fit(
    net: nn.Module,
    datasets: dict[str, StreamDataset],
    p: TrainParams,
    ckpt: Path,
    run_id: str,
    label: str,
    on_epoch: Callable[[dict], None],
) -> RunState:
    """Train ``net`` for ``p.epochs``, resuming from ``ckpt`` when it belongs to ``run_id``.

    After every epoch the state is checkpointed atomically, then ``on_epoch(row)`` is called with
    the epoch's row (train_loss, lr, and val_top1 on evaluation epochs).
    """
    device = distributed.local_device(resolve_device(p))
    net.to(device)
    train_fwd = distributed.wrap(net, device)
    fwd = torch.compile(train_fwd) if p.compile and device.type == "cuda" else train_fwd
    eval_fwd = net if distributed.enabled() else fwd  # DDP forward is collective: not for eval
    opt = make_optimizer(net, p)
    ema = ModelEMA(net, p.ema_decay) if p.ema_decay > 0 else None
    state = load_checkpoint(ckpt, net, opt, run_id, ema) or RunState()
    if ema is not None:
        eval_fwd = ema.module
    rule = StepRule(lambda at: lr_at(at, p), p.grad_accum, p.grad_clip, device, p.amp)

    def loss_fn(batch: Batch) -> tuple[torch.Tensor, dict[str, float], int]:
        x, y = batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True)
        return loss_for(fwd, x, y, p.label_smoothing), {}, len(y)

    def one_epoch(epoch: int, on_batch: Callable[[int], None]) -> dict:
        loader = make_loader(datasets["train"], p, True, epoch)
        logged = train_epoch(fwd, loader, opt, epoch, rule, loss_fn, on_batch, ema)
        return {"train_loss": round(logged["loss"], 6), "lr": round(opt.param_groups[0]["lr"], 8)}

    def evaluate_now(epoch: int) -> dict:
        if not due(epoch, p.eval_every, p.epochs):
            return {}
        scores, labels, _ = evaluate(eval_fwd, datasets["val"], p, device)
        return {"val_top1": round(topk_accuracy(scores, labels, 1), 6)} if len(labels) else {}

    def finish(state: RunState, row: dict) -> None:
        finish_epoch(ckpt, net, opt, state, run_id, on_epoch, row, ema)

    state = run_epochs(state, p.epochs, p.seed, datasets["train"], label, one_epoch,
                       evaluate_now, finish)  # fmt: skip
    if ema is not None:  # what is evaluated and saved from here on: the averaged weights
        net.load_state_dict(ema.state_dict())
    return state


def finish_epoch(
    ckpt: Path,
    net: nn.Module,
    opt: torch.optim.Optimizer,
    state: RunState,
    run_id: str,
    on_epoch: Callable[[dict], None],
    row: dict,
    ema: ModelEMA | None = None,
) -> None:
    """Checkpoint and report the epoch: on rank 0 only (every rank holds the same weights)."""
    if distributed.is_main():
        save_checkpoint(ckpt, net, opt, state, run_id, ema)
        on_epoch(row)
    distributed.barrier()
