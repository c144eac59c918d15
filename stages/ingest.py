"""DVC stage ``ingest`` (keypoints pipeline): a PYSKL pickle, npz folder, MARS or MM-Fi source ->
a sample store of the coordinates as read, with the source's own splits."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.io.keypoints import SourceError
from skelpipe.io.rejected import write_rejected
from skelpipe.io.sources import open_source
from skelpipe.params import IngestParams, ShardParams
from skelpipe.store.ingest import ingest_source
from stages._common import atomic_dir, fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    raw: Path = typer.Option(..., help="the pickle, folder or tree to read"),
    out: Path = typer.Option(..., help="the store to write (a .zarr folder)"),
    rejected_out: Path = typer.Option(..., "--rejected", help="CSV of samples left out"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(IngestParams, "ingest", params_file)
    shard = load_params(ShardParams, "shard", params_file)
    try:
        source = open_source(p.format, raw, p.layout or None, p.clip_frames, p.score_channel)
        with atomic_dir(out) as tmp:
            counts, bad = ingest_source(source, tmp, shard)
    except (SourceError, ValueError) as err:
        fail(str(err))
    for row in bad:
        print(f"rejected: {row.message()}")
    write_rejected(rejected_out, bad)
    write_metrics(metrics, counts)


if __name__ == "__main__":
    app()
