"""DVC stage ``train_tokenizer``: the skeleton tokenizer on the training split, resumable.

Runs alone or under ``torchrun`` (DDP, gloo: the tokenizer trains on the CPU); outputs, metrics
and curves come from rank 0 only.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import typer

from skelpipe.models.tokenizer import SkeletonTokenizer
from skelpipe.params import TokenizerParams
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.io import save_tokenizer
from skelpipe.tokenizer.train import ClipDataset, fit_tokenizer, model_config, run_identity
from skelpipe.training import distributed
from stages._common import atomic_dir, fail, load_params, write_metrics
from stages._live import live_logger, resumed_history
from stages._runtime import start_runtime

app = typer.Typer(add_completion=False)
CURVES = ("train_loss", "train_recon", "train_velocity", "lr", "val_loss")


@app.command()
def main(
    store: Path = typer.Option(..., help="the sample store"),
    out: Path = typer.Option(..., help="output folder: model.pt, config.json"),
    checkpoint: Path = typer.Option(..., help="persistent folder for the resumable checkpoint"),
    live: Path = typer.Option(..., help="DVCLive folder (per-epoch curves)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(TokenizerParams, "tokenizer", params_file)
    runtime = start_runtime(p)
    distributed.setup(torch.device("cpu"))
    torch.manual_seed(p.seed)
    s = SampleStore(store)
    try:
        cfg = model_config(p, s)
        model = SkeletonTokenizer(cfg)
        train, val = (
            ClipDataset(s, s.split(p.benchmark, part), cfg, p, part == "train")
            for part in ("train", "val")
        )
    except (KeyError, ValueError) as err:
        fail(str(err))
    checkpoint.mkdir(parents=True, exist_ok=True)
    ckpt, run_id = checkpoint / "last.pt", run_identity(p, cfg)
    on_epoch = live_logger(live, resumed_history(ckpt, run_id), CURVES)
    t0 = time.perf_counter()
    state = fit_tokenizer(model, train, val, p, ckpt, run_id, on_epoch)
    if not distributed.is_main():
        distributed.teardown()
        return
    with atomic_dir(out) as tmp:
        save_tokenizer(model, tmp)
    # wall time is the machine's, not the result's: logged, never written into an output
    print(f"tokenizer trained in {time.perf_counter() - t0:.1f} s (this run)")
    last = state.history[-1] if state.history else {}
    summary = {k: v for k, v in last.items() if k != "epoch"}
    summary.update(epochs=len(state.history), params=sum(t.numel() for t in model.parameters()))
    write_metrics(metrics, {**summary, **runtime})
    distributed.teardown()


if __name__ == "__main__":
    app()
