"""``skelpipe show``: draw a sample as a PNG strip, from a raw file or from the store by name."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import typer

from skelpipe.io.nw_ucla import read_ucla_sample
from skelpipe.io.raw_sources import Rejected, list_raw_files
from skelpipe.preprocess.chain import process_file
from skelpipe.preprocess.denoise import REFERENCE_DENOISE
from skelpipe.skeleton import Layout, get_layout


def load_sample(sample: str, store: Path) -> tuple[str, np.ndarray, Layout]:
    """(name, joints (T, M, V, 3), layout) of a .skeleton / .json file or a store sample name."""
    path = Path(sample)
    if path.suffix == ".json" and path.is_file():
        got = read_ucla_sample(path)
        if isinstance(got, Rejected):
            _fail(got.message())
        return got[0], got[1], get_layout("ucla20")
    if path.is_file():
        try:
            files, bad, _ = list_raw_files([path])
        except FileNotFoundError as err:
            _fail(str(err))
        got = bad[0] if bad else process_file(files[0], REFERENCE_DENOISE)
        if isinstance(got, Rejected):
            _fail(got.message())
        return got.name, got.joints, get_layout("ntu25")
    from skelpipe.store.reader import SampleStore

    if not store.exists():
        _fail(f"{sample}: no such file, and no store at {store} to look the name up")
    try:
        s = SampleStore(store)
    except Exception as err:  # zarr raises several types for a folder that is not a store
        _fail(f"{store}: not a sample store ({type(err).__name__})")
    if sample not in s.index_of:
        _fail(f"{sample}: not a file and not a sample of {store}")
    return sample, s.sample(s.index_of[sample]), get_layout(s.attrs["layout"])


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def show(
    sample: str = typer.Argument(..., help=".skeleton / NW-UCLA .json file, or a store name"),
    out: Path = typer.Option(None, help="PNG to write (default: <name>.png)"),
    store: Path = typer.Option(Path("data/store.zarr"), help="store for names"),
    frames: int = typer.Option(8, help="frames across the strip"),
    compare: Path = typer.Option(None, help="tokenizer folder: add its reconstruction below"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    """Draw every actor of a few frames (bones from skeleton.py); --compare adds the tokenizer's
    reconstruction under the original."""
    from skelpipe.apps.viz import save_strips

    name, joints, layout = load_sample(sample, store)
    rows, titles, styles = [joints], [name], ["-"]
    if compare is not None:
        rows.append(_reconstruct(joints, layout, compare, params_file))
        titles.append("reconstruction")
        styles.append("--")
    out = out or Path(f"{name}.png")
    save_strips(out, rows, titles, layout, frames, styles)
    print(out)


def _reconstruct(joints: np.ndarray, layout: Layout, folder: Path, params_file: Path):
    from skelpipe.params import TokenizerParams
    from skelpipe.tokenizer.io import TokenizerLoadError, load_tokenizer
    from skelpipe.tokenizer.train import tokenize_sample
    from stages._common import load_params

    p = load_params(TokenizerParams, "tokenizer", params_file)
    try:
        net = load_tokenizer(folder)
    except TokenizerLoadError as err:
        _fail(str(err))
    if net.cfg.layout != layout.name:
        _fail(f"{folder} tokenizes {net.cfg.layout} skeletons, the sample is {layout.name}")
    return tokenize_sample(net, joints, p)[1]
