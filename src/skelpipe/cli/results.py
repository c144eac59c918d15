"""``skelpipe results``: regenerate the result tables of README.md and docs/ from the metrics."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.apps.report import PUBLISHED, render, replace_section
from skelpipe.atomic import atomic_file

# generated section -> (the page that holds it, the metrics file it is made from)
SECTIONS = {
    "nw_ucla": (Path("README.md"), Path("metrics/nw_ucla/ensemble.json")),
    "synthetic": (Path("docs/models.md"), Path("metrics/ensemble.json")),
    "tokenizer_synthetic": (Path("docs/tokenizer.md"), Path("metrics/tokenizer.json")),
    "tokenizer_nw_ucla": (Path("docs/tokenizer.md"), Path("metrics/nw_ucla/tokenizer.json")),
}


def pages_with_tables(root: Path) -> dict[Path, tuple[str, str]]:
    """page -> (current text, text with every section whose metrics file exists regenerated)."""
    pages: dict[Path, tuple[str, str]] = {}
    for name, (page, metrics) in SECTIONS.items():
        old, new = pages.get(root / page) or ((text := (root / page).read_text("utf-8")), text)
        if (root / metrics).exists():
            new = replace_section(new, name, render(root / metrics, PUBLISHED.get(name)))
        pages[root / page] = (old, new)
    return pages


def results(
    root: Path = typer.Option(Path("."), help="repository root (README.md, docs/, metrics/)"),
    check: bool = typer.Option(False, help="exit 1 if a generated table is out of date"),
) -> None:
    """Write the result tables of README.md and docs/ from the metrics files."""
    stale = []
    for page, (old, new) in pages_with_tables(root).items():
        if new == old:
            continue
        stale.append(page)
        if not check:
            with atomic_file(page) as tmp:
                tmp.write_text(new, encoding="utf-8")
    if check and stale:
        print(
            f"result tables are out of date in {', '.join(map(str, stale))}: run `skelpipe results`"
        )
        raise typer.Exit(1)
