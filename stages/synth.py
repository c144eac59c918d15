"""DVC stage ``synth``: the embedded synthetic raw NTU RGB+D dataset (``skelpipe.synth``).

Writes ``<out>/<name>.skeleton`` (the official text format) and ``<out>/manifest.csv`` (per sample:
persons, body IDs, planted noise and the spurious body IDs the denoising rules must drop).
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from skelpipe.params import SynthParams
from skelpipe.synth import check_params, summarize, write_dataset
from stages._common import atomic_dir, fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    out: Path = typer.Option(..., help="output folder (<name>.skeleton files, manifest.csv)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(SynthParams, "synth", params_file)
    try:
        check_params(p)
    except ValueError as err:
        fail(f"{params_file}: {err}")
    start = time.perf_counter()
    with atomic_dir(out) as tmp:
        rows = write_dataset(p, tmp)
    seconds = time.perf_counter() - start
    counts = summarize(rows)
    print(
        f"wrote {counts['n_samples']} samples, {counts['n_frames']} frames, "
        f"{counts['n_bytes'] / 1e6:.1f} MB in {seconds:.1f} s "
        f"({counts['n_samples'] / seconds:.0f} samples/s); "
        f"{counts['n_noisy_samples']} with planted noise"
    )
    write_metrics(metrics, counts)


if __name__ == "__main__":
    app()
