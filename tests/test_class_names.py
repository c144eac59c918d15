"""The one class-name table: counts, uniqueness, known entries, NW-UCLA label order."""

from __future__ import annotations

import pytest

from skelpipe.class_names import action_code
from skelpipe.datasets import DATASETS, class_names
from skelpipe.sample_id import SampleId
from skelpipe.synth import ACTIONS


def test_counts_match_the_registry_and_names_are_unique() -> None:
    for dataset, entry in DATASETS.items():
        names = class_names(dataset)
        n_classes = {"ntu60": 60, "ntu120": 120, "nw_ucla": 10}[dataset]
        assert entry.num_classes == len(names) == n_classes
        assert len(set(names)) == n_classes
        assert all(n == n.strip() and n for n in names)
    assert class_names("ntu120")[:60] == class_names("ntu60")


def test_known_entries() -> None:
    ntu = class_names("ntu120")
    assert ntu[SampleId.from_name("S001C001P001R001A001").label()] == "drink water"
    assert ntu[59] == "walking apart from each other"
    assert ntu[119].endswith("(playing rock-paper-scissors)")
    assert ntu[57] == "handshaking" and ntu[105] == "hit other person with something"
    assert action_code("ntu120", 119) == "A120"


def test_ucla_labels_follow_the_ingest_numbering() -> None:
    names = class_names("nw_ucla")
    for name, expected in (
        ("a01_s01_e00_v01", "pick up with one hand"),
        ("a06_s02_e01_v02", "stand up"),
        ("a08_s01_e00_v01", "donning"),  # a07 does not exist: label 6
        ("a12_s10_e04_v03", "carry"),
    ):
        label = SampleId.from_name(name).label()
        assert names[label] == expected
        assert action_code("nw_ucla", label) == name[:3]


def test_synthetic_actions_take_their_names_from_the_table() -> None:
    assert ACTIONS[58].name == "handshaking"
    assert all(a.name == class_names("ntu60")[code - 1] for code, a in ACTIONS.items())


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        class_names("kinetics")
