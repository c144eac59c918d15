"""Peak memory of `skelpipe ingest`: a PYSKL pickle (read whole: the format forces it) against
an npz folder (read file by file), for a source of about ``--gb`` GB.

Builds a PYSKL-style 2-D COCO-17 annotation pickle (float16 keypoints and scores, 2 persons,
300 frames, as PYSKL's NTU 2-D files) and the same samples as an npz folder in a scratch
directory, ingests each in a fresh process and prints the source size, the peak resident memory
(VmHWM of the child) and their ratio.

    python benchmarks/ingest_memory.py --gb 1.0
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
M, T, V = 2, 300, 17
SAMPLE_BYTES = M * T * V * (2 + 1) * 2  # float16 x, y and score


def build(folder: Path, n: int) -> tuple[Path, Path]:
    """(pickle, npz folder) holding the same ``n`` samples."""
    rng = np.random.default_rng(0)
    anns, npz = [], folder / "npz"
    (npz / "train").mkdir(parents=True)
    for k in range(n):
        kp = rng.uniform(0, 1000, (M, T, V, 2)).astype(np.float16)
        score = rng.uniform(0, 1, (M, T, V)).astype(np.float16)
        name = f"clip_{k:07d}"
        anns.append({"frame_dir": name, "label": k % 60, "keypoint": kp, "keypoint_score": score,
                     "img_shape": (1080, 1920), "original_shape": (1080, 1920),
                     "total_frames": T})  # fmt: skip
        if k < 2000:  # the npz folder: enough files to show a flat peak
            poses = np.concatenate([kp, score[..., None]], axis=-1).transpose(1, 0, 2, 3)
            np.savez(npz / "train" / f"{name}.npz", poses=poses.astype(np.float32))
    split = {"xsub_train": [a["frame_dir"] for a in anns[: n * 2 // 3]],
             "xsub_val": [a["frame_dir"] for a in anns[n * 2 // 3 :]]}  # fmt: skip
    pkl = folder / "big_2d.pkl"
    with open(pkl, "wb") as fh:
        pickle.dump({"split": split, "annotations": anns}, fh, protocol=4)
    return pkl, npz


def ingest(args: list[str], params: Path) -> tuple[float, float]:
    """(peak RSS in MB of a fresh `skelpipe ingest` process, wall seconds)."""
    code = (
        "import sys; from skelpipe.cli.main import app; sys.argv = ['skelpipe'] + "
        f"{args!r} + ['--params', {str(params)!r}]\n"
        "try:\n    app()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        # VmHWM: this process's own peak (ru_maxrss would carry the parent's across fork + exec)
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0]\n"
        "print('RSS', hwm.split()[1])"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        sys.exit(out.stderr[-2000:])
    rss_kb = int(out.stdout.split("RSS")[-1])
    return rss_kb / 1024, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--gb", type=float, default=1.0, help="pickle size to build")
    a = ap.parse_args()
    n = int(a.gb * 1e9 / SAMPLE_BYTES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pkl, npz = build(folder, n)
        params = folder / "params.yaml"
        doc = yaml.safe_load((ROOT / "params.yaml").read_text())
        params.write_text(yaml.safe_dump({"shard": doc["shard"]}))
        rows = {}
        for label, args in (
            ("pyskl", ["ingest", "pyskl", str(pkl), "--out", str(folder / "p.zarr")]),
            ("npz", ["ingest", "npz", str(npz), "--out", str(folder / "n.zarr"),
                     "--score-channel", "--layout", "coco17"]),
        ):  # fmt: skip
            size = (
                pkl.stat().st_size
                if label == "pyskl"
                else sum(p.stat().st_size for p in npz.rglob("*.npz"))
            )
            rss, wall = ingest(args, params)
            rows[label] = {"source_mb": round(size / 2**20, 1), "peak_rss_mb": round(rss, 1),
                           "rss_over_source": round(rss / (size / 2**20), 2),
                           "wall_s": round(wall, 1)}  # fmt: skip
            print(f"{label}: source {size / 2**20:.0f} MB, peak RSS {rss:.0f} MB "
                  f"({rss / (size / 2**20):.2f}x), {wall:.1f} s")  # fmt: skip
        print(json.dumps({"samples": n, **rows}))


if __name__ == "__main__":
    main()
