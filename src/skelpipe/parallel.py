"""Ordered parallel map over processes, with a serial path for ``workers == 1``."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


def resolve_workers(workers: int) -> int:
    """``0`` means one process per available core."""
    if workers > 0:
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def ordered_map(
    func: Callable[[A], B], items: Iterable[A], workers: int, chunksize: int = 8
) -> Iterator[B]:
    """Yield ``func(item)`` for each item, in input order, using ``workers`` processes.

    Results stream back as they are produced (``imap``), so memory stays bounded by the number of
    chunks in flight, not by the number of items.
    """
    n = resolve_workers(workers)
    if n == 1:
        yield from map(func, items)
        return
    ctx = mp.get_context("fork")
    with ctx.Pool(n) as pool:
        yield from pool.imap(func, items, chunksize=chunksize)
