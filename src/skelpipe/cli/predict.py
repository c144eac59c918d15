"""``skelpipe predict``: top-k actions of raw files through the trained pipeline (src: predict)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import typer

from skelpipe.apps.predict import EnsemblePredictor, PredictError, read_weights
from skelpipe.cli._pipeline_params import pipeline_params
from skelpipe.io.raw_sources import Rejected
from skelpipe.progress import progress_bar
from stages._common import fail

UCLA_PARAMS = Path("pipelines/nw_ucla/params.yaml")


def predict(
    files: list[Path] = typer.Argument(..., help=".skeleton (NTU) or .json (NW-UCLA) files"),
    model: Path = typer.Option(None, help="trained models folder (default: paths.models)"),
    ensemble: Path = typer.Option(None, help="ensemble output (default: paths.ensemble)"),
    tokenizer: Path = typer.Option(None, help="tokenizer folder (default: paths.tokenizer)"),
    top: int = typer.Option(5, min=1, help="classes to list"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file"),
    params_file: Path = typer.Option(
        None, "--params", help=f"default: params.yaml; {UCLA_PARAMS} for .json files"
    ),
) -> None:
    """Parse -> denoise -> align -> streams -> ensemble, as the pipeline; print the top classes."""
    from skelpipe.apps.predict import load_sample

    if params_file is None:
        params_file = UCLA_PARAMS if files[0].suffix == ".json" else Path("params.yaml")
    p, paths = pipeline_params(params_file)
    try:
        weights = read_weights((ensemble or Path(paths.get("ensemble", ""))) / "weights.json")
        net = EnsemblePredictor(
            model or Path(paths.get("models", "")),
            weights,
            p,
            tokenizer or Path(paths.get("tokenizer", "")),
        )
    except PredictError as err:
        fail(str(err))
    n_bad = 0
    with progress_bar(len(files), "predict", unit="file", quiet_bar=len(files) == 1) as bar:
        for path in files:
            got = load_sample(path, p)
            bar.update(1)
            if isinstance(got, Rejected):
                print(f"error: {got.message()}", file=sys.stderr)
                n_bad += 1
                continue
            ranked = net.predict(got[1], top)
            if as_json:
                rows = [asdict(r) for r in ranked]
                print(json.dumps({"file": str(path), "sample": got[0], "top": rows}))
                continue
            print(f"{path} ({got[0]}, {p.dataset}, members: {', '.join(net.members)})")
            for k, r in enumerate(ranked, 1):
                print(f"  {k}. {r.code} {r.name:<44} p={r.probability:.3f} score={r.score:.3f}")
    raise typer.Exit(1 if n_bad else 0)
