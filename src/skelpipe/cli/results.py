"""``skelpipe results``: regenerate the README result tables from the metrics files."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.apps.report import PUBLISHED, render, replace_section
from skelpipe.atomic import atomic_file

SECTIONS = {
    "synthetic": Path("metrics/ensemble.json"),
    "nw_ucla": Path("metrics/nw_ucla/ensemble.json"),
    "tokenizer_synthetic": Path("metrics/tokenizer.json"),
    "tokenizer_nw_ucla": Path("metrics/nw_ucla/tokenizer.json"),
}


def readme_with_tables(readme: Path) -> str:
    """The README text with every section whose metrics file exists regenerated."""
    text = readme.read_text(encoding="utf-8")
    for name, metrics in SECTIONS.items():
        path = readme.parent / metrics
        if path.exists():
            text = replace_section(text, name, render(path, PUBLISHED.get(name)))
    return text


def results(
    readme: Path = typer.Option(Path("README.md"), help="README to update"),
    check: bool = typer.Option(False, help="exit 1 if the README tables are out of date"),
) -> None:
    """Write the README result tables from metrics/ensemble.json (and the NW-UCLA one)."""
    new = readme_with_tables(readme)
    if check:
        if new != readme.read_text(encoding="utf-8"):
            print(f"{readme}: result tables are out of date; run `skelpipe results`")
            raise typer.Exit(1)
        return
    with atomic_file(readme) as tmp:
        tmp.write_text(new, encoding="utf-8")
