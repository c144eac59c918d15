"""Ensembling: one-hot weights reproduce a stream, join by name catches mismatches, fitting."""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.classify.ensemble import (
    EnsembleError,
    Scores,
    combine,
    fit_weights,
    join_by_name,
    load_scores,
    save_scores,
)
from skelpipe.classify.metrics import confusion, mean_class_accuracy, summary, topk_accuracy


def _stream(seed: int, n: int = 50, k: int = 6, noise: float = 2.0) -> Scores:
    rng = np.random.default_rng(100)
    labels = rng.integers(0, k, size=n)
    scores = np.random.default_rng(seed).normal(scale=noise, size=(n, k))
    scores[np.arange(n), labels] += 2.0
    names = np.array([f"S001C001P001R001A{i:03d}" for i in range(n)])
    return Scores(names, scores.astype(np.float32), labels)


def test_one_hot_weights_equal_the_stream() -> None:
    a, b = _stream(1), _stream(2)
    perm = np.random.default_rng(0).permutation(50)
    b_shuffled = Scores(b.names[perm], b.scores[perm], b.labels[perm])
    names, labels, stack = join_by_name({"a": a, "b": b_shuffled})
    np.testing.assert_array_equal(combine(stack, np.array([0.0, 1.0])), b.scores)
    np.testing.assert_array_equal(combine(stack, np.array([1.0, 0.0])), a.scores)


def test_join_detects_missing_extra_duplicate_and_label_mismatch() -> None:
    a, b = _stream(1), _stream(2)
    with pytest.raises(EnsembleError, match="lacks"):
        join_by_name({"a": a, "b": Scores(b.names[1:], b.scores[1:], b.labels[1:])})
    with pytest.raises(EnsembleError, match="twice"):
        names = b.names.copy()
        names[3] = names[4]
        join_by_name({"a": a, "b": Scores(names, b.scores, b.labels)})
    with pytest.raises(EnsembleError, match="labels"):
        join_by_name({"a": a, "b": Scores(b.names, b.scores, (b.labels + 1) % 6)})


def test_fit_on_validation_prefers_the_better_stream() -> None:
    good, bad = _stream(1, noise=0.5), _stream(2, noise=5.0)
    _, labels, stack = join_by_name({"bad": bad, "good": good})
    w = fit_weights(stack, labels, (0.0, 0.5, 1.0))
    assert w[1] >= w[0]
    assert topk_accuracy(combine(stack, w), labels, 1) >= topk_accuracy(good.scores, labels, 1)


def test_scores_file_round_trip(tmp_path) -> None:
    s = _stream(3)
    save_scores(tmp_path / "s.npz", s)
    back = load_scores(tmp_path / "s.npz")
    np.testing.assert_array_equal(back.names, s.names)
    np.testing.assert_array_equal(back.scores, s.scores)


def test_metrics() -> None:
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    labels = np.array([0, 1, 1, 2])
    assert topk_accuracy(scores, labels, 1) == 0.75
    assert topk_accuracy(scores, labels, 2) == 1.0
    assert mean_class_accuracy(scores, labels) == pytest.approx((1 + 0.5 + 1) / 3)
    np.testing.assert_array_equal(confusion(scores, labels, 3), [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    assert summary(scores, labels, "test_")["test_top1"] == 0.75
