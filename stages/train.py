"""DVC stage ``train@<model>-<stream>``: one classifier stream on the store, resumable."""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from skelpipe.models import build_model
from skelpipe.params import TrainParams
from skelpipe.store import SampleStore
from skelpipe.train import (
    RunState,
    build_datasets,
    config_hash,
    load_checkpoint,
    make_loader,
    predict,
    progress_bar,
    resolve_device,
    save_checkpoint,
    seed_everything,
    train_epoch,
)
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
    if p.threads > 0:
        torch.set_num_threads(p.threads)
    seed_everything(p.seed)
    s = SampleStore(store)
    try:
        net = build_model(model, s.attrs["dataset"], p.preset)
        ds = build_datasets(s, p, stream)
    except (KeyError, ValueError) as err:
        fail(str(err))
    device = resolve_device(p)
    net.to(device)
    fwd = torch.compile(net) if p.compile and device.type == "cuda" else net
    opt = torch.optim.SGD(
        net.parameters(),
        lr=p.lr,
        momentum=p.momentum,
        nesterov=p.nesterov,
        weight_decay=p.weight_decay,
    )
    run_id = config_hash(p, model, stream)
    checkpoint.mkdir(parents=True, exist_ok=True)
    ckpt = checkpoint / "last.pt"
    state = load_checkpoint(ckpt, net, opt, run_id) or RunState()
    log = LiveLog(live, state.history)
    for epoch in range(state.epoch, p.epochs):
        ds["train"].epoch = epoch
        with progress_bar(
            len(ds["train"]), f"{model}-{stream} epoch {epoch + 1}/{p.epochs}"
        ) as bar:
            loss = train_epoch(
                fwd,
                make_loader(ds["train"], p, True, epoch),
                opt,
                epoch,
                p,
                device,
                lambda n, _loss: bar.update(n),
            )
        row = {"epoch": epoch + 1, "train_loss": round(loss, 6), "lr": opt.param_groups[0]["lr"]}
        if (epoch + 1) % p.eval_every == 0 or epoch + 1 == p.epochs:
            row.update(log.val_metrics(*predict(fwd, make_loader(ds["val"], p, False, 0), device)))
        state.history.append(row)
        state.epoch = epoch + 1
        save_checkpoint(ckpt, net, opt, state, run_id)
        log.log_epoch(row)
        print(
            f"{model}-{stream} epoch {epoch + 1}: " + ", ".join(f"{k} {v}" for k, v in row.items())
        )
    with atomic_dir(out) as tmp:
        results = {
            part: predict(fwd, make_loader(ds[part], p, False, 0), device)
            for part in ("val", "test")
        }
        summary = write_outputs(tmp, plots, net, s, results, state.history)
    write_metrics(metrics, summary)


if __name__ == "__main__":
    app()
