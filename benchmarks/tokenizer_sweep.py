"""Test MPJPE against bits per frame for each quantizer: vq, rvq with 1/2/4/8 levels, dvae.

    python benchmarks/tokenizer_sweep.py --pipeline nw_ucla            # the NW-UCLA store
    python benchmarks/tokenizer_sweep.py --pipeline synthetic --epochs 4
    python benchmarks/tokenizer_sweep.py --variants rvq4,dvae --out /tmp/sweep

Each variant runs the real ``train_tokenizer`` and ``evaluate_tokenizer`` stage commands on the
pipeline's store (build it first with ``dvc repro``) with the pipeline's ``tokenizer`` params plus
the variant's overrides, in a scratch folder, so the DVC workspace is untouched. Prints one JSON
line per variant and a Markdown table at the end. Training time is reported twice: the CPU
minutes of the training process (user + system, from ``getrusage``: what the run costs, even on
a busy machine) and its wall-clock minutes (comparable only on an otherwise idle machine).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = {
    "synthetic": (ROOT / "params.yaml", ROOT / "data" / "store.zarr"),
    "nw_ucla": (ROOT / "pipelines/nw_ucla/params.yaml", ROOT / "data/nw_ucla/store.zarr"),
}
VARIANTS = {
    "vq": {"quantizer": "vq", "levels": 1},
    "rvq1": {"quantizer": "rvq", "levels": 1},
    "rvq2": {"quantizer": "rvq", "levels": 2},
    "rvq4": {"quantizer": "rvq", "levels": 4},
    "rvq8": {"quantizer": "rvq", "levels": 8},
    "dvae": {"quantizer": "dvae", "levels": 1},
}


def run_variant(name: str, params: dict, store: Path, work: Path) -> dict:
    """Train and evaluate one variant; returns its metrics plus the training wall time."""
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    params_file = folder / "params.yaml"
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    # through the launcher, as dvc.yaml runs them (it sets the reproducible mode's environment)
    py = [sys.executable, "-m", "stages.launch", "--params", str(params_file), "--section"]
    py += ["tokenizer"]
    common = ["--params", str(params_file), "--store", str(store)]
    t0 = time.perf_counter()
    cpu0 = _children_cpu_seconds()
    subprocess.run(
        [*py, "stages.train_tokenizer", *common, "--out", str(folder / "model")]
        + ["--checkpoint", str(folder / "ckpt"), "--live", str(folder / "live")]
        + ["--metrics", str(folder / "train.json")],
        cwd=ROOT,
        check=True,
    )
    minutes = (time.perf_counter() - t0) / 60
    cpu_minutes = (_children_cpu_seconds() - cpu0) / 60
    subprocess.run(
        [*py, "stages.evaluate_tokenizer", *common, "--model", str(folder / "model")]
        + ["--picture", str(folder / "reconstruction.png"), "--metrics", str(folder / "eval.json")],
        cwd=ROOT,
        check=True,
    )
    metrics = json.loads((folder / "eval.json").read_text())
    timing = {"train_minutes": round(minutes, 1), "train_cpu_minutes": round(cpu_minutes, 1)}
    return {"variant": name, **timing, **metrics}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def table(rows: list[dict]) -> str:
    lines = [
        "| variant | bits / frame | test MPJPE | PA-MPJPE | min codebook use (train) | CPU min "
        "| wall min |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['bits_per_frame']:g} | {r['test_mpjpe_mm']:.1f} mm | "
            f"{r['test_pa_mpjpe_mm']:.1f} mm | {100 * r['train_utilisation_min']:.0f} % | "
            f"{r['train_cpu_minutes']} | {r['train_minutes']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", choices=sorted(PIPELINES), default="nw_ucla")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--epochs", type=int, default=None, help="override tokenizer.epochs")
    ap.add_argument(
        "--set", action="append", default=[], help="override any tokenizer param: key=yaml value"
    )
    ap.add_argument("--out", type=Path, default=Path("/tmp/skelpipe-tokenizer-sweep"))
    args = ap.parse_args()
    params_path, store = PIPELINES[args.pipeline]
    if not store.exists():
        raise SystemExit(f"{store} is missing: run the pipeline's data stages first (dvc repro)")
    base = yaml.safe_load(params_path.read_text())
    rows = []
    for name in args.variants.split(","):
        params = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
        params["tokenizer"].update(VARIANTS[name])
        if args.epochs:
            params["tokenizer"]["epochs"] = args.epochs
        for item in args.set:
            key, _, value = item.partition("=")
            params["tokenizer"][key] = yaml.safe_load(value)
        row = run_variant(name, params, store, args.out / args.pipeline)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(table(rows))


if __name__ == "__main__":
    main()
