"""The ``skelpipe`` command: user-facing tools (validate, export). Thin: logic lives in src/."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import typer

from skelpipe.apps.exports import PYSKL_DENOISE, denoise_to_h5, write_ctrgcn, write_pyskl
from skelpipe.cli.export_model import export_model
from skelpipe.cli.ingest import info, ingest
from skelpipe.cli.pipelines import pipelines_app
from skelpipe.cli.predict import predict
from skelpipe.cli.recipe import recipe_app
from skelpipe.cli.results import results
from skelpipe.cli.show import show
from skelpipe.datasets import DATASETS
from skelpipe.io.nw_ucla import list_ucla_files, read_ucla_sample
from skelpipe.io.raw_sources import Rejected, list_raw_files, load_raw, read_name_list
from skelpipe.parallel import ordered_map
from skelpipe.params import DenoiseParams
from skelpipe.preprocess.denoise import REFERENCE_DENOISE

app = typer.Typer(add_completion=False, help="skelpipe: skeleton action recognition pipeline.")
export_app = typer.Typer(add_completion=False, help="Reference-compatible exports.")
app.add_typer(export_app, name="export")
app.add_typer(pipelines_app, name="pipelines")
app.add_typer(recipe_app, name="recipe")
app.command("results")(results)
app.command("show")(show)
app.command("predict")(predict)
app.command("export-model")(export_model)
app.command("ingest")(ingest)
app.command("info")(info)


def _list(raw: Path, missing_list: Path | None) -> tuple[list, list[Rejected]]:
    skip = read_name_list(missing_list) if missing_list else []
    try:
        files, rejected, _ = list_raw_files([raw], skip)
    except (FileNotFoundError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(1) from None
    return files, rejected


def _check(item: object) -> Rejected | None:
    return item if isinstance(item, Rejected) else None


def _validate_ucla(path: Path) -> Rejected | None:
    return _check(read_ucla_sample(path))


def _validate_ntu(ref) -> Rejected | None:
    return _check(load_raw(ref))


@app.command()
def validate(
    raw: Path = typer.Argument(..., help="folder, zip archive or single file"),
    workers: int = typer.Option(0, help="processes (0 = one per core)"),
) -> None:
    """Check every raw file; print one line per bad file (file:line: reason). Exit 1 if any."""
    ucla = list_ucla_files(raw) if raw.is_dir() else []
    if ucla:
        bad = [r for r in ordered_map(_validate_ucla, ucla, workers) if r]
        n = len(ucla)
    else:
        files, bad = _list(raw, None)
        bad += [r for r in ordered_map(_validate_ntu, files, workers, chunksize=16) if r]
        n = len(files) + len(bad)
    for r in bad:
        print(r.message())
    print(f"{n - len(bad)} of {n} files valid", file=sys.stderr)
    raise typer.Exit(1 if bad else 0)


@contextlib.contextmanager
def _reference_h5(
    raw: Path,
    dataset: str,
    missing_list: Path | None,
    workers: int,
    scratch: Path,
    denoise: DenoiseParams = REFERENCE_DENOISE,
) -> Iterator[Path]:
    """Parse + denoise (reference mode unless told) into a temporary HDF5 file; report skipped
    files."""
    if dataset not in DATASETS or DATASETS[dataset].reference_pad is None:
        known = sorted(name for name, d in DATASETS.items() if d.reference_pad)
        print(f"error: --dataset must be one of {known}", file=sys.stderr)
        raise typer.Exit(2)
    files, rejected = _list(raw, missing_list)
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        h5 = Path(tmp) / "denoised.h5"
        rejected += denoise_to_h5(files, h5, workers, denoise)
        for r in rejected:
            print(f"skipped: {r.message()}", file=sys.stderr)
        yield h5


@export_app.command("ctrgcn")
def export_ctrgcn(
    raw: Path = typer.Option(..., help="raw NTU folder or zip"),
    dataset: str = typer.Option(..., help="ntu60 or ntu120"),
    out: Path = typer.Option(..., help="output folder"),
    aligned: bool = typer.Option(False, help="also write InfoGCN's *_aligned.npz"),
    missing_list: Path | None = typer.Option(None, help="sample names to leave out"),
    workers: int = typer.Option(0, help="processes (0 = one per core)"),
) -> None:
    """Write the CTR-GCN / InfoGCN npz files (reference mode), plus names_train / names_test."""
    with _reference_h5(raw, dataset, missing_list, workers, out) as h5:
        for fname, (n_train, n_test) in write_ctrgcn(h5, out, dataset, aligned).items():
            print(f"{out / fname}: {n_train} train, {n_test} test")


@export_app.command("pyskl")
def export_pyskl(
    out: Path = typer.Option(..., help="output pickle, e.g. ntu60_3danno.pkl"),
    raw: Path | None = typer.Option(None, help="raw NTU folder or zip (reference mode)"),
    dataset: str | None = typer.Option(None, help="with --raw: ntu60 or ntu120"),
    store: Path | None = typer.Option(None, help="a sample store instead of raw files"),
    missing_list: Path | None = typer.Option(None, help="sample names to leave out"),
    workers: int = typer.Option(0, help="processes (0 = one per core)"),
    denoise: str = typer.Option(
        "pyskl", help="with --raw: pyskl (PYSKL's converter rules), reference or fixed (CTR-GCN's)"
    ),
) -> None:
    """Write a PYSKL annotation pickle (split + annotations with float16 keypoint (M, T, V, C)),
    from raw NTU files (``--raw``: as PYSKL's tools/data/ntu_preproc.py writes it) or from a
    store (``--store``)."""
    if (raw is None) == (store is None):
        print("error: give exactly one of --raw and --store", file=sys.stderr)
        raise typer.Exit(2)
    if store is not None:
        from skelpipe.apps.store_exports import write_pyskl_store

        print(f"{out}: {write_pyskl_store(store, out)} samples")
        return
    if dataset is None:
        print("error: --raw needs --dataset (ntu60 or ntu120)", file=sys.stderr)
        raise typer.Exit(2)
    if denoise not in ("pyskl", "reference", "fixed"):
        print("error: --denoise must be pyskl, reference or fixed", file=sys.stderr)
        raise typer.Exit(2)
    mode = dataclasses.replace(PYSKL_DENOISE, mode=denoise)
    with _reference_h5(raw, dataset, missing_list, workers, out.parent, mode) as h5:
        n = write_pyskl(h5, out, dataset)
    print(f"{out}: {n} samples")


@export_app.command("npz")
def export_npz(
    store: Path = typer.Option(..., help="a sample store"),
    out: Path = typer.Option(..., help="output folder: <split>/<name>.npz and labels.csv"),
) -> None:
    """Write one npz per sample (poses (T, M, V, C), scores when present) and labels.csv."""
    from skelpipe.apps.store_exports import write_npz_store

    print(f"{out}: {write_npz_store(store, out)} samples")


@app.command("model-info")
def model_info_command(
    model: str = typer.Option(..., help="a registered model: skelpipe.models.registry"),
    dataset: str = typer.Option(..., help="ntu60, ntu120 or nw_ucla"),
    preset: str = typer.Option("paper", help="paper or cpu"),
    layout: str = typer.Option(
        "", help="another skeleton layout (e.g. coco17); default: the dataset's"
    ),
) -> None:
    """Print one JSON line: parameters and GFLOPs (2 x MACs per sample at T = 64)."""
    import json

    from skelpipe.models.info import model_info

    try:
        info = model_info(model, dataset, preset, layout or None)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        raise typer.Exit(2) from None
    print(json.dumps(info))


if __name__ == "__main__":
    app()
