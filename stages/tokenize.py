"""DVC stage ``tokenize``: every sample's token ids into a zarr store aligned by sample name."""

from __future__ import annotations

from pathlib import Path

import typer

from skelpipe.params import TokenizerParams
from skelpipe.progress import progress_bar
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.io import TokenizerLoadError, load_tokenizer
from skelpipe.tokenizer.token_store import write_token_store
from skelpipe.tokenizer.train import tokenize_sample
from stages._common import atomic_dir, fail, load_params, write_metrics
from stages._runtime import start_runtime

app = typer.Typer(add_completion=False)


@app.command()
def main(
    store: Path = typer.Option(..., help="the sample store"),
    model: Path = typer.Option(..., help="train_tokenizer output folder"),
    out: Path = typer.Option(..., help="token store (zarr)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(TokenizerParams, "tokenizer", params_file)
    runtime = start_runtime(p)
    s = SampleStore(store)
    try:
        net = load_tokenizer(model)
    except TokenizerLoadError as err:
        fail(str(err))
    tokens = []
    with progress_bar(len(s), "tokenize") as bar:
        for i in range(len(s)):
            tokens.append(tokenize_sample(net, s.sample(i), p)[0])
            bar.update(1)
    attrs = {
        "codebook_sizes": list(net.codebook_sizes),
        "downsample": net.cfg.downsample,
        "levels": net.cfg.levels,
        "persons": net.cfg.persons,
        "layout": net.cfg.layout,
        "dataset": s.attrs["dataset"],
        "num_classes": s.attrs["num_classes"],
        "body_frame": p.body_frame,
    }
    with atomic_dir(out) as tmp:
        counts = write_token_store(tmp, s.names, s.meta["label"], s.n_frames, tokens, attrs)
    write_metrics(metrics, {**counts, **runtime})


if __name__ == "__main__":
    app()
