"""params.yaml sections -> frozen dataclasses: unknown, missing and mistyped keys are refused by
name; every section of both pipelines' params files loads; tracked keys leave out only what is
marked untracked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from skelpipe.params import (
    SECTION_TYPES,
    ParamsError,
    ShardParams,
    TrainParams,
    from_mapping,
    tracked_keys,
)

ROOT = Path(__file__).resolve().parents[1]
PARAMS_FILES = [ROOT / "params.yaml", ROOT / "pipelines" / "nw_ucla" / "params.yaml"]


def _section(name: str, path: Path = PARAMS_FILES[0]) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))[name]


@pytest.mark.parametrize("path", PARAMS_FILES, ids=lambda p: p.parent.name)
def test_every_section_of_both_params_files_loads(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    loaded = [name for name, cls in SECTION_TYPES.items() if name in doc]
    for name in loaded:
        assert dataclasses.is_dataclass(from_mapping(SECTION_TYPES[name], doc[name], name))
    assert {"align", "shard", "train", "tokenizer", "ensemble"} <= set(loaded)


def test_an_unknown_key_is_refused_by_name() -> None:
    section = {**_section("train"), "learning_rate": 0.1}
    with pytest.raises(ParamsError, match=r"unknown key train\.learning_rate"):
        from_mapping(TrainParams, section, "train")


def test_a_missing_key_is_refused_by_name() -> None:
    section = _section("train")
    del section["reproducible"]
    with pytest.raises(ParamsError, match=r"missing key train\.reproducible"):
        from_mapping(TrainParams, section, "train")


def test_a_missing_nested_key_is_refused_with_its_full_name() -> None:
    section = _section("shard")
    del section["validation"]["seed"]
    with pytest.raises(ParamsError, match=r"missing key shard\.validation\.seed"):
        from_mapping(ShardParams, section, "shard")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("epochs", 2.5, "must be an integer"),
        ("reproducible", "yes", "must be true or false"),
        ("schedule", "linear", "must be one of"),
        ("lr", "0.1", "must be a number"),
    ],
)
def test_a_mistyped_value_is_refused_by_name(key: str, value: object, message: str) -> None:
    section = {**_section("train"), key: value}
    with pytest.raises(ParamsError, match=rf"train\.{key} {message}"):
        from_mapping(TrainParams, section, "train")


def test_tracked_keys_leave_out_exactly_the_untracked_fields() -> None:
    keys = tracked_keys(TrainParams)
    assert "models" not in keys and "streams" not in keys  # matrix axes
    assert {"threads", "reproducible", "seed", "epochs"} <= set(keys)  # they change bytes
    assert [k for k in tracked_keys(ShardParams) if k.startswith("validation.")] == [
        "validation.fraction",
        "validation.seed",
        "validation.group_by",
    ]
    for cls in set(SECTION_TYPES.values()):
        untracked = {f.name for f in dataclasses.fields(cls) if "untracked" in f.metadata}
        assert set(keys := tracked_keys(cls)).isdisjoint(untracked), cls
        assert all(f.metadata["untracked"] for f in dataclasses.fields(cls) if f.name in untracked)
        assert len(keys) == len(set(keys))
