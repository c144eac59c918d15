"""End to end: `dvc repro` on a copy of the repository with a tiny synthetic set.

Checks the DVC contract of the data half: everything runs, a second `dvc repro` runs nothing, and
changing an `align` param reruns only `align` and what follows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from skelpipe.store.reader import SampleStore
from tests.helpers import copy_repository, readme_commands

pytestmark = pytest.mark.slow
DATA_STAGES = {"synth", "parse", "denoise", "align", "shard"}
TOKEN_STAGES = {"train_tokenizer", "evaluate_tokenizer", "tokenize", "train_tokens"}
TRAIN_STAGES = {"train@ctrgcn-joint", "train@ctrgcn-bone", "ensemble"} | TOKEN_STAGES


def _run(cmd: list[str], cwd: Path, with_stderr: bool = True) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr if with_stderr else proc.stdout


def _dvc(cwd: Path, *args: str, with_stderr: bool = True) -> str:
    return _run([sys.executable, "-m", "dvc", *args], cwd, with_stderr)


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git + DVC copy of this repository's files, with the tiny params."""
    return copy_repository(tmp_path_factory.mktemp("pipeline") / "repo")


def test_repro_then_noop_then_partial(repo: Path) -> None:
    first = _dvc(repo, "repro")
    assert _ran(first) == DATA_STAGES | TRAIN_STAGES, first
    store = SampleStore(repo / "data" / "store.zarr")
    expected = 10 * 4 * 3 * 2  # subjects x actions x cameras x replications
    rejected = (repo / "data" / "parse" / "rejected.csv").read_text().count("\n") - 1
    assert len(store) == expected - rejected > 0
    assert len(store.split("ntu60_xsub", "test")) > 0 and len(store.split("ntu60_xview", "val")) > 0

    second = _dvc(repo, "repro")
    assert _ran(second) == set(), second
    assert "up to date" in _dvc(repo, "status", "dvc.yaml")

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["align"]["ground"] = True
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = _dvc(repo, "repro")
    assert _ran(third) == {"align", "shard"} | TRAIN_STAGES, third
    tokens = json.loads((repo / "metrics" / "tokenize.json").read_text())
    assert tokens["n_samples"] == len(store)
    assert (repo / "plots" / "tokenizer" / "reconstruction.png").read_bytes()[:4] == b"\x89PNG"
    assert "align" in _dvc(repo, "metrics", "show")


def test_status_without_target_covers_the_nw_ucla_pipeline(repo: Path) -> None:
    """`dvc status` collects every dvc.yaml: the NW-UCLA stages (never run in this copy, raw
    folder outside the repository) are reported, the reproduced default pipeline is not."""
    _dvc(repo, "repro")
    status = json.loads(_dvc(repo, "status", "--json", with_stderr=False))
    ucla = yaml.safe_load((repo / "pipelines" / "nw_ucla" / "dvc.yaml").read_text())["stages"]
    assert {f"pipelines/nw_ucla/dvc.yaml:{s}" for s in ("ingest", "align", "shard")} <= set(status)
    assert len([k for k in status if k.startswith("pipelines/nw_ucla/")]) >= len(ucla)
    assert not set(status) & (DATA_STAGES | TRAIN_STAGES), status


def test_readme_dvc_commands_run(repo: Path) -> None:
    """The README's DVC workflow block, verbatim, on the reproduced copy; `dvc exp run` without
    --queue is the expensive one (a rerun of align onwards) and is exercised by the tests above."""

    _dvc(repo, "repro")
    commands = readme_commands("dvc")
    assert {"dvc status", "dvc exp show", "dvc metrics diff", "dvc plots diff"} <= set(commands)
    for line in commands:
        args = shlex.split(line)
        assert args[0] == "dvc", line
        if args[1:3] == ["exp", "run"] and "--queue" not in args:
            continue
        _dvc(repo, *args[1:])
    queued = _dvc(repo, "queue", "status")
    assert queued.count("Queued") == sum("--queue" in c for c in commands), queued
    _dvc(repo, "queue", "remove", "--queued")


