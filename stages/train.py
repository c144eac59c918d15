"""DVC stage ``train@<model>-<stream>``: one classifier stream on the store, resumable.

Runs alone or under ``torchrun`` (DDP); outputs, metrics and curves come from rank 0 only.
"""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from skelpipe.models import build_store_model
from skelpipe.params import TrainParams
from skelpipe.store.reader import SampleStore
from skelpipe.training import distributed
from skelpipe.training.loop import build_datasets, config_hash, resolve_device
from stages._common import fail, load_params
from stages._runtime import start_runtime
from stages._stream import train_and_report

app = typer.Typer(add_completion=False)


@app.command()
def main(
    model: str = typer.Option(..., help="model name (matrix item)"),
    stream: str = typer.Option(..., help="joint | bone | joint_motion | bone_motion"),
    store: Path = typer.Option(..., help="the sample store"),
    out: Path = typer.Option(..., help="output folder: model.pt, scores_*.npz, per_class.csv"),
    checkpoint: Path = typer.Option(..., help="persistent folder for the resumable checkpoint"),
    live: Path = typer.Option(..., help="DVCLive folder (per-epoch curves)"),
    plots: Path = typer.Option(..., help="folder for the confusion plot data"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(TrainParams, "train", params_file)
    runtime = start_runtime(p)
    distributed.setup(resolve_device(p))
    torch.manual_seed(p.seed)
    s = SampleStore(store)
    try:
        net = build_store_model(model, s.attrs, p.preset)
        ds = build_datasets(s, p, stream)
    except (KeyError, ValueError) as err:
        fail(str(err))
    paths = {"checkpoint": checkpoint, "live": live, "out": out, "plots": plots, "metrics": metrics}
    run_id = config_hash(p, model, stream)
    train_and_report(net, ds, p, s, run_id, f"{model}-{stream}", paths, runtime)
    distributed.teardown()


if __name__ == "__main__":
    app()
