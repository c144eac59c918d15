"""``skelpipe export-model``: a trained classifier or tokenizer as ONNX / TorchScript, checked."""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from skelpipe.apps.export_model import (
    FORMATS,
    ExportError,
    check_export,
    classifier_example,
    export,
    tokenizer_part,
)
from skelpipe.apps.predict import EnsemblePredictor, PredictError
from skelpipe.cli._pipeline_params import pipeline_params
from stages._common import fail

TOLERANCE = 1e-4  # max |exported - PyTorch| accepted on the check input


def export_model(
    model: Path = typer.Argument(
        ...,
        help="a train output (models/ntu/ctrgcn-joint, .../tokens) "
        "or a train_tokenizer output (models/tokenizer/ntu)",
    ),
    fmt: str = typer.Option(..., "--format", help="onnx or torchscript"),
    out: Path = typer.Option(..., help="folder: model.<ext>, or encoder.<ext> + decoder.<ext>"),
    tokenizer: Path = typer.Option(None, help="the tokenizer of a tokens model (paths.tokenizer)"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    """Export for serving; the file is run (onnxruntime / torch.jit) and compared with PyTorch."""
    from skelpipe.tokenizer.io import TokenizerLoadError, load_tokenizer

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    torch.set_num_threads(1)
    p, paths = pipeline_params(params_file)
    ext = "onnx" if fmt == "onnx" else "pt"
    jobs = []
    try:
        if (model / "config.json").exists():
            tok = load_tokenizer(model)
            frames = p.tokenizer.window if p.tokenizer else 32
            window = -(-frames // tok.cfg.downsample) * tok.cfg.downsample
            enc, dec = tokenizer_part(tok, "encoder"), tokenizer_part(tok, "decoder")
            x = classifier_example(tok, window)
            jobs = [(enc, x, "encoder", "indices"), (dec, enc(x), "decoder", "recon")]
        else:
            tok_dir = tokenizer or Path(paths.get("tokenizer", ""))
            net = EnsemblePredictor(model.parent, {model.name: 1.0}, p, tok_dir).nets[model.name]
            window = p.token_stream.window if model.name == "tokens" else p.train.window
            jobs = [(net, classifier_example(net, window), "model", "logits")]
    except (PredictError, TokenizerLoadError, OSError, ValueError, KeyError, RuntimeError) as err:
        fail(f"{model}: cannot load a trained model ({err})")
    for module, x, stem, output in jobs:
        try:
            path = export(module, x, out / f"{stem}.{ext}", fmt, output)
            diff = check_export(module, path, fmt, x)
        except ExportError as err:
            fail(str(err))
        print(f"{path}: max |{fmt} - PyTorch| = {diff:.2e}")
        if diff > TOLERANCE:
            fail(f"{path}: differs from PyTorch by {diff:.2e} (> {TOLERANCE})")
