"""``skelpipe results``: regenerate the result tables of README.md and docs/ from the metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import typer
import yaml

from skelpipe.apps.report import PUBLISHED, models_table, render, replace_section
from skelpipe.atomic import atomic_file

# generated section -> (the page that holds it, the metrics file it is made from)
SECTIONS = {
    "nw_ucla": (Path("README.md"), Path("metrics/nw_ucla/ensemble.json")),
    "synthetic": (Path("docs/models.md"), Path("metrics/ensemble.json")),
    "tokenizer_synthetic": (Path("docs/tokenizer.md"), Path("metrics/tokenizer.json")),
    "tokenizer_nw_ucla": (Path("docs/tokenizer.md"), Path("metrics/nw_ucla/tokenizer.json")),
    # an experiment's record (dvc exp run -S denoise.coords=color2d), kept beside its page
    "synthetic_color2d": (Path("docs/models.md"), Path("docs/results/color2d/ensemble.json")),
}


@dataclass(frozen=True)
class ModelsSection:
    """A generated table of single-stream runs: one row per ``<folder>/<model>-<stream>.json``."""

    page: Path
    folder: Path  # per-run training metrics
    stream: str  # the stream whose runs are compared
    params: Path  # the pipeline's params file: dataset and preset the models were built with
    timings: Path  # CPU minutes measured when the runs were made (hardware and date inside)


MODEL_SECTIONS = {
    "nw_ucla_models": ModelsSection(
        Path("docs/models.md"),
        Path("metrics/nw_ucla/train"),
        "joint",
        Path("pipelines/nw_ucla/params.yaml"),
        Path("docs/timings/nw_ucla.json"),
    ),
}


def _models_section(root: Path, sec: ModelsSection) -> str | None:
    from skelpipe.models import build_model
    from skelpipe.models.info import count_params

    files = sorted((root / sec.folder).glob(f"*-{sec.stream}.json"))
    if not files:
        return None
    runs = {f.name[: -len(".json")]: json.loads(f.read_text()) for f in files}
    doc = yaml.safe_load((root / sec.params).read_text(encoding="utf-8"))
    dataset, preset = doc["shard"]["dataset"], doc["train"]["preset"]
    n_params = {
        run: count_params(build_model(run.partition("-")[0], dataset, preset)) for run in runs
    }
    timings = root / sec.timings
    times = json.loads(timings.read_text())["runs"] if timings.exists() else {}
    return models_table(runs, n_params, times)


def pages_with_tables(root: Path) -> dict[Path, tuple[str, str]]:
    """page -> (current text, text with every section whose metrics file exists regenerated)."""
    pages: dict[Path, tuple[str, str]] = {}

    def page_text(page: Path) -> tuple[str, str]:
        return pages.get(root / page) or ((text := (root / page).read_text("utf-8")), text)

    for name, (page, metrics) in SECTIONS.items():
        old, new = page_text(page)
        if (root / metrics).exists():
            new = replace_section(new, name, render(root / metrics, PUBLISHED.get(name)))
        pages[root / page] = (old, new)
    for name, sec in MODEL_SECTIONS.items():
        old, new = page_text(sec.page)
        body = _models_section(root, sec)
        if body is not None:
            new = replace_section(new, name, body)
        pages[root / sec.page] = (old, new)
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
