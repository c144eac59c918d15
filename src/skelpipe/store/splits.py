"""Official benchmark splits and the validation fold carved from each training split.

Subject / camera / setup lists are those of the reference ``seq_transformation.py`` (NTU60 CS, CV;
NTU120 CSub, CSet) and of CTR-GCN's NW-UCLA feeder (views 1-2 train, view 3 test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NTU60_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN + (
    45,
    46,
    47,
    49,
    50,
    52,
    53,
    54,
    55,
    56,
    57,
    58,
    59,
    70,
    74,
    78,
    80,
    81,
    82,
    83,
    84,
    85,
    86,
    89,
    91,
    92,
    93,
    94,
    95,
    97,
    98,
    100,
    103,
)


@dataclass(frozen=True)
class Benchmark:
    """A train/test split defined by one metadata column.

    ``train_ids`` / ``test_ids`` are listed in the reference's concatenation order: the reference
    builds each split ID by ID in this order, keeping name order inside one ID.
    """

    name: str
    column: str  # "subject", "camera" or "setup"
    train_ids: tuple[int, ...]
    test_ids: tuple[int, ...]
    reference_file: str  # the npz the reference scripts write for it ("" if none)


def _rest(train: tuple[int, ...], upto: int) -> tuple[int, ...]:
    return tuple(i for i in range(1, upto + 1) if i not in train)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "ntu60_xsub", "subject", NTU60_XSUB_TRAIN, _rest(NTU60_XSUB_TRAIN, 40), "NTU60_CS.npz"
        ),
        Benchmark("ntu60_xview", "camera", (2, 3), (1,), "NTU60_CV.npz"),
        Benchmark(
            "ntu120_xsub",
            "subject",
            NTU120_XSUB_TRAIN,
            _rest(NTU120_XSUB_TRAIN, 106),
            "NTU120_CSub.npz",
        ),
        Benchmark(
            "ntu120_xset",
            "setup",
            tuple(range(2, 33, 2)),
            tuple(range(1, 32, 2)),
            "NTU120_CSet.npz",
        ),
        Benchmark("nw_ucla_xview", "camera", (1, 2), (3,), ""),
    )
}


def split_indices(values: np.ndarray, ids: tuple[int, ...]) -> np.ndarray:
    """Rows whose ``values`` is in ``ids``, concatenated ID by ID (the reference's row order).

    Args:
        values: (N,) int metadata column, rows in sample-name order.
    """
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    parts = [np.flatnonzero(values == i) for i in ids]
    return np.concatenate(parts).astype(np.int64)


def benchmark_split(
    bench: Benchmark, columns: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices of ``bench`` over metadata ``columns`` in reference order."""
    values = columns[bench.column]
    return split_indices(values, bench.train_ids), split_indices(values, bench.test_ids)


def validation_fold(
    train: np.ndarray,
    subjects: np.ndarray,
    fraction: float,
    seed: int,
    group_by: str = "subject",
) -> tuple[np.ndarray, np.ndarray]:
    """Move about ``fraction`` of ``train`` to a validation fold.

    ``group_by="subject"``: whole subjects are shuffled with ``seed`` and taken until the fold
    reaches the target size (at least one subject when ``fraction > 0`` and more than one subject
    trains), so validation measures generalisation to unseen people, as cross-subject tests do.
    ``group_by="sample"``: ``round(fraction * len(train))`` samples drawn with ``seed``; on a
    cross-view benchmark this holds out other views of training performances, as its test does.

    Returns:
        (train_rest, validation) index arrays, each in the original order of ``train``.
    """
    train = np.asarray(train, dtype=np.int64)
    if group_by == "sample":
        k = int(round(fraction * train.size)) if fraction > 0 else 0
        pick = np.zeros(train.size, dtype=bool)
        pick[np.random.default_rng(seed).choice(train.size, size=k, replace=False)] = True
        return train[~pick], train[pick]
    if group_by != "subject":
        raise ValueError(f"validation group_by must be 'subject' or 'sample', not {group_by!r}")
    subj = subjects[train]
    uniq = np.unique(subj)
    if fraction <= 0 or uniq.size < 2:
        return train, np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    target = fraction * train.size
    chosen: list[int] = []
    count = 0
    for s in rng.permutation(uniq):
        if count >= target or len(chosen) == uniq.size - 1:
            break
        n = int((subj == s).sum())
        if chosen and abs(count + n - target) > abs(count - target):
            continue
        chosen.append(int(s))
        count += n
    in_val = np.isin(subj, chosen)
    return train[~in_val], train[in_val]
