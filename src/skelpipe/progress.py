"""Progress bars for the long steps: items/s and ETA on stderr (tqdm), silent under ``CI=true``.

Used by the data stages, the training loops (classifier, token stream, tokenizer) and predict.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def quiet() -> bool:
    """Bars are off under ``CI=true`` (logs stay readable)."""
    return os.environ.get("CI") == "true"


def progress_bar(total: int, label: str, unit: str = "sample", quiet_bar: bool = False) -> tqdm:
    """A bar of ``total`` items with rate and ETA; off when ``quiet_bar`` or under CI."""
    return tqdm(
        total=total,
        desc=label,
        unit=unit,
        leave=False,
        dynamic_ncols=True,
        disable=quiet_bar or quiet(),
    )


def track(
    items: Iterable[T], total: int, label: str, unit: str, sizes: Sequence[int] | None = None
) -> Iterator[T]:
    """Yield ``items`` while a bar advances by 1 per item, or by ``sizes[i]`` for item i (e.g.
    the files of each part, so the rate reads in files/s while the work is done per part)."""
    with progress_bar(total, label, unit) as bar:
        for i, item in enumerate(items):
            yield item
            bar.update(sizes[i] if sizes is not None else 1)
