"""The skeleton tokenizer on the sample store: clips, training, full-sequence reconstruction.

Training sees random ``window``-frame crops of the training split (no resizing: velocities keep
their physical meaning), in the canonical body frame (:mod:`skelpipe.tokenizer.body_frame`) when
``body_frame`` is on. Evaluation and tokenization run on whole sequences, padded to a multiple of
the downsampling factor; reconstructions are mapped back to the store's coordinates, so every
metric is measured where the data lives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from skelpipe.exact import matmul
from skelpipe.models.gumbel import gumbel_temperature
from skelpipe.models.quantizers import codebook_usage
from skelpipe.models.tokenizer import (
    SkeletonTokenizer,
    TokenizerConfig,
    tokenizer_loss,
    weights_from_parts,
)
from skelpipe.params import TokenizerParams
from skelpipe.progress import progress_bar
from skelpipe.skeleton import Layout, get_layout
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.body_frame import body_frame, from_body_frame, present_frames, to_body_frame
from skelpipe.tokenizer.metrics import reconstruction_metrics, store_units
from skelpipe.training import distributed
from skelpipe.training.loop import (
    Batch,
    RunState,
    StepRule,
    due,
    finish_epoch,
    load_checkpoint,
    make_loader,
    run_epochs,
    train_epoch,
)
from skelpipe.training.loop import run_identity as training_identity

MODEL_FIELDS = (
    "width",
    "latent_dim",
    "downsample",
    "blocks",
    "decoder_blocks",
    "latent_blocks",
    "backbone",
    "token_mlp",
    "temporal_kernel",
    "quantizer",
    "levels",
    "codebook_size",
    "beta",
    "ema_decay",
    "dead_threshold",
    "usage_decay",
    "code_dim",
    "kmeans_iters",
    "quantize_dropout",
    "kl_weight",
    "gumbel_hard",
    "tau_start",
    "tau_end",
)


def model_config(p: TokenizerParams, store: SampleStore) -> TokenizerConfig:
    """The tokenizer config for ``store``'s layout and person slots, from the params."""
    layout = get_layout(store.attrs["layout"])
    fields = {k: getattr(p, k) for k in MODEL_FIELDS}
    levels = fields["levels"] if p.quantizer == "rvq" else 1
    fields["levels"] = levels
    return TokenizerConfig(
        layout=layout.name,
        persons=layout.max_persons,
        in_channels=len(store.channels),
        preset="params",
        **fields,
    )


