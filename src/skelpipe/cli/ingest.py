"""``skelpipe ingest`` and ``skelpipe info``: keypoints people already have -> a sample store.

``skelpipe ingest FORMAT SRC --out STORE.zarr`` reads a PYSKL annotation pickle, a folder of npz
files, the MARS label arrays or an MM-Fi tree and writes the store the training stages read,
coordinates as read (alignment is the align stage's job). Bad samples are printed as
``file: reason`` and listed in ``--rejected``; the good ones are kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from skelpipe.io.keypoints import SourceError
from skelpipe.io.rejected import write_rejected
from skelpipe.io.sources import open_source
from skelpipe.params import ShardParams
from stages._common import atomic_dir, fail, load_params


def ingest(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="pyskl, npz, mars or mmfi"),
    src: Path = typer.Argument(..., help="the pickle, folder or tree to read"),
    out: Path = typer.Option(..., help="the store to write (a .zarr folder)"),
    layout: str | None = typer.Option(None, help="skeleton layout (default: from the data)"),
    clip_frames: int = typer.Option(100, help="mars: frames per clip"),
    score_channel: bool = typer.Option(False, help="npz: the last channel is a keypoint score"),
    rejected: Path | None = typer.Option(None, help="CSV of rejected samples [OUT_rejected.csv]"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params", help="its shard section"),
) -> None:
    """Import keypoints into a sample store; print the counts as one JSON line."""
    from skelpipe.store.ingest import ingest_source

    params = load_params(ShardParams, "shard", params_file)
    rejected = rejected or out.with_name(out.stem + "_rejected.csv")
    try:
        source = open_source(fmt, src, layout, clip_frames, score_channel)
        with atomic_dir(out) as tmp:
            counts, bad = ingest_source(source, tmp, params)
    except (SourceError, ValueError) as err:
        fail(str(err))
    for row in bad:
        print(row.message(), file=sys.stderr)
    write_rejected(rejected, bad)
    print(json.dumps(counts))


def info(
    store: Path = typer.Argument(..., help="a sample store (.zarr folder)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object"),
) -> None:
    """Layout, channels, sample / frame counts and benchmark splits of a store."""
    from skelpipe.apps.store_exports import store_info

    if not (store / "zarr.json").is_file():
        fail(f"{store}: not a sample store (no zarr.json)")
    doc = store_info(store)
    if as_json:
        print(json.dumps(doc))
        return
    print(
        f"{store}: layout {doc['layout']} ({doc['n_joints']} joints, {','.join(doc['channels'])})"
    )
    print(f"{doc['n_samples']} samples, {doc['n_frames']} frames")
    for name, parts in doc["benchmarks"].items():
        print(f"  {name}: " + ", ".join(f"{p} {n}" for p, n in parts.items()))
