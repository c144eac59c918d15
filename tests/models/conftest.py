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
