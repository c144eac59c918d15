"""Shared fixtures: the read-only reference data in ``../shared/data`` and the reference params."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from skelpipe.params import DenoiseParams
from skelpipe.preprocess.denoise import REFERENCE_DENOISE

# tests/conftest.py -> repo root -> its parent holds shared/ (never copied into the project)
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repo; skipped locally when absent, a failure on CI."""
    if not SHARED_DATA.is_dir():
        msg = f"../shared not present: {SHARED_DATA} is missing"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture
def single_thread():
    """Torch on one thread for the test (tiny models; immune to a busy machine)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _denoise_params(mode: str) -> DenoiseParams:
    return dataclasses.replace(REFERENCE_DENOISE, mode=mode, on_error="fail")


@pytest.fixture(scope="session")
def reference_denoise_params() -> DenoiseParams:
    return _denoise_params("reference")


@pytest.fixture(scope="session")
def fixed_denoise_params() -> DenoiseParams:
    return _denoise_params("fixed")
