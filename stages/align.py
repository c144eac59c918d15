"""DVC stage ``align``: denoised parts -> aligned parts (translation, ground, padding)."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.parallel import ordered_map
from skelpipe.params import AlignParams
from skelpipe.preprocess.runner import align_part, merge
from skelpipe.progress import track
from stages._common import atomic_dir, load_params, require_parts, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    denoised: Path = typer.Option(..., help="denoise (or NW-UCLA ingest) output folder"),
    out: Path = typer.Option(..., help="output folder (part-*.h5)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(AlignParams, "align", params_file)
    parts = require_parts(denoised)
    with atomic_dir(out) as tmp:
        done = ordered_map(align_part, [(s, tmp, p) for s in parts], p.workers, 1)
        res = merge(list(track(done, len(parts), "align", "part")))
    write_metrics(metrics, {k: int(v) for k, v in res.counts.items()})


if __name__ == "__main__":
    app()
