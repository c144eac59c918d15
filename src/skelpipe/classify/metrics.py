"""Classification metrics on score arrays: top-k, mean class accuracy, per-class and confusion."""

from __future__ import annotations

import numpy as np


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of samples whose label is among the k highest scores. scores: (N, K)."""
    if len(labels) == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def per_class_accuracy(scores: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes,) top-1 accuracy of each class; NaN for classes absent from ``labels``."""
    pred = scores.argmax(axis=1)
    acc = np.full(n_classes, np.nan)
    for c in np.unique(labels):
        acc[c] = np.mean(pred[labels == c] == c)
    return acc


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of their top-1 accuracy."""
    return float(np.nanmean(per_class_accuracy(scores, labels, scores.shape[1])))


def confusion(scores: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts, rows = true class, columns = predicted."""
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (labels, scores.argmax(axis=1)), 1)
    return out


def summary(scores: np.ndarray, labels: np.ndarray, prefix: str = "") -> dict[str, float]:
    """Flat metrics: ``{prefix}top1``, ``top5``, ``mean_class_acc`` (fractions), ``n``."""
    return {
        f"{prefix}top1": round(topk_accuracy(scores, labels, 1), 6),
        f"{prefix}top5": round(topk_accuracy(scores, labels, 5), 6),
        f"{prefix}mean_class_acc": round(mean_class_accuracy(scores, labels), 6),
        f"{prefix}n": int(len(labels)),
    }
