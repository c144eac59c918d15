"""DVC stage ``ensemble``: combine stream scores by sample name; weights fixed or fit on val."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from skelpipe.classify.ensemble import (
    EnsembleError,
    Scores,
    combine,
    fit_weights,
    join_by_name,
    load_scores,
    save_scores,
)
from skelpipe.classify.metrics import summary
from skelpipe.params import EnsembleParams
from skelpipe.progress import track
from stages._common import atomic_dir, fail, load_params, write_metrics

app = typer.Typer(add_completion=False)


def _load(models: Path, members: tuple[str, ...], part: str) -> dict[str, Scores]:
    out = {}
    for m in members:
        path = models / m / f"scores_{part}.npz"
        if not path.exists():
            fail(f"{path}: missing (is '{m}' in train.models x train.streams?)")
        out[m] = load_scores(path)
    return out


@app.command()
def main(
    models: Path = typer.Option(..., help="folder holding one training output per member"),
    out: Path = typer.Option(..., help="output folder: ensemble scores and weights"),
    metrics: Path = typer.Option(..., help="metrics JSON"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    p = load_params(EnsembleParams, "ensemble", params_file)
    try:
        _, val_labels, val = join_by_name(_load(models, p.members, "val"))
        names, labels, test = join_by_name(_load(models, p.members, "test"))
    except EnsembleError as err:
        fail(str(err))
    weights = _weights(p, val, val_labels)
    result: dict = {}
    for k, m in enumerate(p.members):
        key = m.replace("-", "_")
        result.update(summary(test[k], labels, f"{key}_test_"))
        result[f"weight_{key}"] = round(float(weights[k]), 4)
    result.update(summary(combine(test, weights), labels, "ensemble_test_"))
    if val.shape[1]:
        result.update(summary(combine(val, weights), val_labels, "ensemble_val_"))
    if len(p.members) > 2:  # does each member help? the ensemble without it, weights refit on val
        for k, m in track(enumerate(p.members), len(p.members), "ensemble refits", "member"):
            rest = [j for j in range(len(p.members)) if j != k]
            w = _weights(p, val[rest], val_labels, drop=k)
            top1 = summary(combine(test[rest], w), labels, "")["top1"]
            result[f"ensemble_without_{m.replace('-', '_')}_test_top1"] = top1
    with atomic_dir(out) as tmp:
        save_scores(tmp / "scores_test.npz", Scores(names, combine(test, weights), labels))
        (tmp / "weights.json").write_text(
            json.dumps(dict(zip(p.members, weights.tolist(), strict=True)))
        )
    write_metrics(metrics, result)


def _weights(
    p: EnsembleParams,
    val: np.ndarray,
    val_labels: np.ndarray,
    drop: int | None = None,
) -> np.ndarray:
    """Fixed weights from params (minus member ``drop``), or weights fit on validation only."""
    if p.weights == "fit":
        if val.shape[1] == 0:
            fail("ensemble.weights=fit needs a validation fold (shard.validation.fraction > 0)")
        return fit_weights(val, val_labels, p.grid)  # validation only, never test
    if len(p.weights) != len(p.members):
        fail(f"ensemble.weights has {len(p.weights)} values for {len(p.members)} members")
    fixed = [w for j, w in enumerate(p.weights) if j != drop]
    return np.asarray(fixed, dtype=np.float64)


if __name__ == "__main__":
    app()
