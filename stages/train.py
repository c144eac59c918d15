"""DVC stage ``train@<model>-<stream>``: one classifier stream on the store, resumable."""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from skelpipe.models import build_model
from skelpipe.models.runtime import configure_cpu_runtime
from skelpipe.params import TrainParams
from skelpipe.store import SampleStore
from skelpipe.train import build_datasets, config_hash, fit, make_loader, predict, resolve_device
from skelpipe.train_report import write_outputs
from stages._common import atomic_dir, fail, load_params, write_metrics
from stages._live import LiveLog

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
    configure_cpu_runtime(p.threads or None)  # threads, flush-to-zero denormals, glibc malloc
    torch.manual_seed(p.seed)
    s = SampleStore(store)
    try:
        net = build_model(model, s.attrs["dataset"], p.preset)
        ds = build_datasets(s, p, stream)
    except (KeyError, ValueError) as err:
        fail(str(err))
    checkpoint.mkdir(parents=True, exist_ok=True)
    run_id = config_hash(p, model, stream)
    history = _resumed_history(checkpoint / "last.pt", run_id)
    log = LiveLog(live, history)
    state = fit(net, ds, p, checkpoint / "last.pt", run_id, f"{model}-{stream}", log.log_epoch)
    device = resolve_device(p)
    with atomic_dir(out) as tmp:
        results = {
            part: predict(net, make_loader(ds[part], p, False, 0), device)
            for part in ("val", "test")
        }
        summary = write_outputs(tmp, plots, net, s, results, state.history)
    write_metrics(metrics, summary)


def _resumed_history(ckpt: Path, run_id: str) -> list[dict]:
    if not ckpt.exists():
        return []
    data = torch.load(ckpt, map_location="cpu", weights_only=True)
    return list(data["history"]) if data.get("run_id") == run_id else []


if __name__ == "__main__":
    app()