def test_ensemble_weights_rerun_only_the_ensemble(repo: Path) -> None:
    _dvc(repo, "repro")
    out = _dvc(repo, "exp", "run", "-S", "ensemble.weights=[1.0,0.0,0.0]")
    assert _ran(out) == {"ensemble"}, out
    metrics = json.loads((repo / "metrics" / "ensemble.json").read_text())
    assert metrics["ensemble_test_top1"] == metrics["ctrgcn_joint_test_top1"]  # one-hot weights
    diff = _dvc(repo, "metrics", "diff")
    assert "ensemble_test_top1" in diff or "weight_ctrgcn_bone" in diff


def test_plots_show_draws_training_curves_and_confusion(repo: Path) -> None:
    _dvc(repo, "repro")
    members = ("ctrgcn-joint", "ctrgcn-bone")
    curves = [f"dvclive/train/{m}/plots/metrics" for m in members]
    matrices = [f"plots/train/{m}/confusion.csv" for m in members]
    out = _dvc(repo, "plots", "show", "--json", "--split", *curves, *matrices, with_stderr=False)
    shown = json.loads(out)
    assert not shown.get("errors"), shown.get("errors")

    def points(plot_id: str) -> list[dict]:
        (plot,) = shown["data"][plot_id]
        return plot["anchor_definitions"]["<DVC_METRIC_DATA>"]

    for folder, matrix in zip(curves, matrices, strict=True):
        for curve in ("train_loss", "lr", "val_top1"):
            rows = points(f"{folder}/{curve}.tsv")
            assert rows and all({"step", curve} <= set(r) for r in rows), (curve, rows)
        pairs = points(matrix)
        assert pairs and all({"actual", "predicted"} <= set(p) for p in pairs)


def _digests(repo: Path, outs: list[str]) -> dict[str, str]:
    files = {}
    for out in outs:
        path = repo / out
        for f in sorted([path] if path.is_file() else path.rglob("*")):
            if f.is_file():
                files[str(f.relative_to(repo))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return files


@pytest.fixture
def s3_remote(monkeypatch) -> Iterator[str]:
    """A real S3-compatible server (moto) on loopback with an empty bucket; yields its URL."""
    boto3 = pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="skelpipe-cache")
    yield url
    server.stop()


def test_shared_cache_push_clone_pull_reproduces_nothing(
    repo: Path, s3_remote: str, tmp_path
) -> None:
    _dvc(repo, "repro")
    _dvc(repo, "remote", "add", "-d", "-f", "shared", "s3://skelpipe-cache/skelpipe")
    _dvc(repo, "remote", "modify", "shared", "endpointurl", s3_remote)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    _run([*git, "add", "-A"], repo)
    _run([*git, "commit", "-qm", "results + shared remote"], repo)
    assert "up to date" in _dvc(repo, "status", "dvc.yaml")
    _dvc(repo, "push", "--run-cache")

    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    assert not (clone / "data" / "store.zarr").exists()
    _dvc(clone, "pull", "--run-cache", "dvc.yaml")  # the default pipeline
    out = _dvc(clone, "repro", "--pull", "dvc.yaml")
    assert _ran(out) == set(), out  # outputs come from the remote and the run cache, not a rerun
    assert "up to date" in _dvc(clone, "status", "dvc.yaml")
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    outs = sorted({o["path"] for stage in lock.values() for o in stage.get("outs", [])})
    assert {"data/store.zarr", "models/ntu/ctrgcn-joint", "models/tokenizer/ntu"} <= set(outs)
    assert _digests(clone, outs) == _digests(repo, outs)


