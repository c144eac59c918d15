"""A torch ``Dataset`` over the sample store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from skelpipe.store.reader import SampleStore


class SkeletonDataset(Dataset):
    """Samples of one split: ``(joints, label, index)``.

    ``joints`` is (T, M, V, 3) float32 as stored, passed through ``transform`` (e.g.
    crop-and-resize,
    model input layout) when given. Each DataLoader worker opens its own zarr handle.
    """

    def __init__(
        self,
        store: str | Path | SampleStore,
        benchmark: str,
        part: str,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.store = store if isinstance(store, SampleStore) else SampleStore(store)
        self.indices = self.store.split(benchmark, part)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int, int]:
        i = int(self.indices[k])
        x = self.store.sample(i)
        if self.transform is not None:
            x = self.transform(x)
        return torch.from_numpy(np.ascontiguousarray(x)), int(self.store.meta["label"][i]), i

    def name(self, k: int) -> str:
        return self.store.names[int(self.indices[k])]
