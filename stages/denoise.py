"""DVC stage ``denoise``: ``parsed.h5`` -> ``denoised.h5`` + per-body decision table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from skelpipe.denoise import DenoiseError, denoise_sample
from skelpipe.io.h5store import Sequence, SequenceWriter, iter_parsed
from skelpipe.io.raw_sources import Rejected
from skelpipe.io.rejected import write_rejected
from skelpipe.params import DenoiseParams
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import NTU25
from stages._common import atomic_dir, fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


@app.command()
def main(
    parsed: Path = typer.Option(..., help="parse stage output folder"),
    out: Path = typer.Option(..., help="output folder (denoised.h5, decisions.csv, rejected.csv)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(DenoiseParams, "denoise", params_file)
    counts: dict[str, int] = {}
    decisions: list[tuple] = []
    rejected: list[Rejected] = []
    n_in = n_out = frames_out = two_actor = 0
    with atomic_dir(out) as tmp:
        writer = SequenceWriter(
            tmp / "denoised.h5", NTU25.max_persons, NTU25.num_joints, NTU25.name
        )
        for raw in iter_parsed(parsed / "parsed.h5"):
            n_in += 1
            xyz = raw.joints[:, :, :3]
            action = SampleId.from_name(raw.name).action
            try:
                d = denoise_sample(
                    raw.name, action, raw.body_frame, raw.body_id, xyz, raw.bodies_per_frame, p
                )
            except DenoiseError as err:
                if p.on_error == "fail":
                    writer.close()
                    fail(f"{err} (denoise.on_error=fail)")
                print(f"rejected: {err}")
                rejected.append(Rejected(raw.name, raw.name, None, str(err), "denoise"))
                continue
            writer.append(Sequence(raw.name, d.joints, d.n_actors))
            decisions.extend(d.decisions)
            for k, v in d.counts.items():
                counts[k] = counts.get(k, 0) + v
            n_out, frames_out, two_actor = (
                n_out + 1,
                frames_out + len(d.joints),
                two_actor + (d.n_actors == 2),
            )
        writer.close()
        pd.DataFrame(decisions, columns=["sample", "body", "rule", "value", "decision"]).to_csv(
            tmp / "decisions.csv", index=False
        )
        write_rejected(tmp / "rejected.csv", rejected)
    write_metrics(
        metrics,
        {
            "n_samples_in": n_in,
            "n_samples_out": n_out,
            "n_rejected": len(rejected),
            "n_frames_out": frames_out,
            "n_samples_two_actors": two_actor,
            **counts,
        },
    )


if __name__ == "__main__":
    app()