def test_queued_sweep_runs_two_experiments_with_two_workers(repo: Path) -> None:
    _dvc(repo, "repro")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    _run([*git, "add", "-A"], repo)
    _run([*git, "commit", "-qm", "baseline", "--allow-empty"], repo)
    sweep = {"joint-only": [1.0, 0.0, 0.0], "bone-only": [0.0, 1.0, 0.0]}
    for name, weights in sweep.items():
        _dvc(repo, "exp", "run", "--queue", "-n", name, "-S", f"ensemble.weights={weights}")
    _dvc(repo, "queue", "start", "-j", "2")
    deadline = time.monotonic() + 540
    while re.search(r"\b(Queued|Running)\b", status := _dvc(repo, "queue", "status")):
        assert time.monotonic() < deadline, status
        time.sleep(2)
    assert status.count("Success") == 2, status
    refs = _run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], repo).split()
    for name, stream in (("joint-only", "ctrgcn_joint"), ("bone-only", "ctrgcn_bone")):
        (ref,) = [r for r in refs if r.endswith(f"/{name}")]  # each experiment is a git commit
        shown = _run(["git", "show", f"{ref}:metrics/ensemble.json"], repo, with_stderr=False)
        metrics = json.loads(shown)
        assert metrics["ensemble_test_top1"] == metrics[f"{stream}_test_top1"], (name, metrics)
    _dvc(repo, "queue", "stop")


def test_quantizer_experiment_reruns_the_token_chain_and_diffs(repo: Path) -> None:
    """`dvc exp run -S tokenizer.quantizer=dvae`, then `dvc metrics diff` compares quantizers."""
    _dvc(repo, "repro")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    _run([*git, "add", "-A"], repo)
    _run([*git, "commit", "-qm", "baseline: rvq", "--allow-empty"], repo)  # diff against HEAD
    before = json.loads((repo / "metrics" / "tokenizer.json").read_text())
    out = _dvc(repo, "exp", "run", "-S", "tokenizer.quantizer=dvae")
    assert _ran(out) == TOKEN_STAGES | {"ensemble"}, out
    after = json.loads((repo / "metrics" / "tokenizer.json").read_text())
    assert (before["quantizer"], after["quantizer"]) == ("rvq", "dvae")
    assert after["bits_per_frame"] < before["bits_per_frame"]  # one level instead of two
    diff = json.loads(_dvc(repo, "metrics", "diff", "--json", with_stderr=False))
    changed = diff["metrics/tokenizer.json"]
    assert changed["test_mpjpe_mm"]["old"] == before["test_mpjpe_mm"]
    assert changed["test_mpjpe_mm"]["new"] == after["test_mpjpe_mm"]
    assert "bits_per_frame" in changed


def test_editing_skeleton_marks_every_stage_that_runs_it_stale(repo: Path) -> None:
    """An edit to the skeleton definitions (bone pairs, edges) is seen by DVC: every stage whose
    code imports skeleton.py reports it as a changed dependency, none serves its old output."""
    _dvc(repo, "repro")
    skeleton = repo / "src" / "skelpipe" / "skeleton.py"
    original = skeleton.read_text()
    try:
        skeleton.write_text(original + "\n# an edited bone pair\n")
        status = json.loads(_dvc(repo, "status", "--json", "dvc.yaml", with_stderr=False))
    finally:
        skeleton.write_text(original)
    stale = {
        name
        for name, changes in status.items()
        for change in changes
        if "src/skelpipe/skeleton.py" in change.get("changed deps", {})
    }
    assert {"train@ctrgcn-joint", "train@ctrgcn-bone", "train_tokenizer", "train_tokens"} <= stale
    assert {"parse", "denoise", "align", "shard"} <= stale
    assert "up to date" in _dvc(repo, "status", "dvc.yaml")  # restored: nothing to rerun


def test_adding_a_model_runs_only_its_streams_and_the_ensemble(repo: Path) -> None:
    """`train.models` is a matrix axis, not a tracked key: the finished CTR-GCN streams stay."""
    _dvc(repo, "repro")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    _run([*git, "add", "-A"], repo)
    _run([*git, "commit", "-qm", "baseline: ctrgcn", "--allow-empty"], repo)
    out = _dvc(repo, "exp", "run", "-S", "train.models=[ctrgcn,stgcnpp]")
    assert _ran(out) == {"train@stgcnpp-joint", "train@stgcnpp-bone", "ensemble"}, out
    metrics = json.loads((repo / "metrics" / "train" / "stgcnpp-joint.json").read_text())
    assert metrics["reproducible"] is True and metrics["cpu_capability"] == "AVX2"
