"""DVC stage ``shard``: ``aligned.h5`` -> sharded zarr v3 store with metadata and splits."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.io.h5store import frame_counts, iter_sequences, read_coords, read_layout
from skelpipe.io.raw_sources import Rejected
from skelpipe.io.rejected import write_rejected
from skelpipe.params import ShardParams
from skelpipe.progress import track
from skelpipe.skeleton import get_layout
from skelpipe.store.shards import ShardError, StoreWriter, shards_needed
from stages._common import atomic_dir, fail, load_params, require_parts, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    aligned: Path = typer.Option(..., help="align stage output folder"),
    out: Path = typer.Option(..., help="the store (a .zarr folder)"),
    rejected_out: Path = typer.Option(..., "--rejected", help="CSV of samples left out"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(ShardParams, "shard", params_file)
    src = aligned
    require_parts(src)
    rejected: list[Rejected] = []
    try:
        with atomic_dir(out) as tmp:
            n_frames = frame_counts(src)
            bound = shards_needed(n_frames, p.shard_frames)
            layout, coords = get_layout(read_layout(src)), read_coords(src)[0]
            writer = StoreWriter(tmp, layout, p, bound, coords=coords)
            for seq in track(iter_sequences(src), len(n_frames), "shard", "sample"):
                try:
                    writer.append(seq)
                except (ShardError, ValueError) as err:
                    print(f"rejected: {err}")
                    rejected.append(Rejected(seq.name, str(src), None, str(err), "shard"))
            counts = writer.close()
    except ShardError as err:
        fail(str(err))
    write_rejected(rejected_out, rejected)
    write_metrics(metrics, {**counts, "n_rejected": len(rejected)})


if __name__ == "__main__":
    app()
