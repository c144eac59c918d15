"""Outputs of a training stream: scores by sample name, per-class accuracy, confusion data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch import nn

from skelpipe.atomic import atomic_file
from skelpipe.classify.ensemble import Scores, save_scores
from skelpipe.classify.metrics import per_class_accuracy, summary
from skelpipe.store.reader import SampleStore


def scores_by_name(
    store: SampleStore, scores: np.ndarray, labels: np.ndarray, idx: np.ndarray
) -> Scores:
    names = np.array([store.names[i] for i in idx.tolist()], dtype=str)
    return Scores(names, scores.astype(np.float32), labels.astype(np.int64))


def write_outputs(
    out: Path,
    plots: Path,
    model: nn.Module,
    store: SampleStore,
    results: dict[str, tuple[np.ndarray, ...]],
    history: list[dict],
) -> dict:
    """Write model.pt, scores_val.npz, scores_test.npz, per_class.csv and the confusion CSV.

    Returns:
        flat metrics: test top-1 / top-5 / mean class accuracy, val top-1, epochs, final loss.
    """
    torch.save(model.state_dict(), out / "model.pt")
    metrics: dict = {}
    n_classes = int(store.attrs["num_classes"])
    for part, (scores, labels, idx) in results.items():
        save_scores(out / f"scores_{part}.npz", scores_by_name(store, scores, labels, idx))
        if len(labels):
            metrics.update(summary(scores, labels, f"{part}_"))
    scores, labels, _ = results["test"]
    if len(labels):
        acc = per_class_accuracy(scores, labels, n_classes)
        with open(out / "per_class.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["label", "n_test", "accuracy"])
            for c in range(n_classes):
                n = int((labels == c).sum())
                if n:
                    w.writerow([c, n, round(float(acc[c]), 6)])
        with atomic_file(plots / "confusion.csv") as tmp, open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["actual", "predicted"])
            w.writerows(zip(labels.tolist(), scores.argmax(axis=1).tolist(), strict=True))
    metrics["epochs"] = len(history)
    if history:
        metrics["final_train_loss"] = history[-1]["train_loss"]
    return metrics
