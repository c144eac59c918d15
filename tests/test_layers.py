"""The package's layers: data flows one way, io -> preprocess -> store -> classify / models ->
training -> tokenizer -> apps -> cli, and a lower layer never imports a higher one.

Imports are read statically (lazy imports inside functions included). The root modules
(skeleton, params, exact, ...) import only each other; a subpackage imports the root, itself and
the layers below it; two subpackages on the same layer (classify, models) do not import each other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "skelpipe"

# subpackage -> layer; the root modules are layer 0
LAYERS = {
    "io": 1,
    "synth": 2,
    "preprocess": 2,
    "store": 3,
    "classify": 4,
    "models": 4,
    "training": 5,
    "tokenizer": 6,
    "apps": 7,
    "cli": 8,
}
# __init__.py files that predate the layout and re-export on purpose (the model registry, synth)
REEXPORTING_INITS = {"models", "synth"}


def _group(module: str) -> str:
    """The subpackage of ``skelpipe.X.Y`` (``X``), or "" for a root module ``skelpipe.X``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else ""


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "skelpipe":
                names.update(f"skelpipe.{a.name}" for a in node.names)
            else:
                names.add(node.module)
    return {n for n in names if n.split(".")[0] == "skelpipe" and n != "skelpipe"}


FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_subpackage_has_a_layer() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set(LAYERS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = _group(_module(path))
    bad = []
    for name in sorted(_imports(path)):
        other = _group(name)
        if other == own or other == "":
            continue  # same subpackage, or a root module
        if own == "" or LAYERS[other] >= LAYERS[own]:
            bad.append(name)
    assert not bad, f"{_module(path)} ({own or 'root'}) imports a layer at or above its own: {bad}"


@pytest.mark.parametrize("name", sorted(set(LAYERS) - REEXPORTING_INITS))
def test_subpackage_init_is_docstring_only(name: str) -> None:
    """Importing one module of a subpackage must not import its siblings (or torch)."""
    body = ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8")).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr), (
        f"{name}/__init__.py is not a docstring"
    )


def test_data_layers_import_no_torch() -> None:
    """The data stages' library (io, preprocess, store reader and writer) runs without torch."""
    modules = [
        "skelpipe.preprocess.runner",
        "skelpipe.store.shards",
        "skelpipe.store.reader",
        "skelpipe.classify.ensemble",
    ]
    code = f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
    code += "print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
