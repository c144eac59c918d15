"""DVC stage ``align``: ``denoised.h5`` -> ``aligned.h5`` (translation, ground, padding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from skelpipe.align import align_sample
from skelpipe.io.h5store import Sequence, SequenceWriter, iter_sequences, read_layout
from skelpipe.params import AlignParams
from skelpipe.skeleton import get_layout
from stages._common import atomic_dir, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    denoised: Path = typer.Option(..., help="denoise (or NW-UCLA ingest) output folder"),
    out: Path = typer.Option(..., help="output folder (aligned.h5)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(AlignParams, "align", params_file)
    src = denoised / "denoised.h5"
    layout = get_layout(read_layout(src))
    n = frames = padded = 0
    extent = 0.0
    with atomic_dir(out) as tmp:
        writer = SequenceWriter(
            tmp / "aligned.h5", layout.max_persons, layout.num_joints, layout.name
        )
        for seq in iter_sequences(src):
            joints = align_sample(seq.joints, seq.n_actors, p, layout)
            writer.append(Sequence(seq.name, joints, seq.n_actors))
            n, frames = n + 1, frames + len(joints)
            padded += int(seq.n_actors < layout.max_persons and p.pad_second_actor == "copy")
            extent = max(extent, float(np.abs(joints).max(initial=0.0)))
        writer.close()
    write_metrics(
        metrics,
        {
            "n_samples": n,
            "n_frames": frames,
            "n_second_actor_copied": padded,
            "max_abs_coordinate_m": round(extent, 4),
        },
    )


if __name__ == "__main__":
    app()
