"""ONNX (onnxruntime) and TorchScript exports equal PyTorch within 1e-4, at the traced shape and
at another batch size and length (dynamic axes); the CLI exports trained-output folders."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from skelpipe.apps.export_model import ExportError, check_export, export, tokenizer_part
from skelpipe.cli.main import app
from skelpipe.models import build_model
from skelpipe.models.tokenizer import SkeletonTokenizer, TokenizerConfig
from tests.helpers import NTU_PARAMS, trained_outputs

TOL = 1e-4


pytestmark = pytest.mark.usefixtures("single_thread")


def _tokenizer(quantizer: str, backbone: str = "gcn") -> SkeletonTokenizer:
    """A tiny tokenizer with k-means codebooks and BatchNorm / data statistics from one
    training batch, and random (not zero-initialised) output layers: a non-trivial function."""
    torch.manual_seed(0)
    small = {"width": 8, "latent_dim": 16, "latent_blocks": 1, "decoder_blocks": 1}
    small.update(codebook_size=16, backbone=backbone, token_mlp=16 if backbone == "conv1d" else 0)
    levels = 2 if quantizer == "rvq" else 1
    cfg = TokenizerConfig("ntu25", persons=2, quantizer=quantizer, levels=levels, **small)
    tok = SkeletonTokenizer(cfg).train()
    tok(0.3 * torch.randn(4, 3, 16, 25, 2))
    last = (
        [tok.decoder.token_out[-1]]
        if backbone == "conv1d"
        else [tok.decoder.head, tok.decoder.direct]
    )
    with torch.no_grad():
        for layer in last:
            layer.weight.normal_(0, 0.1)
    return tok.eval()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_ctrgcn_export_matches_pytorch(tmp_path, fmt) -> None:
    torch.manual_seed(0)
    net = build_model("ctrgcn", "ntu60", "cpu").eval()
    x = 0.3 * torch.randn(2, 3, 16, 25, 2)
    path = export(net, x, tmp_path / f"ctrgcn.{fmt}", fmt, "logits")
    assert check_export(net, path, fmt, x) < TOL
    other = 0.3 * torch.randn(1, 3, 24, 25, 2)  # another batch size and length
    assert check_export(net, path, fmt, other) < TOL


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize(
    ("quantizer", "backbone"), [("rvq", "gcn"), ("dvae", "gcn"), ("rvq", "conv1d")], ids=str
)
def test_tokenizer_encoder_decoder_exports_match_pytorch(tmp_path, fmt, quantizer, backbone):
    tok = _tokenizer(quantizer, backbone)
    enc, dec = tokenizer_part(tok, "encoder"), tokenizer_part(tok, "decoder")
    x, other = 0.3 * torch.randn(2, 3, 16, 25, 2), 0.3 * torch.randn(1, 3, 24, 25, 2)
    with torch.no_grad():
        idx, idx_other = enc(x), enc(other)
        assert torch.equal(idx, tok.encode(x))  # the wrapper is SkeletonTokenizer.encode ...
        assert torch.equal(dec(idx), tok.decode(idx, 16))  # ... and .decode
        assert idx.unique().numel() > 1 and dec(idx).abs().max() > 0.01  # not a trivial map
    e = export(enc, x, tmp_path / f"enc.{fmt}", fmt, "indices")
    d = export(dec, idx, tmp_path / f"dec.{fmt}", fmt, "recon")
    assert check_export(enc, e, fmt, x) == 0.0 == check_export(enc, e, fmt, other)
    assert check_export(dec, d, fmt, idx) < TOL and check_export(dec, d, fmt, idx_other) < TOL


def test_unexportable_model_gives_a_clear_error(tmp_path) -> None:
    class Spectrum(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.linalg.svd(x)[1]  # no ONNX form in opset 17

    with pytest.raises(ExportError, match="Spectrum cannot be exported to onnx: Unsupported"):
        export(Spectrum(), torch.randn(4, 4), tmp_path / "x.onnx", "onnx", "y")


def test_cli_exports_trained_output_folders(tmp_path) -> None:
    paths = trained_outputs(tmp_path, "ntu60", {"ctrgcn-joint": 1.0, "tokens": 1.0})
    tok_dir = paths["--tokenizer"]
    common = ["--tokenizer", str(tok_dir), "--params", str(NTU_PARAMS)]
    for folder, fmt, files in (
        (paths["--model"] / "ctrgcn-joint", "onnx", ["model.onnx"]),
        (paths["--model"] / "tokens", "onnx", ["model.onnx"]),
        (tok_dir, "torchscript", ["encoder.pt", "decoder.pt"]),
    ):
        out = tmp_path / "exports" / f"{folder.name}-{fmt}"
        args = ["export-model", str(folder), "--format", fmt, "--out", str(out), *common]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in out.iterdir()) == sorted(files)
        assert result.stdout.count(f"max |{fmt} - PyTorch|") == len(files)
    for args, message in (
        ([str(tmp_path / "nowhere"), "--format", "onnx"], "cannot load a trained model"),
        ([str(tok_dir), "--format", "tflite"], "--format must be one of"),
    ):
        result = CliRunner().invoke(app, ["export-model", *args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 1 and message in result.stderr, result.output
