"""DVC stage ``denoise``: parsed parts -> denoised parts + per-body decision table."""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from skelpipe.io.rejected import write_rejected
from skelpipe.parallel import ordered_map
from skelpipe.params import DenoiseParams
from skelpipe.preprocess.runner import denoise_part, merge
from skelpipe.progress import track
from stages._common import atomic_dir, fail, load_params, require_parts, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    parsed: Path = typer.Option(..., help="parse stage output folder"),
    out: Path = typer.Option(..., help="output folder (part-*.h5, decisions.csv, rejected.csv)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(DenoiseParams, "denoise", params_file)
    with atomic_dir(out) as tmp:
        tasks = [(part, tmp, p) for part in require_parts(parsed)]
        parts = ordered_map(denoise_part, tasks, p.workers, chunksize=1)
        res = merge(list(track(parts, len(tasks), "denoise", "part")))
        for r in res.rejected:
            print(f"rejected: {r.message()}")
        if res.failed:
            fail(f"{res.rejected[-1].message()} (denoise.on_error=fail)")
        columns = ["sample", "body", "rule", "value", "decision"]
        with open(tmp / "decisions.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([columns, *res.decisions])
        write_rejected(tmp / "rejected.csv", res.rejected)
    write_metrics(metrics, {**{k: int(v) for k, v in res.counts.items()},
                            "n_rejected": len(res.rejected)})  # fmt: skip


if __name__ == "__main__":
    app()
