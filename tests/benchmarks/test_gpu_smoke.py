"""``benchmarks/gpu_smoke.py``: skips cleanly without CUDA; its loop runs on the CPU (dry run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from tests.helpers import ROOT

SCRIPT = ROOT / "benchmarks" / "gpu_smoke.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _run(*args: str) -> tuple[int, list[dict]]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=ENV, capture_output=True, text=True
    )
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: the script runs for real")
def test_without_cuda_it_says_why_and_exits_0() -> None:
    rc, rows = _run("--models", "stgcn")
    assert rc == 0 and rows[0]["skipped"] is True and "CUDA" in rows[0]["reason"]


def test_cpu_dry_run_trains_and_checks_the_loss() -> None:
    rc, rows = _run("--cpu-dry-run", "--models", "stgcnpp", "--epochs", "4", "--samples", "32",
                    "--batch", "8", "--fall", "0.97")  # fmt: skip
    row = rows[0]
    assert row["model"] == "stgcnpp" and row["steps"] == 16 and row["samples_per_s"] > 0
    assert row["last_loss"] < 0.97 * row["first_loss"] and row["ok"] is True
    assert rc == 0 and rows[-1] == {"failed": []}
    rc, rows = _run("--cpu-dry-run", "--models", "stgcnpp", "--epochs", "2", "--samples", "16",
                    "--batch", "8", "--fall", "0.0")  # fmt: skip
    assert rc == 1 and rows[-1] == {"failed": ["stgcnpp"]}  # an impossible fall fails
    rc, _ = _run("--models", "nope")
    assert rc == 2
