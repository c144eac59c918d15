"""The rejected-samples table (CSV: name, source, line, reason, stage)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from skelpipe.atomic import atomic_file
from skelpipe.io.raw_sources import Rejected

COLUMNS = ["name", "source", "line", "reason", "stage"]


def write_rejected(path: Path, rows: Iterable[Rejected]) -> None:
    """Write the table (header only when nothing was rejected), atomically."""
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.name, r.source, "" if r.line is None else r.line, r.reason, r.stage])


def read_rejected(path: Path) -> list[Rejected]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            Rejected(
                r["name"],
                r["source"],
                int(r["line"]) if r["line"] else None,
                r["reason"],
                r["stage"],
            )  # fmt: skip
            for r in csv.DictReader(fh)
        ]
