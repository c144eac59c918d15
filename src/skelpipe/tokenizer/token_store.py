"""Discrete tokens as a data product: a zarr v3 store aligned with the sample store by name.

Layout (``tokens.zarr``)::

    tokens       (n_tokens, M, L) uint16   every sample's tokens, concatenated along time
    token_start  (N,) int64                first row of sample i
    n_tokens     (N,) int64                ceil(n_frames / downsample)
    n_frames     (N,) int64                frames of the sample (decode back to this length)
    name         (N, 32) uint8             the sample store's names, in its order
    label        (N,) int64
    attrs: codebook_sizes, downsample, levels, persons, layout, dataset, num_classes, model_id

Row i of the token store is row i of the sample store (checked by name on open).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from skelpipe.store.reader import SampleStore
from skelpipe.store.shards import decode_names, encode_names


class TokenStoreError(ValueError):
    """A token store that does not match its sample store."""


def write_token_store(
    path: Path,
    names: list[str],
    labels: np.ndarray,
    n_frames: np.ndarray,
    tokens: Iterable[np.ndarray],
    attrs: dict[str, Any],
) -> dict[str, int]:
    """Write every sample's tokens (M, n_tokens_i, L) in ``names`` order; returns counts."""
    rows = [np.ascontiguousarray(t.transpose(1, 0, 2)).astype(np.uint16) for t in tokens]
    if len(rows) != len(names):
        raise TokenStoreError(f"{len(rows)} token arrays for {len(names)} samples")
    counts = np.array([r.shape[0] for r in rows], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    data = np.concatenate(rows) if rows else np.zeros((0, 1, 1), np.uint16)  # (n, M, L)
    root = zarr.open_group(str(path), mode="w")
    root.attrs.update(attrs)
    chunk = (min(max(len(data), 1), 65536), *data.shape[1:])
    root.create_array("tokens", data=data, chunks=chunk)
    for key, value in (
        ("token_start", start),
        ("n_tokens", counts),
        ("n_frames", np.asarray(n_frames, np.int64)),
        ("label", np.asarray(labels, np.int64)),
        ("name", encode_names(names)),
    ):
        root.create_array(key, data=value)
    return {"n_samples": len(names), "n_tokens": int(counts.sum())}


class TokenStore:
    """Read access: ``tokens(i)`` is sample i's (M, n_tokens, L) int64 array."""

    def __init__(self, path: str | Path, samples: SampleStore | None = None) -> None:
        root = zarr.open_group(str(path), mode="r")
        self.attrs = dict(root.attrs)
        self._tokens = root["tokens"][:]  # small: 10 bits per frame
        self.token_start = root["token_start"][:]
        self.n_tokens = root["n_tokens"][:]
        self.n_frames = root["n_frames"][:]
        self.labels = root["label"][:]
        self.names = decode_names(root["name"][:])
        if samples is not None and samples.names != self.names:
            raise TokenStoreError(
                f"{path}: sample names differ from {samples.path} (re-run the tokenize stage)"
            )

    def __len__(self) -> int:
        return len(self.names)

    def tokens(self, i: int) -> np.ndarray:
        a = int(self.token_start[i])
        rows = self._tokens[a : a + int(self.n_tokens[i])]  # (n, M, L)
        return rows.transpose(1, 0, 2).astype(np.int64)
