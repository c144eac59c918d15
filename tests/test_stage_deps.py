"""Every DVC stage declares what it runs and the exact params it reads.

Deps: each stage's ``cmd`` names the modules it runs (``python -m stages.X``, and the module the
launcher execs). Their project imports are followed statically through the whole package, lazy
imports inside functions included, and every file reached must lie under one of the stage's deps
(a file or a folder above it). A fresh interpreter importing the same modules is the check on the
static walk: every project file it loads must be in the walk too.

Params: each stage tracks exactly the keys of the sections its code loads (every field of the
section's dataclass), less the fields marked untracked in :mod:`skelpipe.params` (matrix axes,
worker counts): never a whole section, never a key it does not read.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from skelpipe import params as params_mod

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"skelpipe": ROOT / "src" / "skelpipe", "stages": ROOT / "stages"}
PIPELINES = [ROOT / "dvc.yaml", *sorted((ROOT / "pipelines").glob("*/dvc.yaml"))]


def module_file(name: str) -> Path | None:
    """The project file of a dotted module name (package ``__init__.py``), or None."""
    top, *rest = name.split(".")
    if top not in PACKAGES:
        return None
    base = PACKAGES[top].joinpath(*rest)
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _module_name(path: Path) -> str:
    for top, folder in PACKAGES.items():
        if path.is_relative_to(folder):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(path)


def _imported_names(path: Path) -> set[str]:
    """Dotted names a file imports anywhere (top level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path)  # the package relative imports start from
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # submodules
    return names


@cache
def static_closure(module: str) -> frozenset[Path]:
    """Project files a module can run: its imports followed transitively, parents included."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            path = module_file(".".join(parts[:k]))
            if path is not None and path not in seen:
                seen.add(path)
                todo.extend(_imported_names(path))
    return frozenset(seen)


def fresh_import(modules: list[str]) -> set[Path]:
    """Project files a fresh interpreter loads when importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps([getattr(m, '__file__', None) for m in list(sys.modules.values())]))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    files = {Path(f).resolve() for f in json.loads(out.stdout.splitlines()[-1]) if f}
    return {f for f in files if any(f.is_relative_to(p) for p in PACKAGES.values())}


def stage_modules(cmd: str) -> list[str]:
    """The project modules a stage command runs: ``-m stages.X`` and what the launcher execs."""
    return [tok for tok in shlex.split(cmd) if tok.startswith("stages.") and module_file(tok)]


@cache
def pipeline_stages(dvcfile: Path) -> list:
    from dvc.repo import Repo

    repo = Repo(str(ROOT))
    return [s for s in repo.index.stages if Path(s.path).resolve() == dvcfile]


def _stage_ids() -> list[tuple[Path, str]]:
    return [(f, s.addressing) for f in PIPELINES for s in pipeline_stages(f)]


def _stage(dvcfile: Path, address: str):
    return next(s for s in pipeline_stages(dvcfile) if s.addressing == address)


def _label(item: tuple[Path, str]) -> str:
    return f"{item[0].parent.name or 'root'}:{item[1]}"


STAGES = _stage_ids()


@pytest.mark.parametrize("item", STAGES, ids=[_label(s) for s in STAGES])
def test_deps_cover_every_file_the_stage_runs(item: tuple[Path, str]) -> None:
    stage = _stage(*item)
    modules = stage_modules(stage.cmd)
    assert modules, f"{item[1]}: its cmd runs no stages.* module"
    ran = set().union(*(static_closure(m) for m in modules))
    deps = [Path(d.fs_path).resolve() for d in stage.deps]
    missing = sorted(
        str(f.relative_to(ROOT))
        for f in ran
        if not any(f == d or f.is_relative_to(d) for d in deps)
    )
    assert not missing, f"{item[1]} runs files its deps do not cover: {missing}"


@pytest.mark.parametrize(
    "module", sorted({m for f, a in STAGES for m in stage_modules(_stage(f, a).cmd)})
)
def test_static_walk_sees_what_a_fresh_interpreter_loads(module: str) -> None:
    loaded = fresh_import([module])
    unseen = sorted(str(f.relative_to(ROOT)) for f in loaded - static_closure(module))
    assert not unseen, f"importing {module} loads files the static walk missed: {unseen}"


def _sections_loaded(modules: list[str]) -> dict[str, type]:
    """``load_params(Cls, "section", ...)`` calls in the stage's own modules (stages/ package)."""
    found: dict[str, type] = {}
    files = {p for m in modules for p in static_closure(m) if p.is_relative_to(PACKAGES["stages"])}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "load_params"):
                continue
            cls_node, section_node = node.args[0], node.args[1]
            if isinstance(section_node, ast.Constant) and isinstance(cls_node, ast.Name):
                found[section_node.value] = getattr(params_mod, cls_node.id)
    return found


def _tracked(stage) -> set[str]:
    keys: set[str] = set()
    for dep in stage.deps:
        if dep.__class__.__name__ == "ParamsDependency":
            keys.update(dep.params)
    return keys


@pytest.mark.parametrize("item", STAGES, ids=[_label(s) for s in STAGES])
def test_params_are_the_exact_keys_the_stage_reads(item: tuple[Path, str]) -> None:
    stage = _stage(*item)
    modules = stage_modules(stage.cmd)
    launched = [m for m in modules if m != "stages.launch"]
    sections = _sections_loaded(launched)
    if "stages.launch" in modules:  # the launcher reads <section>.launcher / nproc / reproducible
        section = shlex.split(stage.cmd)[shlex.split(stage.cmd).index("--section") + 1]
        sections.setdefault(section, params_mod.SECTION_TYPES[section])
    expected = {
        f"{name}.{key}" for name, cls in sections.items() for key in params_mod.tracked_keys(cls)
    }
    tracked = _tracked(stage)
    assert tracked == expected, (
        f"{item[1]}: untracked {sorted(expected - tracked)}, not read {sorted(tracked - expected)}"
    )
