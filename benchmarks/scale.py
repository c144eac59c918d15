"""Scale: the data half under `dvc repro` on an NTU120-sized synthetic raw set.

Generates ``--samples`` synthetic raw files (NTU120 has 114,480; the synth grid gives the nearest
count it can, printed), packs them into one zip archive as the official release ships them, then
runs ``dvc repro shard`` (parse -> denoise -> align -> shard) in a scratch git + DVC copy of this
repository and prints, per stage and in total: wall time, frames/s and peak RSS summed over the
whole process tree (dvc, the stage and its workers; sampled every 50 ms), then the number of files
in the store and the time of a no-op ``dvc status shard`` (the data half).

    python benchmarks/scale.py --samples 114480 --workers 1 --workdir /tmp/scale

Targets: peak RSS <= 1.5 GB, store files in the hundreds at most, no-op ``dvc status`` <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.preprocess import bench_params  # noqa: E402

TARGET_RSS_MB = 1536.0
TARGET_STATUS_S = 3.0


def monitored(cmd: list[str], cwd: Path, env: dict) -> tuple[float, dict[str, tuple[float, float]]]:
    """Run ``cmd``; return total seconds and per DVC stage (seconds, peak tree RSS MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    current, marks = ["(dvc)"], [("(dvc)", t0)]

    def read() -> None:
        for line in proc.stdout:
            found = re.search(r"Running stage '([^']+)'", line)
            if found:
                current[0] = found.group(1)
                marks.append((current[0], time.perf_counter()))
            print(line, end="", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    root, peaks = psutil.Process(proc.pid), {}
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20
            peaks[current[0]] = max(peaks.get(current[0], 0.0), rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    reader.join()
    end = time.perf_counter()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    stages = {}
    for (name, start), (_, stop) in zip(marks, [*marks[1:], ("", end)], strict=True):
        stages[name] = (stop - start, peaks.get(name, 0.0))
    return end - t0, stages


def make_repo(repo: Path, params: Path, raw_zip: Path, workers: int) -> None:
    """A git + DVC copy of this repository reading ``raw_zip``, with hard-linked DVC cache."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for rel in listed.splitlines():
        if (ROOT / rel).is_file() and not rel.startswith(("metrics/", "dvc.lock")):
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    doc = yaml.safe_load(params.read_text())
    doc["paths"]["raw"] = str(raw_zip.relative_to(repo))
    for section in ("parse", "denoise", "align"):
        doc[section]["workers"] = workers
    (repo / "params.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@local"]
    for cmd in (["git", "init", "-q"], [*git, "add", "-A"], [*git, "commit", "-qm", "bench"]):
        subprocess.run(cmd, cwd=repo, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "config", "cache.type", "hardlink"], cwd=repo)


def generate_zip(workdir: Path, params: Path, n: int, raw_zip: Path) -> float:
    """Synthesize the raw files, pack them into ``raw_zip`` (stored), drop the loose files."""
    if raw_zip.exists():
        return 0.0
    loose = workdir / "raw_loose"
    shutil.rmtree(loose, ignore_errors=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "stages.synth", "--params", str(params), "--out", str(loose)]
    cmd += ["--metrics", str(workdir / "synth.json")]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    generated = time.perf_counter() - t0
    raw_zip.parent.mkdir(parents=True, exist_ok=True)
    tmp = raw_zip.with_name(raw_zip.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for f in sorted(loose.glob("*.skeleton")):
            zf.write(f, f"nturgbd_skeletons/{f.name}")
    os.replace(tmp, raw_zip)
    shutil.rmtree(loose)
    print(
        f"generated {n} raw files in {generated:.0f} s ({n / generated:.0f} files/s); packed in "
        f"{time.perf_counter() - t0 - generated:.0f} s: {raw_zip.stat().st_size / 1e9:.2f} GB"
    )
    return generated


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=114_480, help="NTU120: 114,480")
    ap.add_argument("--workers", type=int, default=1, help="processes per data stage")
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "out" / "scale")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    params, n = bench_params(args.workdir, args.workers, args.samples)
    print(f"{n} samples requested {args.samples} ({n / 114_480:.1%} of NTU120's 114,480)")
    repo = args.workdir / f"repo_{n}"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    raw_zip = args.workdir / f"raw_{n}.zip"
    generate_zip(args.workdir, params, n, raw_zip)
    inside = repo / "data" / "raw" / raw_zip.name
    inside.parent.mkdir(parents=True)
    os.link(raw_zip, inside)
    make_repo(repo, params, inside, args.workers)
    env = {**os.environ, "CI": "true", "PYTHONHASHSEED": "0"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    dvc = [sys.executable, "-m", "dvc"]
    total, stages = monitored([*dvc, "repro", "shard"], repo, env)
    frames = json.loads((repo / "metrics" / "parse.json").read_text())["n_frames"]
    store_files = sum(1 for p in (repo / "data" / "store.zarr").rglob("*") if p.is_file())
    status = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run(
            [*dvc, "status", "shard"], cwd=repo, env=env, capture_output=True, text=True
        )
        status.append(time.perf_counter() - t0)
        assert "up to date" in out.stdout, out.stdout + out.stderr
    print(f"\n== dvc repro shard: {n} samples, {frames} frames ==")
    print(f"{'stage':<8} {'seconds':>8} {'frames/s':>10} {'peak RSS MB':>12}")
    for name, (secs, mb) in stages.items():
        print(f"{name:<8} {secs:8.1f} {frames / max(secs, 1e-9):10.0f} {mb:12.0f}")
    peak = max(mb for _, mb in stages.values())
    print(f"{'total':<8} {total:8.1f} {frames / total:10.0f} {peak:12.0f}")
    print(f"peak RSS {peak:.0f} MB (target <= {TARGET_RSS_MB:.0f}); store files: {store_files}")
    print(
        f"no-op dvc status: {', '.join(f'{s:.2f}' for s in status)} s "
        f"(target <= {TARGET_STATUS_S:.0f} s)"
    )


if __name__ == "__main__":
    main()
