"""`skelpipe recipe`: official training recipes (recipes/*.yaml) listed, shown and applied.

The YAML reading lives here; the checks and the params.yaml edit are in
:mod:`skelpipe.cli.recipe_checks`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
import yaml

from skelpipe.cli.recipe_checks import (
    RecipeError,
    apply_to_text,
    check_citations,
    dvc_command,
    format_value,
    list_recipes,
    recipe_values,
    validate_recipe,
)

recipe_app = typer.Typer(add_completion=False, help="Official training recipes as params sets.")
DIR_OPTION = typer.Option(Path("recipes"), "--dir", help="folder of the recipe files")


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        _fail(f"{path}: {err}")


def load_recipe(name: str, folder: Path) -> dict[str, Any]:
    """The recipe ``name`` from ``folder``, its citations checked; exit 1 with a message if it
    is unknown or inconsistent."""
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(list_recipes(folder)) or "none"
        _fail(f"unknown recipe {name!r} (known: {known})")
    recipe = _read_yaml(path)
    if not isinstance(recipe, dict) or recipe.get("name") != name:
        _fail(f"{path}: not a recipe named {name!r}")
    errors = check_citations(recipe)
    if errors:
        _fail(f"{path}: " + "; ".join(errors))
    return recipe


@recipe_app.command("list")
def list_command(folder: Path = DIR_OPTION) -> None:
    """One line per recipe: name, model, source repo and the published top-1 numbers."""
    for name in list_recipes(folder):
        r = _read_yaml(folder / f"{name}.yaml") or {}
        pub = r.get("published") or {}
        print(
            f"{name:26} {r.get('model', '?'):9} {r.get('source', {}).get('repo', '?'):22} "
            f"joint {pub.get('joint_top1') or '-'}  ensemble {pub.get('ensemble_top1') or '-'}"
        )


def _provenance(entry: dict[str, Any]) -> str:
    if "official" in entry:
        return f"{entry['source']}: {entry['official']}"
    if "derived" in entry:
        cited = ", ".join(str(item.get("source")) for item in entry.get("from") or [])
        return f"derived: {entry['derived']} ({entry['expr']}; {cited})"
    return f"skelpipe: {entry.get('skelpipe', '')}"


@recipe_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="recipe name (see `skelpipe recipe list`)"),
    dvc: bool = typer.Option(False, "--dvc", help="print the one-line `dvc exp run -S` command"),
    folder: Path = DIR_OPTION,
) -> None:
    """The recipe's values with their sources (or, with --dvc, the `dvc exp run` command)."""
    recipe = load_recipe(name, folder)
    if dvc:
        print(dvc_command(recipe_values(recipe)))
        return
    src = recipe["source"]
    print(f"{name}: {src['repo']}@{src['commit'][:12]} {src['config']}")
    print(f"published: {recipe['published']}")
    for key, entry in recipe["params"].items():
        print(f"  {key} = {format_value(entry['value'])}    # {_provenance(entry)}")
    for item in recipe.get("unsupported") or []:
        print(f"  unsupported: {item['detail']} ({item.get('source', '')}): {item['note']}")


@recipe_app.command("apply")
def apply_command(
    name: str = typer.Argument(..., help="recipe name (see `skelpipe recipe list`)"),
    params: Path = typer.Option(Path("params.yaml"), "--params", help="params file, in place"),
    folder: Path = DIR_OPTION,
) -> None:
    """Write the recipe's values into the params file (comments and layout kept); print changes."""
    recipe = load_recipe(name, folder)
    if not params.is_file():
        _fail(f"no params file {params}")
    text = params.read_text(encoding="utf-8")
    errors = validate_recipe(recipe, yaml.safe_load(text) or {})
    if errors:
        _fail(f"recipe {name!r} does not fit {params}: " + "; ".join(errors))
    try:
        new_text, changes = apply_to_text(text, recipe_values(recipe))
    except RecipeError as err:
        _fail(str(err))
    tmp = params.with_name(params.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(params)
    for key, old, new in changes:
        print(f"{key}: {old} -> {new}")
    print(f"{params}: {len(changes)} changed, {len(recipe['params']) - len(changes)} already set")
