"""The rejected-samples table (CSV: name, source, line, reason, stage)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from skelpipe.io.raw_sources import Rejected

COLUMNS = ["name", "source", "line", "reason", "stage"]


def write_rejected(path: Path, rows: Iterable[Rejected]) -> None:
    """Write the table (header only when nothing was rejected)."""
    data = [(r.name, r.source, r.line, r.reason, r.stage) for r in rows]
    df = pd.DataFrame(data, columns=COLUMNS).astype({"line": "Int64"})
    df.to_csv(path, index=False)


def read_rejected(path: Path) -> list[Rejected]:
    df = pd.read_csv(path, dtype={"name": str, "source": str, "reason": str, "stage": str})
    return [
        Rejected(r.name, r.source, None if pd.isna(r.line) else int(r.line), r.reason, r.stage)
        for r in df.itertuples()
    ]
