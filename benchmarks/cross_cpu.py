"""The whole pipeline on "another CPU": do the output hashes in dvc.lock stay the same?

    python benchmarks/cross_cpu.py               # tiny synthetic set, both CPUs, reproducible mode
    python benchmarks/cross_cpu.py --mode-off    # ... and both CPUs again with the mode off
    python benchmarks/cross_cpu.py --full        # the default params (about 20 min per run)

Copies the repository (tracked files) into a scratch folder, then runs ``dvc repro`` from
scratch: on this CPU and on an emulated older CPU (numpy without AVX2 / AVX-512 loops, OpenBLAS
with Prescott kernels, numba for a generic x86-64, PyTorch's default ISA, oneDNN limited to
SSE4.1, MKL's compatible path), with the reproducible mode on (``--mode-off``: both again with the
mode off). Prints, per stage, whether the outputs recorded in ``dvc.lock`` match this CPU's, and
one summary line; exits 1 if any stage differs with the mode on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.helpers import OLDER_CPU, copy_repository  # noqa: E402

SECTIONS = ("train", "tokenizer", "token_stream")


def outputs(dest: Path) -> dict[str, dict[str, str]]:
    """stage -> {output path: md5} from the run's dvc.lock."""
    lock = yaml.safe_load((dest / "dvc.lock").read_text())["stages"]
    return {name: {o["path"]: o["md5"] for o in s.get("outs", [])} for name, s in lock.items()}


def run(work: Path, name: str, env: dict[str, str], full: bool, reproducible: bool) -> dict:
    dest = work / name
    copy_repository(
        dest, tiny=not full, overrides={s: {"reproducible": reproducible} for s in SECTIONS}
    )
    path = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", "repro"],
        cwd=dest,
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        sys.exit(f"{name}: dvc repro failed\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    print(f"{name}: dvc repro {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return outputs(dest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the default params instead of tiny")
    ap.add_argument("--mode-off", action="store_true", help="also compare with the mode off")
    ap.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="skelpipe-cross-cpu-"))
    base = {**os.environ, "CI": "true"}
    here = run(work, "here", base, args.full, True)
    older = run(work, "older_reproducible", {**base, **OLDER_CPU}, args.full, True)
    loose = here_off = {}
    if args.mode_off:
        loose = run(work, "older_mode_off", {**base, **OLDER_CPU}, args.full, False)
        here_off = run(work, "here_mode_off", base, args.full, False)
    for stage in here:
        row = {"stage": stage, "older_cpu_reproducible_same": older.get(stage) == here[stage]}
        if args.mode_off:
            row["older_cpu_mode_off_same"] = loose.get(stage) == here_off.get(stage)
        print(json.dumps(row))
    same = sum(older.get(s) == here[s] for s in here)
    summary = {"stages": len(here), "identical_reproducible": same}
    if args.mode_off:
        summary["identical_mode_off"] = sum(loose.get(s) == here_off.get(s) for s in here)
    print(json.dumps(summary))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if same == len(here) else 1)


if __name__ == "__main__":
    main()
