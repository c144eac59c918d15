"""Shared set-up of the model tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _cpu_runtime():
    """One thread (the tensors are tiny; immune to a busy machine); denormals flushed, or a few
    steps of the tiny models take seconds each."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)
    torch.set_num_threads(previous)


@pytest.fixture
def exports_match(tmp_path):
    """``exports_match(model, fmt, x, other, tol=1e-4)``: export ``model`` traced on ``x`` as
    ``fmt`` and require the file to match PyTorch within ``tol`` on ``x`` and on ``other``
    (another batch size and length)."""
    from skelpipe.apps.export_model import check_export, export

    def check(model, fmt: str, x: torch.Tensor, other: torch.Tensor, tol: float = 1e-4) -> None:
        path = export(model, x, tmp_path / f"model.{fmt}", fmt, "logits")
        assert check_export(model, path, fmt, x) < tol
        assert check_export(model, path, fmt, other) < tol

    return check
