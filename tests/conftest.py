"""Shared fixtures: the read-only reference data in ``../shared/data`` and the reference params."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skelpipe.params import DenoiseParams

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
    # get_raw_denoised_data.py: noise_len_thres, noise_spr_thres1, noise_spr_thres2
    return DenoiseParams(
        mode=mode,
        length_threshold=11,
        spread_ratio=0.8,
        spread_drop_ratio=0.69754,
        on_error="fail",
        workers=1,
    )


@pytest.fixture(scope="session")
def reference_denoise_params() -> DenoiseParams:
    return _denoise_params("reference")


@pytest.fixture(scope="session")
def fixed_denoise_params() -> DenoiseParams:
    return _denoise_params("fixed")
