"""DVC stage ``ingest`` (NW-UCLA pipeline): ``all_sqe`` JSON files -> denoised part file.

NW-UCLA has one person per sample and no body-tracking noise, so its files enter the pipeline at
the denoised level and share align / shard with NTU.
"""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.io.h5store import Sequence, SequenceWriter, part_path
from skelpipe.io.nw_ucla import list_ucla_files, read_ucla_sample
from skelpipe.io.raw_sources import Rejected
from skelpipe.io.rejected import write_rejected
from skelpipe.progress import track
from skelpipe.skeleton import UCLA20
from stages._common import atomic_dir, fail, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    raw: Path = typer.Option(..., help="folder of NW-UCLA JSON files (all_sqe)"),
    out: Path = typer.Option(..., help="output folder (part-00000.h5, rejected.csv)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
) -> None:
    if not raw.is_dir():
        fail(f"{raw}: not a folder of NW-UCLA JSON files")
    files = list_ucla_files(raw)
    rejected: list[Rejected] = []
    n = frames = 0
    with atomic_dir(out) as tmp:
        writer = SequenceWriter(
            part_path(tmp, 0), UCLA20.max_persons, UCLA20.num_joints, UCLA20.name
        )
        for path in track(files, len(files), "ingest", "file"):
            item = read_ucla_sample(path)
            if isinstance(item, Rejected):
                print(f"rejected: {item.message()}")
                rejected.append(item)
                continue
            writer.append(Sequence(item[0], item[1], 1))
            n, frames = n + 1, frames + len(item[1])
        writer.close()
        write_rejected(tmp / "rejected.csv", rejected)
    write_metrics(
        metrics,
        {"n_files": len(files), "n_samples": n, "n_frames": frames, "n_rejected": len(rejected)},
    )


if __name__ == "__main__":
    app()
