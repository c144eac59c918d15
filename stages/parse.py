"""DVC stage ``parse``: raw ``.skeleton`` files (folder or official zips) -> ``parsed.h5``."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from skelpipe.io.h5store import ParsedWriter
from skelpipe.io.raw_sources import Rejected, list_raw_files, load_raw, read_name_list
from skelpipe.io.rejected import write_rejected
from skelpipe.parallel import ordered_map
from skelpipe.params import ParseParams
from stages._common import atomic_dir, fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    raw: Path = typer.Option(..., help="folder of .skeleton files and/or zip archives, or a zip"),
    out: Path = typer.Option(..., help="output folder (parsed.h5, rejected.csv)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(ParseParams, "parse", params_file)
    skip = read_name_list(p.missing_list) if p.missing_list else []
    try:
        files, rejected, n_skipped = list_raw_files([raw], skip)
    except (FileNotFoundError, OSError) as err:
        fail(str(err))
    n_listed = len(files) + len(rejected)
    t0 = time.perf_counter()
    n_ok = n_frames = n_records = 0
    with atomic_dir(out) as tmp:
        writer = ParsedWriter(tmp / "parsed.h5", chunk_rows=p.chunk_records)
        for item in ordered_map(load_raw, files, p.workers, chunksize=16):
            if isinstance(item, Rejected):
                print(f"rejected: {item.message()}")
                if p.on_error == "fail":
                    writer.close()
                    fail(f"{item.message()} (parse.on_error=fail)")
                rejected.append(item)
                continue
            writer.append(item)
            n_ok, n_frames, n_records = (
                n_ok + 1,
                n_frames + item.n_frames,
                n_records + len(item.body_id),
            )
        writer.close()
        write_rejected(tmp / "rejected.csv", rejected)
    seconds = time.perf_counter() - t0
    print(f"parsed {n_ok} samples, {n_frames} frames in {seconds:.1f}s; rejected {len(rejected)}")
    write_metrics(
        metrics,
        {
            "n_files": n_listed,
            "n_samples": n_ok,
            "n_frames": n_frames,
            "n_body_records": n_records,
            "n_rejected": len(rejected),
            "n_skipped_missing_list": n_skipped,
        },
    )


if __name__ == "__main__":
    app()
