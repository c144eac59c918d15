"""Crash safety: a stage SIGKILLed mid-write leaves the previous complete output or none, and a
rerun is byte-identical to an uninterrupted run (same params twice -> identical files)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, TINY_SYNTH

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="SIGKILL needs POSIX"),
]
ENV = {**os.environ, "CI": "true", "PYTHONHASHSEED": "0"}


def _stage(name: str, params: Path, **paths: Path) -> list[str]:
    args = [f"--{k.replace('_', '-')}={v}" for k, v in paths.items()]
    return [sys.executable, "-m", f"stages.{name}", f"--params={params}", *args]


@pytest.fixture(scope="module")
def aligned(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny synthetic set through synth -> parse -> denoise -> align; (params, align dir)."""
    d = tmp_path_factory.mktemp("crash")
    doc = yaml.safe_load((ROOT / "params.yaml").read_text())
    doc["synth"].update(TINY_SYNTH)
    for section in ("synth", "parse", "denoise", "align"):
        doc[section]["workers"] = 1
    doc["shard"].update(shard_frames=512, chunk_frames=64)  # many small files: a long write
    params = d / "params.yaml"
    params.write_text(yaml.safe_dump(doc, sort_keys=False))
    chain = [
        ("synth", {"out": d / "raw"}),
        ("parse", {"raw": d / "raw", "out": d / "parse"}),
        ("denoise", {"parsed": d / "parse", "out": d / "denoise"}),
        ("align", {"denoised": d / "denoise", "out": d / "align"}),
    ]
    for name, paths in chain:
        cmd = _stage(name, params, **paths, metrics=d / f"{name}.json")
        subprocess.run(cmd, cwd=ROOT, env=ENV, check=True, capture_output=True)
    return params, d / "align"


def _shard(params: Path, aligned: Path, out: Path) -> list[str]:
    return _stage(
        "shard",
        params,
        aligned=aligned,
        out=out / "store.zarr",
        rejected=out / "rejected.csv",
        metrics=out / "metrics.json",
    )


def _digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (temporaries included) -> sha256."""
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def _kill_once_writing(cmd: list[str], tmp_dir: Path) -> None:
    """Start ``cmd``; SIGKILL it as soon as ``tmp_dir`` holds a file (the store mid-write)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (tmp_dir.is_dir() and any(p.is_file() for p in tmp_dir.rglob("*"))):
        assert proc.poll() is None, "the stage ended before it wrote anything we could see"
        assert time.monotonic() < deadline, "the stage never started writing"
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_shard_killed_mid_write_leaves_no_complete_looking_output(aligned, tmp_path) -> None:
    params, align_dir = aligned
    whole = tmp_path / "whole"
    subprocess.run(_shard(params, align_dir, whole), cwd=ROOT, env=ENV, check=True)
    expected = _digest(whole)
    assert any(k.startswith("store.zarr/") for k in expected) and "metrics.json" in expected

    run = tmp_path / "run"
    _kill_once_writing(_shard(params, align_dir, run), run / ".store.zarr.tmp")
    # nothing under a final name: neither DVC nor the next stage can take it for an output
    assert not (run / "store.zarr").exists()
    assert not (run / "metrics.json").exists() and not (run / "rejected.csv").exists()

    subprocess.run(_shard(params, align_dir, run), cwd=ROOT, env=ENV, check=True)
    assert _digest(run) == expected  # byte-identical, no temporaries left

    # killed again while replacing a complete store: the old store stays whole
    _kill_once_writing(_shard(params, align_dir, run), run / ".store.zarr.tmp")
    finals = {k: v for k, v in _digest(run).items() if not k.startswith(".")}
    assert finals == expected
    subprocess.run(_shard(params, align_dir, run), cwd=ROOT, env=ENV, check=True)
    assert _digest(run) == expected