def prepare(
    sample: np.ndarray, persons: int, layout: Layout, canonical: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stored sample as the tokenizer sees it.

    Args:
        sample: (T, M', V, C) from the store.
    Returns:
        x (M, T, V, C) float32 with ``persons`` slots (in the body frame when ``canonical`` and
        the coordinates are x, y, z; image coordinates are taken as they are), and the transform
        ``R`` (C, C), ``origin`` (C,) that :func:`restore` undoes.
    """
    x = np.zeros((persons, *sample.shape[:1], *sample.shape[2:]), dtype=np.float32)
    m = min(persons, sample.shape[1])
    x[:m] = sample[:, :m].transpose(1, 0, 2, 3)  # (M, T, V, C)
    c = sample.shape[-1]
    if not canonical or c != 3:
        return x, np.eye(c), np.zeros(c)
    R, origin = body_frame(x, layout)
    return to_body_frame(x, R, origin).astype(np.float32), R, origin


def restore(y: np.ndarray, R: np.ndarray, origin: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Body-frame reconstruction (M, T, V, C) back to store coordinates; absent entries zero."""
    out = from_body_frame(y, R, origin).astype(np.float32)
    out[~present] = 0.0
    return out


def augment_clip(
    x: np.ndarray, rng: np.random.Generator, layout: Layout, p: TokenizerParams
) -> np.ndarray:
    """Training augmentation of (M, T, V, C) in the body frame (x lateral, y up): a left-right
    mirror with probability ``augment_mirror`` (x negated, left and right joints swapped), a
    rotation about the vertical axis by ``U(-1, 1) * augment_yaw_deg`` degrees (x, y, z only: an
    image has no vertical axis to turn about) and a scale of ``1 + U(-1, 1) * augment_scale``.
    Absent (all-zero) entries stay zero; MPJPE is measured on unaugmented clips."""
    mirror, yaw, scale = rng.random(), rng.uniform(-1, 1), rng.uniform(-1, 1)
    out = x.astype(np.float32, copy=True)
    if mirror < p.augment_mirror:
        out = out[:, :, layout.mirror_permutation()]
        out[..., 0] *= -1
    if p.augment_yaw_deg > 0 and x.shape[-1] == 3:
        theta = np.deg2rad(yaw * p.augment_yaw_deg)
        c, s = np.cos(theta), np.sin(theta)
        rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=np.float32)
        out = matmul(out, rot.T)
    if p.augment_scale > 0:
        out *= np.float32(1 + scale * p.augment_scale)
    return out


class ClipDataset(Dataset):
    """(x (C, window, V, M), mask (window, M), store index) clips for tokenizer training.

    Training crops a random window and augments it (:func:`augment_clip`, seeded by (seed,
    epoch, sample)); evaluation takes the centre window as it is. Sequences shorter than the
    window are zero-padded and masked out.
    """

    def __init__(
        self,
        store: SampleStore,
        indices: np.ndarray,
        cfg: TokenizerConfig,
        p: TokenizerParams,
        train: bool,
    ) -> None:
        self.store, self.indices, self.cfg, self.p, self.train = store, indices, cfg, p, train
        self.layout = get_layout(cfg.layout)
        self.epoch = 0
        self.augments = p.augment_mirror > 0 or p.augment_yaw_deg > 0 or p.augment_scale > 0

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        i = int(self.indices[k])
        x, _, _ = prepare(self.store.sample(i), self.cfg.persons, self.layout, self.p.body_frame)
        T, W = x.shape[1], self.p.window
        rng = np.random.default_rng([self.p.seed, self.epoch, i]) if self.train else None
        if T > W:
            start = int(rng.integers(0, T - W + 1)) if rng is not None else (T - W) // 2
            x = x[:, start : start + W]
        if rng is not None and self.augments:
            x = augment_clip(x, rng, self.layout, self.p)
        clip = np.zeros((x.shape[0], W, *x.shape[2:]), dtype=np.float32)
        clip[:, : x.shape[1]] = x
        mask = present_frames(clip).T.astype(np.float32)  # (W, M)
        return torch.from_numpy(clip.transpose(3, 1, 2, 0).copy()), torch.from_numpy(mask), i


def lr_factor(epoch: float, p: TokenizerParams) -> float:
    """Linear warm-up over ``warmup_epochs``, then cosine decay to zero."""
    if epoch < p.warmup_epochs:
        return (epoch + 1) / (p.warmup_epochs + 1)
    span = max(p.epochs - p.warmup_epochs, 1)
    return 0.5 * (1 + math.cos(math.pi * min((epoch - p.warmup_epochs) / span, 1.0)))


class Objective:
    """Reconstruction loss (per-joint weights, per-part report, velocity) + quantizer loss."""

    def __init__(self, cfg: TokenizerConfig, p: TokenizerParams) -> None:
        layout = get_layout(cfg.layout)
        self.weights = torch.from_numpy(weights_from_parts(layout, p.part_weights))
        self.parts, self.p = layout.body_parts, p

    def __call__(self, model: SkeletonTokenizer, x: torch.Tensor, mask: torch.Tensor):
        out = model(x)
        rec, parts = tokenizer_loss(
            out.recon, x, mask, self.weights, self.parts, self.p.loss, self.p.velocity_weight
        )
        return rec + out.loss, {**parts, **out.stats}


def fit_tokenizer(
    model: SkeletonTokenizer,
    train: ClipDataset,
    val: ClipDataset,
    p: TokenizerParams,
    ckpt: Path,
    run_id: str,
    on_epoch: Callable[[dict], None],
) -> RunState:
    """Train for ``p.epochs`` with AdamW through the one training loop
    (:func:`skelpipe.training.loop.run_epochs`), resuming from ``ckpt`` when it belongs to
    ``run_id``; the Gumbel temperature follows training progress batch by batch."""
    opt = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    state = load_checkpoint(ckpt, model, opt, run_id) or RunState()
    objective = Objective(model.cfg, p)
    fwd = distributed.wrap(model, torch.device("cpu"), find_unused=True)  # DDP under torchrun
    rule = StepRule(
        lambda at: p.lr * lr_factor(at, p),
        p.grad_accum,
        p.grad_clip,
        torch.device("cpu"),
        before_batch=lambda at: model.set_temperature(
            gumbel_temperature(at / max(p.epochs, 1), p.tau_start, p.tau_end)
        ),
    )

    def loss_fn(batch: Batch) -> tuple[torch.Tensor, dict[str, float], int]:
        x, mask, _ = batch
        loss, logged = objective(fwd, x, mask)
        return loss, logged, len(x)

    def one_epoch(epoch: int, on_batch: Callable[[int], None]) -> dict:
        loader = make_loader(train, p, True, epoch)
        logged = train_epoch(fwd, loader, opt, epoch, rule, loss_fn, on_batch)
        row = {"lr": round(opt.param_groups[0]["lr"], 8)}
        return row | {f"train_{k}": round(v, 6) for k, v in logged.items() if _curve(k)}

    def evaluate_now(epoch: int) -> dict:
        if not due(epoch, p.eval_every, p.epochs):
            return {}
        return {"val_loss": round(validation_loss(model, val, objective, p), 6)}

    def finish(state: RunState, row: dict) -> None:
        finish_epoch(ckpt, model, opt, state, run_id, on_epoch, row)

    return run_epochs(state, p.epochs, p.seed, train, "tokenizer", one_epoch, evaluate_now, finish)


def _curve(key: str) -> bool:
    return key in ("loss", "recon", "velocity") or key.startswith("perplexity")


@torch.no_grad()
def validation_loss(
    model: SkeletonTokenizer, val: ClipDataset, objective: Objective, p: TokenizerParams
) -> float:
    model.eval()
    total, count = 0.0, 0
    for x, mask, _ in DataLoader(val, p.batch_size, num_workers=p.num_workers):
        loss, _ = objective(model, x, mask)
        total, count = total + loss.item() * len(x), count + len(x)
    return total / max(count, 1)


@torch.no_grad()
def tokenize_sample(
    model: SkeletonTokenizer, sample: np.ndarray, p: TokenizerParams
) -> tuple[np.ndarray, np.ndarray]:
    """Whole-sequence tokens and reconstruction of one stored sample.

    Returns:
        tokens (M, ceil(T / downsample), L) int64, and the reconstruction (T, M', V, C) float32
        in store coordinates (``decode(tokens)`` mapped back; M' = the sample's person slots).
    """
    cfg, layout = model.cfg, get_layout(model.cfg.layout)
    x, R, origin = prepare(sample, cfg.persons, layout, p.body_frame)
    T = x.shape[1]
    Tp = -(-T // cfg.downsample) * cfg.downsample
    xt = torch.zeros(1, x.shape[3], Tp, x.shape[2], x.shape[0])
    xt[0, :, :T] = torch.from_numpy(x.transpose(3, 1, 2, 0))  # (C, T, V, M)
    tokens = model.encode(xt)  # (1, M, Tp / ds, L)
    recon = model.decode(tokens, Tp)[0, :, :T].permute(3, 1, 2, 0).numpy()  # (M, T, V, C)
    recon = restore(recon, R, origin, present_frames(x))
    m = min(cfg.persons, sample.shape[1])
    out = np.zeros_like(sample)
    out[:, :m] = recon[:m].transpose(1, 0, 2, 3)
    return tokens[0].numpy(), out


def evaluate(
    model: SkeletonTokenizer, store: SampleStore, indices: np.ndarray, p: TokenizerParams
) -> tuple[dict[str, float], np.ndarray]:
    """Reconstruction metrics over whole test sequences, weighted by valid frames, in the store's
    units (:func:`skelpipe.tokenizer.metrics.store_units`: mm, or pixels for image coordinates).

    Returns:
        flat metrics (mpjpe_mm, pa_mpjpe_mm, accel_error_mm, pck_50mm, mpjpe_mm_<part>; ``px``
        in place of ``mm`` and pck_10px for image coordinates), and the (n_tokens, L) token ids
        of the split (for codebook utilisation).
    """
    model.eval()
    layout = get_layout(model.cfg.layout)
    units = store_units(store.attrs, len(store.channels))
    sums: dict[str, float] = {}
    weights: dict[str, float] = {}
    all_tokens = []
    with progress_bar(len(indices), "evaluate tokenizer") as bar:
        for i in indices.tolist():
            sample = store.sample(i)
            tokens, recon = tokenize_sample(model, sample, p)
            all_tokens.append(tokens.reshape(-1, tokens.shape[-1]))
            pred, target = recon.transpose(1, 0, 2, 3), sample.transpose(1, 0, 2, 3)
            present = present_frames(target)  # (M, T)
            n = float(present.sum())
            n_acc = float((present[:, 2:] & present[:, 1:-1] & present[:, :-2]).sum())
            values = reconstruction_metrics(pred, target, present, layout.body_parts, units)
            for k, v in values.items():
                w = n_acc if k.startswith("accel") else n
                if w > 0 and np.isfinite(v):
                    sums[k] = sums.get(k, 0.0) + v * w
                    weights[k] = weights.get(k, 0.0) + w
            bar.update(1)
    metrics = {k: sums[k] / weights[k] for k in sums}
    return metrics, np.concatenate(all_tokens) if all_tokens else np.zeros((0, 1), np.int64)


def codebook_metrics(tokens: np.ndarray, model: SkeletonTokenizer, prefix: str) -> dict:
    """Per-level utilisation and perplexity of ``tokens`` (n, L), keys prefixed."""
    usage = codebook_usage(tokens[:, None, :], model.codebook_sizes)
    return {f"{prefix}{k}": v for k, v in usage.items()}


def rate_metrics(cfg: TokenizerConfig, layout: Layout) -> dict[str, float]:
    """Bits per frame (per person) and the compression ratio against float32 joints."""
    bits = sum(math.log2(cfg.codebook_size) for _ in range(cfg.levels)) / cfg.downsample
    raw = layout.num_joints * cfg.in_channels * 32
    return {"bits_per_frame": bits, "compression_ratio": raw / bits}


def run_identity(p: TokenizerParams, cfg: TokenizerConfig) -> str:
    """The run identity (:func:`skelpipe.training.loop.run_identity`) of a tokenizer run."""
    return training_identity(params=asdict(p), model=asdict(cfg))
