"""DVC stage ``train_tokens``: the token-stream classifier, scored by name like the GCN streams.

Runs alone or under ``torchrun`` (DDP); outputs, metrics and curves come from rank 0 only.
"""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from skelpipe.models.token_transformer import TokenTransformer, TokenTransformerConfig
from skelpipe.params import TrainParams
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.token_store import TokenStore, TokenStoreError
from skelpipe.tokenizer.token_stream import TokenDataset
from skelpipe.training import distributed
from skelpipe.training.loop import config_hash, resolve_device
from stages._common import fail, load_params
from stages._runtime import start_runtime
from stages._stream import train_and_report

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="the sample store (names, splits)"),
    tokens: Path = typer.Option(..., help="the token store of the tokenize stage"),
    out: Path = typer.Option(..., help="output folder: model.pt, scores_*.npz, per_class.csv"),
    checkpoint: Path = typer.Option(..., help="persistent folder for the resumable checkpoint"),
    live: Path = typer.Option(..., help="DVCLive folder (per-epoch curves)"),
    plots: Path = typer.Option(..., help="folder for the confusion plot data"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(TrainParams, "token_stream", params_file)
    runtime = start_runtime(p)
    distributed.setup(resolve_device(p))
    torch.manual_seed(p.seed)
    s = SampleStore(store)
    try:
        t = TokenStore(tokens, s)
        ds = {
            part: TokenDataset(t, s.split(p.benchmark, part), p, part == "train")
            for part in ("train", "val", "test")
        }
    except (KeyError, TokenStoreError) as err:
        fail(str(err))
    cfg = TokenTransformerConfig(
        codebook_sizes=tuple(t.attrs["codebook_sizes"]),
        persons=int(t.attrs["persons"]),
        window=p.window,
        num_classes=int(s.attrs["num_classes"]),
    )
    paths = {"checkpoint": checkpoint, "live": live, "out": out, "plots": plots, "metrics": metrics}
    run_id = config_hash(p, "token_transformer", str(cfg))
    train_and_report(TokenTransformer(cfg), ds, p, s, run_id, "tokens", paths, runtime)
    distributed.teardown()


if __name__ == "__main__":
    app()
