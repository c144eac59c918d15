"""The token stream: a classifier over tokenizer ids, trained and scored like the GCN streams.

Samples come from the token store (:mod:`skelpipe.tokenizer.token_store`), row-aligned with the
sample store, so validation / test scores are keyed by the same names and the ensemble joins them
with the GCN streams. Augmentation is the discrete analogue of CTR-GCN's valid crop-and-resize: a
random crop of a share ``p ~ U(p_interval)`` of the tokens, resampled to ``window`` tokens by
nearest neighbour when longer, padded when shorter. It trains through
:func:`skelpipe.training.loop.fit` with ``optimizer: adamw``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from skelpipe.params import TrainParams
from skelpipe.tokenizer.token_store import TokenStore


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
