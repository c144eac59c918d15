"""Same bytes on another CPU: the stages run twice, the second time as on an older machine.

"Another CPU" is emulated on this one: numpy without its AVX2 / AVX-512 loops
(``NPY_DISABLE_CPU_FEATURES``), OpenBLAS with another core's kernels (``OPENBLAS_CORETYPE``),
numba for a generic x86-64, and for torch the kernels of the default ISA, oneDNN limited to
SSE4.1 and MKL on its AVX branch. The data stages must not care at all; the training stage runs
in the reproducible mode, whose launcher pins the torch side whatever the machine (AVX2 kernels,
MKL's compatible branch, oneDNN and NNPACK off).
The second run also uses two worker processes in every data stage (a ``workers`` count is not a
tracked param: it must not change a byte).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import OLDER_CPU, ROOT, TINY_SYNTH, TINY_TRAIN

CHAIN = [
    ("synth", {"out": "raw"}),
    ("parse", {"raw": "raw", "out": "parse"}),
    ("denoise", {"parsed": "parse", "out": "denoise"}),
    ("align", {"denoised": "denoise", "out": "align"}),
    ("shard", {"aligned": "align", "out": "store.zarr", "rejected": "rejected.csv"}),
]
pytestmark = pytest.mark.slow


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.rglob("*"))
        if f.is_file() and f.name != "params.yaml" and not {"ckpt", "live"} & set(f.parts)
    }


def _run_all(work: Path, env: dict[str, str], workers: int) -> dict[str, str]:
    doc = yaml.safe_load((ROOT / "params.yaml").read_text())
    doc["synth"].update(TINY_SYNTH)
    for section in ("synth", "parse", "denoise", "align"):
        doc[section]["workers"] = workers
    doc["train"].update(TINY_TRAIN, epochs=2)
    assert doc["train"]["reproducible"] is True
    params = work / "params.yaml"
    work.mkdir(parents=True)
    params.write_text(yaml.safe_dump(doc, sort_keys=False))
    py = [sys.executable, "-m"]
    for name, paths in CHAIN:
        args = [f"--{k}={work / v}" for k, v in paths.items()]
        cmd = [*py, f"stages.{name}", f"--params={params}", *args, f"--metrics={work / name}.json"]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    train = {
        "--model": "ctrgcn",
        "--stream": "bone",
        "--store": work / "store.zarr",
        "--out": work / "model",
        "--checkpoint": work / "ckpt",
        "--live": work / "live",
        "--plots": work / "plots",
        "--metrics": work / "train.json",
    }
    launch = [*py, "stages.launch", f"--params={params}", "--section=train", "stages.train"]
    cmd = [*launch, f"--params={params}", *(f"{k}={v}" for k, v in train.items())]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return _digest(work)


def test_every_output_is_byte_identical_on_an_emulated_older_cpu(tmp_path) -> None:
    here = _run_all(tmp_path / "here", {**os.environ, "CI": "true"}, workers=1)
    older = _run_all(tmp_path / "older", {**os.environ, "CI": "true", **OLDER_CPU}, workers=2)
    assert any(k.startswith("store.zarr/") for k in here) and "model/model.pt" in here
    differ = sorted(k for k in here if here[k] != older.get(k)) + sorted(set(older) - set(here))
    assert not differ, f"outputs that depend on the CPU or the worker count: {differ}"
    metrics = json.loads((tmp_path / "older" / "train.json").read_text())
    assert metrics["reproducible"] is True and metrics["cpu_capability"] == "AVX2"
