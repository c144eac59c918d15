"""The train stage, SIGKILLed mid-epoch, resumes and ends exactly (byte for byte) as an
uninterrupted run."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from skelpipe.classify.ensemble import load_scores
from tests.helpers import ROOT, TRAIN_PARAMS, build_store, make_sequences, train_stage_cmd

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="SIGKILL needs POSIX"),
]


@pytest.fixture(scope="module")
def stage_inputs(tmp_path_factory) -> tuple[Path, Path]:
    path = tmp_path_factory.mktemp("kill")
    build_store(path, make_sequences(n=96, seed=7))
    p = dataclasses.replace(TRAIN_PARAMS, models=("ctrgcn",), epochs=3, eval_every=1, compile=False)
    params = path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": dataclasses.asdict(p)}, sort_keys=False))
    return path / "store.zarr", params


def _epochs_done(ckpt: Path) -> int:
    try:
        return int(torch.load(ckpt, map_location="cpu", weights_only=True)["epoch"])
    except (FileNotFoundError, RuntimeError, EOFError, KeyError):
        return 0


def test_sigkill_mid_epoch_then_rerun_equals_uninterrupted(stage_inputs, tmp_path) -> None:
    store, params = stage_inputs
    env = {**os.environ, "CI": "true"}
    whole = tmp_path / "whole"
    subprocess.run(
        train_stage_cmd(store, params, whole), cwd=ROOT, env=env, check=True, capture_output=True
    )

    killed = tmp_path / "killed"
    proc = subprocess.Popen(train_stage_cmd(store, params, killed), cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while _epochs_done(killed / "ckpt" / "last.pt") < 1 and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.05)
    time.sleep(0.3)  # into epoch 2
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "out").exists() and not (killed / "metrics.json").exists()

    subprocess.run(
        train_stage_cmd(store, params, killed), cwd=ROOT, env=env, check=True, capture_output=True
    )
    # same params twice (one of them interrupted) -> byte-identical metrics and plot data
    for rel in ("metrics.json", "plots/confusion.csv", "out/per_class.csv"):
        assert (killed / rel).read_bytes() == (whole / rel).read_bytes(), rel
    assert json.loads((killed / "metrics.json").read_text())["epochs"] == 3
    assert not [f for f in killed.rglob(".*tmp*")], "temporaries left behind"
    for part in ("val", "test"):
        a, b = (load_scores(r / "out" / f"scores_{part}.npz") for r in (whole, killed))
        np.testing.assert_array_equal(a.names, b.names)
        np.testing.assert_array_equal(a.scores, b.scores)
    ma, mb = (torch.load(r / "out" / "model.pt", weights_only=True) for r in (whole, killed))
    for k in ma:
        torch.testing.assert_close(ma[k], mb[k], rtol=0, atol=0)
