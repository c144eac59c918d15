"""The reproducible mode runs no kernel whose sums depend on the CPU vendor or its caches.

A fresh interpreter gets the launcher's environment, configures the runtime as a training stage
does, then profiles one CTR-GCN step and one tokenizer step: no oneDNN (``mkldnn``) and no NNPACK
operator may appear, and the metrics must say which MKL branch ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from skelpipe.reproducible import ReproducibleModeError, env_mismatches, reproducible_env
from tests.helpers import ROOT

PROBE = """
import json, torch
from torch.profiler import profile, ProfilerActivity
from skelpipe.models import build_model
from skelpipe.training.runtime import configure_cpu_runtime, runtime_metrics
configure_cpu_runtime(2, reproducible={reproducible})
torch.manual_seed(0)
net = build_model("ctrgcn", "ntu60", "cpu")
conv1d = torch.nn.Sequential(torch.nn.Conv1d(6, 16, 3, padding=1), torch.nn.Conv1d(16, 4, 1))
with profile(activities=[ProfilerActivity.CPU]) as prof:
    x = torch.randn(16, 3, 16, 25, 2)  # batch 16: the size at which NNPACK takes over
    net(x).sum().backward()
    conv1d(torch.randn(16, 6, 32)).sum().backward()
ops = sorted({{e.key for e in prof.key_averages()}})
print(json.dumps({{"ops": ops, "metrics": runtime_metrics({reproducible})}}))
"""


def _probe(reproducible: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    if reproducible:
        env.update(reproducible_env(2))
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(reproducible=reproducible)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _vendor_dependent(ops: list[str]) -> list[str]:
    return [op for op in ops if "mkldnn" in op or "nnpack" in op]


def test_reproducible_mode_runs_no_onednn_or_nnpack_kernel() -> None:
    seen = _probe(reproducible=True)
    assert _vendor_dependent(seen["ops"]) == []
    assert any("conv" in op for op in seen["ops"])  # the convolutions did run, on ATen's path
    metrics = seen["metrics"]
    assert metrics["mkl_cbwr"] == "COMPATIBLE,STRICT"
    assert metrics["onednn"] is False and metrics["nnpack"] is False
    assert metrics["cpu_capability"] == "AVX2"
    assert metrics["deterministic_algorithms"] is True


def test_probe_sees_onednn_when_the_mode_is_off() -> None:
    """The probe above can fail: without the mode this machine's torch runs oneDNN or NNPACK."""
    import torch

    if not (torch.backends.mkldnn.is_available() or torch.backends.nnpack.is_available()):
        pytest.skip("this torch build has neither oneDNN nor NNPACK")
    seen = _probe(reproducible=False)
    assert _vendor_dependent(seen["ops"]) != []
    assert seen["metrics"]["onednn"] is True


def test_mode_refuses_an_unpinned_environment() -> None:
    env = dict(reproducible_env(2))
    env["MKL_CBWR"] = "AVX2,STRICT"  # Intel-only branch: AMD would run another one
    assert env_mismatches(env, 2) == ["MKL_CBWR=AVX2,STRICT (expected COMPATIBLE,STRICT)"]
    with pytest.raises(ReproducibleModeError):
        reproducible_env(0)
