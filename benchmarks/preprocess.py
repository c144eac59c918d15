"""Benchmark the data half (parse -> denoise -> align -> shard) on a scaled synthetic raw set.

Prints wall time, frames/s and peak RSS (summed over the stage process and its workers, sampled
every 20 ms) per stage and in total, for each requested size, so one can see that throughput holds
and memory does not grow with the number of samples.

    python benchmarks/preprocess.py --sizes 5000,20000 --workers 2

Reference figures on this machine (2 cores): the CTR-GCN/SGN scripts parse ~3,900 frames/s
(21 ms per file) and need > 40 GB for NTU120 (their whole dataset lives in memory as pickles).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FRAMES_PER_S = 3900.0
TARGET_FRAMES_PER_S = 60000.0


def run_monitored(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS in MB summed over its process tree)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return time.perf_counter() - t0, peak / 2**20


def bench_params(workdir: Path, workers: int, n_samples: int) -> tuple[Path, int]:
    """The default params, scaled to about ``n_samples`` synthetic files, with ``workers``.

    Returns the params file and the exact number of samples it generates.
    """
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section in ("synth", "parse", "denoise", "align"):
        params[section]["workers"] = workers
    synth = params["synth"]
    per_visit = len(synth["actions"]) * len(synth["camera_yaw_deg"]) * len(synth["facing_yaw_deg"])
    visits = max(1, math.ceil(n_samples / (per_visit * 106)))  # NTU120 has 106 subjects
    subjects = max(10, round(n_samples / (per_visit * visits)))
    synth.update(subjects=subjects, setups=32, setups_per_subject=visits)
    path = workdir / f"params_{n_samples}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path, subjects * visits * per_visit


def generate(raw: Path, params: Path, n_samples: int) -> None:
    """Write the synthetic raw set (cached between runs with the same size)."""
    stamp = raw / ".bench.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("n_samples") == n_samples:
        return
    shutil.rmtree(raw, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "stages.synth",
        "--params",
        str(params),
        "--out",
        str(raw),
        "--metrics",
        str(raw.parent / f"synth_{n_samples}.json"),
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"generated {n_samples} raw files in {time.perf_counter() - t0:.0f}s", flush=True)
    stamp.write_text(json.dumps({"n_samples": n_samples}))


def set_cache(raw: Path, cache: str) -> None:
    """``warm``: read every raw file once so the page cache holds them (as after a download or
    a previous run); ``cold``: drop the page cache (root only); ``asis``: leave it alone."""
    if cache == "warm":
        for f in sorted(raw.iterdir()):
            with open(f, "rb") as fh:
                while fh.read(1 << 22):
                    pass
    elif cache == "cold":
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def bench_size(n_samples: int, workdir: Path, workers: int, cache: str) -> dict:
    params, n_samples = bench_params(workdir, workers, n_samples)
    raw = workdir / f"raw_{n_samples}"
    generate(raw, params, n_samples)
    set_cache(raw, cache)
    out = workdir / f"run_{n_samples}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    py, m = sys.executable, out / "metrics"
    stages = {
        "parse": ["--raw", raw, "--out", out / "parse"],
        "denoise": ["--parsed", out / "parse", "--out", out / "denoise"],
        "align": ["--denoised", out / "denoise", "--out", out / "align"],
        "shard": [
            "--aligned",
            out / "align",
            "--out",
            out / "store.zarr",
            "--rejected",
            out / "shard_rejected.csv",
        ],
    }
    rows = {}
    for stage, args in stages.items():
        cmd = [py, "-m", f"stages.{stage}", "--params", params, "--metrics", m / f"{stage}.json"]
        rows[stage] = run_monitored([str(c) for c in cmd + args])
    frames = json.loads((m / "parse.json").read_text())["n_frames"]
    n_files = sum(1 for p in (out / "store.zarr").rglob("*") if p.is_file())
    return {"n_samples": n_samples, "frames": frames, "stages": rows, "store_files": n_files}


def report(result: dict) -> None:
    frames = result["frames"]
    total_s = sum(s for s, _ in result["stages"].values())
    peak = max(mb for _, mb in result["stages"].values())
    print(f"\n== {result['n_samples']} samples, {frames} frames ==")
    print(f"{'stage':<8} {'seconds':>8} {'frames/s':>10} {'peak RSS MB':>12}")
    for stage, (secs, mb) in result["stages"].items():
        print(f"{stage:<8} {secs:8.1f} {frames / secs:10.0f} {mb:12.0f}")
    fps = frames / total_s
    print(f"{'total':<8} {total_s:8.1f} {fps:10.0f} {peak:12.0f}")
    print(
        f"throughput vs reference scripts ({REFERENCE_FRAMES_PER_S:.0f} frames/s): "
        f"{fps / REFERENCE_FRAMES_PER_S:.1f}x; vs target {TARGET_FRAMES_PER_S:.0f}: "
        f"{fps / TARGET_FRAMES_PER_S:.2f}"
    )
    print(f"peak RSS {peak:.0f} MB (target <= 1536 MB); store files: {result['store_files']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,20000", help="comma-separated sample counts")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "out")
    ap.add_argument(
        "--cache",
        choices=["warm", "cold", "asis"],
        default="warm",
        help="page cache state of the raw files before parse (cold needs root)",
    )
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(f"workers {args.workers}, raw files {args.cache} in the page cache")
    results = [
        bench_size(int(n), args.workdir, args.workers, args.cache) for n in args.sizes.split(",")
    ]
    for r in results:
        report(r)
    if len(results) > 1:
        a, b = results[0], results[-1]
        peak_a = max(mb for _, mb in a["stages"].values())
        peak_b = max(mb for _, mb in b["stages"].values())
        print(
            f"\npeak RSS ratio {b['n_samples']}/{a['n_samples']} samples: "
            f"{peak_b / peak_a:.2f} (samples ratio {b['n_samples'] / a['n_samples']:.1f})"
        )


if __name__ == "__main__":
    main()
