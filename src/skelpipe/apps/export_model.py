"""Trained models as ONNX or TorchScript files, for serving without this package.

What is exported (inputs and outputs in eval mode, batch and time dynamic):

* a classifier: ``x`` (N, C, T, V, M) float32 -> ``logits`` (N, num_classes);
* the tokenizer's ``encoder``: ``x`` (N, C, T, V, M) -> ``indices`` (N, M, T / downsample, L)
  int64 (the GCN encoder and the quantizer's nearest-code search, as
  :meth:`SkeletonTokenizer.encode`);
* the tokenizer's ``decoder``: ``indices`` (N, M, T', L) int64 -> ``recon`` (N, C, T' *
  downsample, V, M) (the codebook lookup and the decoder, as :meth:`SkeletonTokenizer.decode`).

ONNX uses PyTorch's TorchScript-based exporter (``dynamo=False``: it needs no ``onnxscript``),
TorchScript ``torch.jit.trace``. :func:`check_export` runs the exported file (onnxruntime or
``torch.jit.load``) and returns its largest absolute difference from PyTorch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from skelpipe.models.tokenizer import SkeletonTokenizer

Format = Literal["onnx", "torchscript"]
FORMATS: tuple[str, ...] = ("onnx", "torchscript")
OPSET = 17


class ExportError(RuntimeError):
    """A model the chosen format cannot represent (the message names the model and the cause)."""


class TokenizerEncoder(nn.Module):
    """(N, C, T, V, M) -> code indices (N, M, T / downsample, L): ``SkeletonTokenizer.encode``."""

    def __init__(self, tokenizer: SkeletonTokenizer) -> None:
        super().__init__()
        self.tokenizer = tokenizer.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, M = x.shape[0], x.shape[-1]
        indices = self.tokenizer.quantizer(self.tokenizer.encoder(x)).indices  # (N*M, T', L)
        return indices.reshape(N, M, indices.shape[1], indices.shape[2])


class TokenizerDecoder(nn.Module):
    """Code indices (N, M, T', L) -> reconstruction (N, C, T' * downsample, V, M)."""

    def __init__(self, tokenizer: SkeletonTokenizer) -> None:
        super().__init__()
        self.tokenizer = tokenizer.eval()

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        N, M, Tq, L = indices.shape
        codes = self.tokenizer.quantizer.codes_from_indices(indices.reshape(N * M, Tq, L))
        y = self.tokenizer.decoder(codes)  # (N*M, C, T, V)
        return y.reshape(N, M, y.shape[1], y.shape[2], y.shape[3]).permute(0, 2, 3, 4, 1)


def tokenizer_part(tokenizer: SkeletonTokenizer, part: str) -> nn.Module:
    """The exportable ``encoder`` or ``decoder`` of a tokenizer."""
    parts = {"encoder": TokenizerEncoder, "decoder": TokenizerDecoder}
    if part not in parts:
        raise ValueError(f"unknown tokenizer part {part!r}; known: {sorted(parts)}")
    return parts[part](tokenizer)


def _axes(in_name: str, in_rank: int, out_name: str, out_rank: int) -> dict[str, dict]:
    """Dynamic axes: batch everywhere, time (axis 2 of 4-5-d inputs and outputs)."""
    out = {0: "batch", 2: "time_out"} if out_rank >= 4 else {0: "batch"}
    return {in_name: {0: "batch", 2: "time"} if in_rank >= 4 else {0: "batch"}, out_name: out}


def export(model: nn.Module, example: torch.Tensor, out: Path, fmt: Format, output: str) -> Path:
    """Write ``model`` (eval mode) traced on ``example`` to ``out`` as ``fmt``; returns ``out``.

    Raises:
        ExportError: the format cannot represent the model (unsupported op, ...).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {FORMATS}")
    model = model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    in_name = "x" if example.is_floating_point() else "indices"
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # the fused eval-mode transformer kernel (aten::_transformer_encoder_layer_fwd) has no ONNX
    # form; the unfused path computes the same function
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer / deprecation chatter, not errors
            rank = model(example).dim()
            if fmt == "onnx":
                kwargs = {"input_names": [in_name], "output_names": [output]}
                axes = _axes(in_name, example.dim(), output, rank)
                torch.onnx.export(
                    model,
                    (example,),
                    str(out),
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                    **kwargs,
                )
            else:
                torch.jit.trace(model, (example,), check_trace=False).save(str(out))
    except Exception as err:  # the exporters raise many types; all mean "cannot export"
        what = f"{type(model).__name__} cannot be exported to {fmt}"
        raise ExportError(f"{what}: {type(err).__name__}: {str(err)[:300]}") from err
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return out


def run_exported(path: Path, fmt: Format, x: torch.Tensor) -> np.ndarray:
    """Run an exported file on ``x`` (onnxruntime on CPU, or ``torch.jit.load``)."""
    if fmt == "onnx":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load: still supported
        return torch.jit.load(str(path)).eval()(x).numpy()


def check_export(model: nn.Module, path: Path, fmt: Format, x: torch.Tensor) -> float:
    """Largest absolute difference between the exported file and ``model`` on ``x``."""
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    got = run_exported(path, fmt, x)
    if got.shape != expected.shape:
        raise ExportError(f"{path}: output shape {got.shape}, PyTorch gives {expected.shape}")
    return float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)), initial=0))


def classifier_example(net: nn.Module, window: int, seed: int = 0) -> torch.Tensor:
    """A seeded input for tracing and checking a model: (1, C, window, V, M) or token ids."""
    gen = torch.Generator().manual_seed(seed)
    cfg = net.cfg
    if hasattr(cfg, "codebook_sizes"):  # the token stream: ids (1, M, window, L)
        top = min(cfg.codebook_sizes)
        return torch.randint(
            0, top, (1, cfg.persons, window, len(cfg.codebook_sizes)), generator=gen
        )
    from skelpipe.skeleton import get_layout

    layout = get_layout(cfg.layout)
    shape = (1, cfg.in_channels, window, layout.num_joints, layout.max_persons)
    return 0.3 * torch.randn(shape, generator=gen)
