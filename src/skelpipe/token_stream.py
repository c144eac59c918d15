"""The token stream: a classifier over tokenizer ids, trained and scored like the GCN streams.

Samples come from the token store (:mod:`skelpipe.token_store`), row-aligned with the sample
store, so validation / test scores are keyed by the same names and the ensemble joins them with
the GCN streams. Augmentation is the discrete analogue of CTR-GCN's valid crop-and-resize: a
random crop of a share ``p ~ U(p_interval)`` of the tokens, resampled to ``window`` tokens by
nearest neighbour when longer, padded when shorter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from skelpipe import distributed
from skelpipe.evaluate import topk_accuracy
from skelpipe.params import TrainParams
from skelpipe.token_store import TokenStore
from skelpipe.train import (
    RunState,
    finish_epoch,
    load_checkpoint,
    make_loader,
    predict,
    progress_bar,
    resolve_device,
    train_epoch,
)


def crop_tokens(
    tokens: np.ndarray,
    window: int,
    p_interval: tuple[float, ...],
    pad: int,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """(M, n, L) ids -> (M, window, L): crop (random or centred), nearest resample or pad."""
    n = tokens.shape[1]
    if len(p_interval) == 1:
        keep = max(int(round(n * p_interval[0])), 1)
        start = (n - keep) // 2
    else:
        lo, hi = p_interval
        p = (rng.random() if rng is not None else 0.5) * (hi - lo) + lo
        keep = max(int(np.floor(n * p)), 1)
        start = int(rng.integers(0, n - keep + 1)) if rng is not None else (n - keep) // 2
    data = tokens[:, start : start + keep]
    if keep > window:
        pos = np.floor((np.arange(window) + 0.5) * keep / window).astype(np.int64)
        return data[:, pos]
    out = np.full((tokens.shape[0], window, tokens.shape[2]), pad, dtype=np.int64)
    out[:, :keep] = data
    return out


class TokenDataset(Dataset):
    """(ids (M, window, L) int64, label, store index) for the token classifier."""

    def __init__(
        self,
        store: TokenStore,
        indices: np.ndarray,
        p: TrainParams,
        train: bool,
    ) -> None:
        self.store, self.indices, self.p, self.train = store, indices, p, train
        self.pad = int(store.attrs["codebook_sizes"][0])
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int, int]:
        i = int(self.indices[k])
        rng = np.random.default_rng([self.p.seed, self.epoch, i]) if self.train else None
        interval = self.p.p_interval_train if self.train else self.p.p_interval_eval
        ids = crop_tokens(self.store.tokens(i), self.p.window, interval, self.pad, rng)
        return torch.from_numpy(ids), int(self.store.labels[i]), i


def fit_token_stream(
    net: nn.Module,
    datasets: dict[str, TokenDataset],
    p: TrainParams,
    ckpt: Path,
    run_id: str,
    on_epoch: Callable[[dict], None],
) -> RunState:
    """AdamW (transformers train poorly with plain SGD) with the shared warm-up / decay schedule,
    label smoothing, per-epoch atomic checkpoints and resumption as :func:`skelpipe.train.fit`."""
    device = distributed.local_device(resolve_device(p))
    net.to(device)
    fwd = distributed.wrap(net, device)  # DDP under torchrun, else net itself
    opt = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    state = load_checkpoint(ckpt, net, opt, run_id) or RunState()
    train = datasets["train"]
    for epoch in range(state.epoch, p.epochs):
        torch.manual_seed(p.seed * 100_003 + epoch)  # dropout draws, identical after a resume
        train.epoch = epoch
        with progress_bar(len(train), f"tokens epoch {epoch + 1}/{p.epochs}") as bar:
            loader = make_loader(train, p, True, epoch)
            loss = train_epoch(fwd, loader, opt, epoch, p, device, lambda n, _: bar.update(n))
        row = {"epoch": epoch + 1, "train_loss": round(loss, 6), "lr": opt.param_groups[0]["lr"]}
        if (epoch + 1) % p.eval_every == 0 or epoch + 1 == p.epochs:
            scores, labels, _ = predict(net, make_loader(datasets["val"], p, False, 0), device)
            if len(labels):
                row["val_top1"] = round(topk_accuracy(scores, labels, 1), 6)
        state.history.append(row)
        state.epoch = epoch + 1
        finish_epoch(ckpt, net, opt, state, run_id, on_epoch, row)
    return state
