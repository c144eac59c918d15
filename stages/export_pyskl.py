"""DVC stage ``example`` (keypoints pipeline): raw NTU files -> a PYSKL annotation pickle, as
PYSKL's own converter writes it (``denoise.mode: pyskl``): the example source of the pipeline."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from skelpipe.apps.exports import denoise_to_h5, write_pyskl
from skelpipe.io.raw_sources import list_raw_files
from skelpipe.io.rejected import write_rejected
from skelpipe.params import DenoiseParams
from stages._common import fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    raw: Path = typer.Option(..., help="folder of .skeleton files and/or zip archives"),
    out: Path = typer.Option(..., help="the pickle to write"),
    dataset: str = typer.Option(..., help="ntu60 or ntu120: the benchmarks of its split dict"),
    rejected_out: Path = typer.Option(..., "--rejected", help="CSV of files left out"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(DenoiseParams, "denoise", params_file)
    try:
        files, rejected, _ = list_raw_files([raw], [])
    except OSError as err:
        fail(str(err))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        h5 = Path(tmp) / "denoised.h5"
        rejected += denoise_to_h5(files, h5, p.workers, p)
        n = write_pyskl(h5, out, dataset)
    for r in rejected:
        print(f"rejected: {r.message()}")
    write_rejected(rejected_out, rejected)
    write_metrics(metrics, {"n_samples": n, "n_rejected": len(rejected)})


if __name__ == "__main__":
    app()
