"""THE dataset registry: each dataset's classes, skeleton layout and benchmarks.

Every other module reads a dataset's properties from here (the store writer, the models, the
exports, predict, the class names), so a new dataset is one :class:`Dataset` entry. The benchmark
splits themselves (subject / camera / setup lists) live in :mod:`skelpipe.store.splits`; entries
here name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from skelpipe.class_names import NTU120_NAMES, UCLA_ACTION_NAMES
from skelpipe.sample_id import UCLA_ACTIONS


@dataclass(frozen=True)
class Dataset:
    """One dataset: its classes (0-based labels), skeleton layout and official benchmarks."""

    name: str
    class_names: tuple[str, ...]  # indexed by label
    layout: str  # skelpipe.skeleton.LAYOUTS key
    benchmarks: tuple[str, ...]  # skelpipe.store.splits.BENCHMARKS keys, the reference's order
    # How the reference scripts pad a second actor that is absent (align_frames of the
    # ntu / ntu120 seq_transformation.py); None: the dataset has no reference export.
    reference_pad: Literal["zeros", "copy"] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("ntu60", NTU120_NAMES[:60], "ntu25", ("ntu60_xsub", "ntu60_xview"), "zeros"),
        Dataset("ntu120", NTU120_NAMES, "ntu25", ("ntu120_xsub", "ntu120_xset"), "copy"),
        Dataset(
            "nw_ucla",
            tuple(UCLA_ACTION_NAMES[a] for a in UCLA_ACTIONS),
            "ucla20",
            ("nw_ucla_xview",),
        ),
    )
}


def get_dataset(name: str) -> Dataset:
    """The registry entry of ``name``.

    Raises:
        ValueError: ``name`` is not a registered dataset (the message lists the known ones).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    return DATASETS[name]


def class_names(name: str) -> tuple[str, ...]:
    """Names of dataset ``name``'s classes, indexed by 0-based label."""
    return get_dataset(name).class_names
