"""Crash-safe outputs: everything is written under a temporary sibling name and renamed on success.

A stage killed at any point (even SIGKILL) leaves the previous complete output or none, never a
partial one under the final name: ``os.replace`` of a file or an empty-target directory is atomic
on POSIX. Leftover temporaries (dot-names ending in ``.tmp``) are cleared by the next run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path (same folder, same suffix) renamed to ``final`` if the block ends."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.stem}.tmp{final.suffix}")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, final)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def replace_tree(tmp: Path, final: Path) -> None:
    """Move the finished folder ``tmp`` to ``final``.

    The old ``final`` is first renamed aside in one step, so a kill between the two renames
    leaves no ``final`` (the stage did not complete) rather than a partly deleted one.
    """
    old = final.with_name(f".{final.name}.old")
    _remove(old)
    if final.exists() or final.is_symlink():
        os.replace(final, old)
    os.replace(tmp, final)
    _remove(old)
