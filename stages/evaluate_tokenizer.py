"""DVC stage ``evaluate_tokenizer``: reconstruction and codebook metrics on the test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from skelpipe.apps.viz import save_strips
from skelpipe.params import TokenizerParams
from skelpipe.skeleton import get_layout
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.io import TokenizerLoadError, load_tokenizer
from skelpipe.tokenizer.metrics import store_units
from skelpipe.tokenizer.train import (
    codebook_metrics,
    evaluate,
    rate_metrics,
    tokenize_sample,
)
from stages._common import fail, load_params, write_metrics
from stages._runtime import start_runtime

app = typer.Typer(add_completion=False)
N_PICTURES = 3  # test samples drawn, original above reconstruction


@app.command()
def main(
    store: Path = typer.Option(..., help="the sample store"),
    model: Path = typer.Option(..., help="train_tokenizer output folder"),
    picture: Path = typer.Option(..., help="PNG: originals vs reconstructions (DVC image plot)"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(TokenizerParams, "tokenizer", params_file)
    runtime = start_runtime(p)
    s = SampleStore(store)
    try:
        net = load_tokenizer(model)
        test, val, train = (s.split(p.benchmark, part) for part in ("test", "val", "train"))
    except (KeyError, TokenizerLoadError) as err:
        fail(str(err))
    if len(test) == 0:
        fail(f"{store}: benchmark {p.benchmark} has no test samples")
    layout = get_layout(net.cfg.layout)
    result, test_tokens = evaluate(net, s, test, p)
    train_result, train_tokens = evaluate(net, s, train, p)  # utilisation: see the README
    result = {f"test_{k}": v for k, v in result.items()}
    # the generalisation gap: training samples, held-out samples of the training distribution
    # (validation fold; on NW-UCLA the training views), and test (the unseen view)
    key = f"mpjpe_{store_units(s.attrs, len(s.channels)).name}"  # mm, or px for 2-D stores
    result[f"train_{key}"] = train_result[key]
    if len(val):
        result[f"val_{key}"] = evaluate(net, s, val, p)[0][key]
    result.update(codebook_metrics(train_tokens, net, "train_"))
    result.update(codebook_metrics(test_tokens, net, "test_"))
    result.update(rate_metrics(net.cfg, layout))
    result["train_utilisation_min"] = min(
        v for k, v in result.items() if k.startswith("train_utilisation_")
    )
    result["quantizer"] = p.quantizer
    rows, titles = [], []
    for i in test[:: max(len(test) // N_PICTURES, 1)][:N_PICTURES].tolist():
        sample = s.sample(i)
        rows += [sample, tokenize_sample(net, sample, p)[1]]
        titles += [s.names[i], "reconstruction"]
    save_strips(picture, rows, titles, layout, styles=["-", "--"] * N_PICTURES)
    write_metrics(metrics, {**{k: _round(v) for k, v in result.items()}, **runtime})


def _round(v):
    return round(float(v), 6) if isinstance(v, float | np.floating) else v


if __name__ == "__main__":
    app()
