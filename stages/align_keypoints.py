"""DVC stage ``align`` (keypoints pipeline): an ingested store -> the aligned store the training
stages read (x, y, z: the align steps of ``align``; image coordinates: PYSKL PreNormalize2D)."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.io.keypoints import KeypointSample, SourceError
from skelpipe.io.rejected import write_rejected
from skelpipe.params import AlignParams, ShardParams
from skelpipe.preprocess.align import align_keypoints
from skelpipe.skeleton import get_layout
from skelpipe.store.ingest import ingest_source, mark_aligned, store_source
from skelpipe.store.reader import SampleStore
from stages._common import atomic_dir, fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="the ingest stage's store"),
    out: Path = typer.Option(..., help="the aligned store (a .zarr folder)"),
    rejected_out: Path = typer.Option(..., "--rejected", help="CSV of samples left out"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(AlignParams, "align", params_file)
    shard = load_params(ShardParams, "shard", params_file)
    try:
        source = store_source(SampleStore(store))
    except (OSError, KeyError, SourceError) as err:
        fail(f"{store}: {err}")
    layout = get_layout(source.layout)

    shapes: set[tuple[int, int] | None] = set()  # the image sizes seen (one: recorded)

    def align(s: KeypointSample) -> KeypointSample:
        shapes.add(s.img_shape)
        s.keypoint = align_keypoints(s.keypoint, s.score, s.img_shape, p, layout)
        return s

    try:
        with atomic_dir(out) as tmp:
            counts, bad = ingest_source(source, tmp, shard, align)
            mark_aligned(tmp, shapes if len(source.channels) == 2 else set())
    except (SourceError, ValueError) as err:
        fail(str(err))
    for row in bad:
        print(f"rejected: {row.message()}")
    write_rejected(rejected_out, bad)
    write_metrics(metrics, counts)


if __name__ == "__main__":
    app()
