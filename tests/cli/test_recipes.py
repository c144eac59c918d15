"""`skelpipe recipe`: recipes validate, cite their values, apply losslessly, render for DVC."""

from __future__ import annotations

import copy
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from skelpipe.cli.main import app
from skelpipe.cli.recipe_checks import (
    RecipeError,
    apply_to_text,
    check_citations,
    check_entry,
    dvc_command,
    evaluate,
    list_recipes,
    literal_at,
    recipe_values,
    same_value,
    validate_recipe,
)
from skelpipe.params import SECTION_TYPES, from_mapping

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes"
PARAMS_TEXT = (ROOT / "params.yaml").read_text(encoding="utf-8")
NAMES = list_recipes(RECIPES)
REQUIRED = [
    "stgcn-ntu60-xsub",
    "stgcnpp-ntu60-xsub",
    "ctrgcn-ntu60-xsub-pyskl",
    "aagcn-ntu60-xsub",
    "msg3d-ntu60-xsub",
    "dgstgcn-ntu60-xsub",
    "posec3d-ntu60-xsub",
    "ctrgcn-ntu60-xsub",
    "infogcn-ntu60-xsub",
    "tsgcnext-ntu60-xsub",
    "blockgcn-ntu60-xsub",
]


def _recipe(name: str) -> dict:
    return yaml.safe_load((RECIPES / f"{name}.yaml").read_text(encoding="utf-8"))


def _run(*args: str):
    return CliRunner().invoke(app, ["recipe", *args, "--dir", str(RECIPES)])


def test_every_official_recipe_is_there() -> None:
    assert set(REQUIRED) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_recipe_validates_against_the_params_schema(name: str) -> None:
    recipe = _recipe(name)
    assert recipe["name"] == name
    assert len(recipe["source"]["commit"]) == 40
    assert validate_recipe(recipe, yaml.safe_load(PARAMS_TEXT)) == []
    for item in recipe.get("unsupported") or []:
        assert item["detail"] and item["note"]


@pytest.mark.parametrize("name", NAMES)
def test_every_value_is_the_one_its_official_text_states(name: str) -> None:
    recipe = _recipe(name)
    assert check_citations(recipe) == []
    for key, entry in recipe["params"].items():
        assert {"official", "derived", "skelpipe"} & set(entry), key


@pytest.mark.parametrize("name", ["stgcn-ntu60-xsub", "ctrgcn-ntu60-xsub", "tsgcnext-ntu60-xsub"])
def test_a_mistyped_value_is_caught(name: str) -> None:
    recipe = _recipe(name)
    for key, entry in recipe["params"].items():
        if "skelpipe" in entry:
            continue
        bad = copy.deepcopy(entry)
        value = bad["value"]
        if isinstance(value, bool):
            bad["value"] = not value
        elif isinstance(value, int | float):
            bad["value"] = value * 2 + 1
        elif isinstance(value, list):
            bad["value"] = [*value, 7]
        else:
            bad["value"] = f"{value}x"
        with pytest.raises(RecipeError):
            check_entry(key, bad)


def test_literals_and_expressions() -> None:
    line = "optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0005, nesterov=True)"
    assert literal_at(line, "lr") == 0.1 and literal_at(line, "nesterov") is True
    assert literal_at(line, "type") == "SGD"
    assert literal_at("  p_interval: [0.5, 1]", "p_interval") == [0.5, 1]
    assert literal_at("main.py --batch_size 32 --lr 4e-3 --model_ema true", "lr") == 0.004
    assert literal_at("--batch_size=128 --test_batch_size=64 \\", "batch_size") == 128
    assert literal_at("optimizer_config = dict(grad_clip=None)", "grad_clip") is None
    with pytest.raises(RecipeError):
        literal_at("total_epochs = 16", "epochs")
    assert evaluate("total_epochs * times", {"total_epochs": 16, "times": 5}) == 80
    assert evaluate("{None: 0.0}[g]", {"g": None}) == 0.0
    with pytest.raises(RecipeError):
        evaluate("__import__('os')", {})
    assert not same_value(True, 1) and same_value([0.5, 1], [0.5, 1.0])


def _values(text: str) -> dict:
    return yaml.safe_load(text)


@pytest.mark.parametrize("name", NAMES)
def test_apply_changes_exactly_the_recipe_keys(name: str, tmp_path: Path) -> None:
    recipe = _recipe(name)
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS_TEXT, encoding="utf-8")
    result = _run("apply", name, "--params", str(params))
    assert result.exit_code == 0, result.output
    new = params.read_text(encoding="utf-8")
    old_lines, new_lines = PARAMS_TEXT.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    keys = {k.split(".")[-1] for k in recipe["params"]}
    for i in changed:
        assert not old_lines[i].lstrip().startswith("#")
        assert old_lines[i].split(":")[0].strip() in keys
        if "#" in old_lines[i]:
            assert old_lines[i][old_lines[i].index(" #") :].strip() in new_lines[i]
    doc = _values(new)
    for key, value in recipe_values(recipe).items():
        section, leaf = key.split(".", 1)
        assert same_value(doc[section][leaf], value), key
    for section, cls in SECTION_TYPES.items():
        if section in doc:
            from_mapping(cls, doc[section], section)
    untouched = {s for s in doc if not any(k.startswith(f"{s}.") for k in recipe["params"])}
    base = _values(PARAMS_TEXT)
    assert all(doc[s] == base[s] for s in untouched)


def test_apply_twice_changes_nothing(tmp_path: Path) -> None:
    values = recipe_values(_recipe("ctrgcn-ntu60-xsub"))
    once, _ = apply_to_text(PARAMS_TEXT, values)
    twice, changes = apply_to_text(once, values)
    assert twice == once and changes == []


@pytest.mark.parametrize("name", ["stgcn-ntu60-xsub", "infogcn-ntu60-xsub", "posec3d-ntu60-xsub"])
def test_dvc_command_parses_back_to_the_values(name: str) -> None:
    result = _run("show", name, "--dvc")
    assert result.exit_code == 0, result.output
    words = shlex.split(result.output.strip())
    assert words[:3] == ["dvc", "exp", "run"]
    assert words[3::2] == ["-S"] * len(words[3::2])
    parsed = {}
    for arg in words[4::2]:
        key, _, text = arg.partition("=")
        parsed[key] = yaml.safe_load(text)
    values = recipe_values(_recipe(name))
    assert parsed.keys() == values.keys()
    assert all(same_value(parsed[k], values[k]) for k in values)
    assert dvc_command(values) == result.output.strip()


def test_show_lists_values_with_sources() -> None:
    result = _run("show", "stgcn-ntu60-xsub")
    assert result.exit_code == 0
    assert "train.lr = 0.1" in result.output and "j.py:49" in result.output


def test_unknown_recipe_exits_1_with_a_message() -> None:
    result = _run("show", "no-such-recipe")
    assert result.exit_code == 1
    assert "unknown recipe 'no-such-recipe'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    recipe = _recipe("stgcn-ntu60-xsub")
    recipe["params"]["train.no_such_key"] = {"value": 1, "skelpipe": "test"}
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "stgcn-ntu60-xsub.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS_TEXT, encoding="utf-8")
    args = ["recipe", "apply", "stgcn-ntu60-xsub", "--params", str(params), "--dir", str(folder)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "unknown key train.no_such_key" in result.output
    assert params.read_text(encoding="utf-8") == PARAMS_TEXT
