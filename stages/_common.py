"""Shared plumbing for the thin stage entry points: params, metrics, atomic outputs, errors."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from skelpipe.atomic import replace_tree
from skelpipe.params import ParamsError, from_mapping

T = TypeVar("T")


def load_params(cls: type[T], section: str, params_file: Path) -> T:
    """Read one section of ``params_file`` into the frozen dataclass ``cls`` (exits cleanly)."""
    try:
        with open(params_file, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
        return from_mapping(cls, doc.get(section), section)
    except (OSError, yaml.YAMLError, ParamsError) as err:
        fail(f"{params_file}: {err}")


def fail(message: str) -> None:
    """Stop the stage with a one-line message and exit code 1 (no traceback)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)


def require_parts(folder: Path) -> list[Path]:
    """The part files of a previous stage's output, or a clean failure naming the folder."""
    from skelpipe.io.h5store import list_parts

    parts = list_parts(folder)
    if not parts:
        fail(f"{folder}: no part-*.h5 files (missing input, or the previous stage kept no sample)")
    return parts


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write flat snake_case metrics as JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``final`` only if the block succeeds.

    A stage killed mid-write leaves the previous complete ``final`` or none, never a partial one
    (:func:`skelpipe.atomic.replace_tree`); the temporary directory is removed on the next run.
    """
    tmp = final.with_name(f".{final.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_tree(tmp, final)
