"""Score ensembling of streams, joined by sample name, weights fixed or fit on validation only.

Score files are npz with ``names`` (N,) unicode, ``scores`` (N, K) float32 and ``labels`` (N,) int
(``allow_pickle=False``). Streams are joined by name, never by row order: any missing, extra or
duplicated name, or a label disagreement, is an :class:`EnsembleError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np

from skelpipe.classify.metrics import topk_accuracy
from skelpipe.exact import weighted_sum


class EnsembleError(ValueError):
    """Streams that cannot be combined."""


@dataclass
class Scores:
    """One stream's scores. names (N,), scores (N, K), labels (N,)."""

    names: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


def save_scores(path: Path, s: Scores) -> None:
    np.savez(
        path,
        names=np.asarray(s.names, dtype=str),
        scores=s.scores.astype(np.float32),
        labels=s.labels.astype(np.int64),
    )


def load_scores(path: Path) -> Scores:
    with np.load(path, allow_pickle=False) as z:
        return Scores(z["names"], z["scores"], z["labels"])


def join_by_name(streams: dict[str, Scores]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Align streams on the first stream's names.

    Returns:
        names (N,), labels (N,), stacked scores (S, N, K) in ``streams`` order.
    """
    if not streams:
        raise EnsembleError("no stream to ensemble")
    items = list(streams.items())
    ref_name, ref = items[0]
    order = {}
    for key, s in items:
        if len(set(s.names.tolist())) != len(s.names):
            raise EnsembleError(f"stream {key!r} lists a sample name twice")
        order[key] = {n: i for i, n in enumerate(s.names.tolist())}
    names = ref.names
    stack = []
    for key, s in items:
        missing = set(order[ref_name]) - set(order[key])
        extra = set(order[key]) - set(order[ref_name])
        if missing or extra:
            bad = sorted(missing or extra)[:3]
            what = "lacks" if missing else "has extra"
            raise EnsembleError(f"stream {key!r} {what} samples {bad} (vs {ref_name!r})")
        idx = np.array([order[key][n] for n in names.tolist()], dtype=np.int64)
        if s.scores.shape[1] != ref.scores.shape[1]:
            raise EnsembleError(
                f"stream {key!r} has {s.scores.shape[1]} classes, not {ref.scores.shape[1]}"
            )
        if not np.array_equal(s.labels[idx], ref.labels):
            raise EnsembleError(f"stream {key!r} disagrees on labels with {ref_name!r}")
        stack.append(s.scores[idx])
    return names, ref.labels, np.stack(stack)


def combine(stack: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of stream scores: (S, N, K), (S,) -> (N, K)."""
    return weighted_sum(np.asarray(weights, dtype=np.float64), stack)


def fit_weights(stack: np.ndarray, labels: np.ndarray, grid: tuple[float, ...]) -> np.ndarray:
    """Weights from ``grid`` maximising top-1 on the given (validation) scores.

    Exhaustive over ``grid ** S`` for up to 5 streams (ties: the smaller total weight, then the
    first in lexicographic order), else coordinate ascent. Call it on validation scores only.
    """
    s = stack.shape[0]
    best, best_key = None, None
    candidates = product(grid, repeat=s) if len(grid) ** s <= 200_000 else None
    if candidates is None:
        return _coordinate_ascent(stack, labels, grid)
    for w in candidates:
        if not any(w):
            continue
        acc = topk_accuracy(combine(stack, np.array(w)), labels, 1)
        key = (acc, -sum(w))
        if best_key is None or key > best_key:
            best, best_key = np.array(w, dtype=np.float64), key
    return best


def _coordinate_ascent(
    stack: np.ndarray, labels: np.ndarray, grid: tuple[float, ...]
) -> np.ndarray:
    w = np.ones(stack.shape[0])
    for _ in range(3):
        for i in range(len(w)):
            accs = []
            for g in grid:
                trial = w.copy()
                trial[i] = g
                accs.append(topk_accuracy(combine(stack, trial), labels, 1) if trial.any() else -1)
            w[i] = grid[int(np.argmax(accs))]
    return w
