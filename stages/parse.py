"""DVC stage ``parse``: raw ``.skeleton`` files (folder or official zips) -> HDF5 parts."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.io.raw_sources import list_raw_files, read_name_list
from skelpipe.io.rejected import write_rejected
from skelpipe.parallel import ordered_map
from skelpipe.params import ParseParams
from skelpipe.preprocess.runner import merge, parse_part, split_parts
from skelpipe.progress import track
from stages._common import atomic_dir, fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    raw: Path = typer.Option(..., help="folder of .skeleton files and/or zip archives, or a zip"),
    out: Path = typer.Option(..., help="output folder (part-*.h5, rejected.csv)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(ParseParams, "parse", params_file)
    skip = read_name_list(p.missing_list) if p.missing_list else []
    try:
        files, listed_bad, n_skipped = list_raw_files([raw], skip)
    except OSError as err:
        fail(str(err))
    if listed_bad and p.on_error == "fail":
        fail(f"{listed_bad[0].message()} (parse.on_error=fail)")
    with atomic_dir(out) as tmp:
        tasks = [(k, refs, tmp, p.on_error == "fail")
                 for k, refs in enumerate(split_parts(files, p.part_files))]  # fmt: skip
        parts = ordered_map(parse_part, tasks, p.workers, chunksize=1)
        sizes = [len(t[1]) for t in tasks]
        res = merge(list(track(parts, len(files), "parse", "file", sizes)))
        for r in res.rejected:
            print(f"rejected: {r.message()}")
        if res.failed:
            fail(f"{res.rejected[-1].message()} (parse.on_error=fail)")
        write_rejected(tmp / "rejected.csv", listed_bad + res.rejected)
    counts = {k: int(v) for k, v in res.counts.items()}
    print(f"parsed {counts.get('n_samples', 0)} samples; rejected {len(listed_bad + res.rejected)}")
    write_metrics(metrics, {"n_files": len(files) + len(listed_bad), "n_samples": 0, "n_frames": 0,
                            "n_body_records": 0, **counts,
                            "n_rejected": len(listed_bad) + len(res.rejected),
                            "n_skipped_missing_list": n_skipped})  # fmt: skip


if __name__ == "__main__":
    app()
