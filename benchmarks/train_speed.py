"""Training throughput of each model and of the store-backed loader, in samples per second.

    python benchmarks/train_speed.py                      # all models (paper preset) + loader
    python benchmarks/train_speed.py --models ctrgcn --steps 10 --preset cpu
    python benchmarks/train_speed.py --default-runtime    # without configure_cpu_runtime
    python benchmarks/train_speed.py --store data/store.zarr   # loader on an existing store
    python benchmarks/train_speed.py --paired 5 --models ctrgcn --preset cpu   # reproducible cost

Models: forward + backward + SGD step, batch 16, T = 64, NTU layout (25 joints x 2 persons),
2 threads, as the reference figure: the official CTR-GCN trains at about 3.3 samples/s on the
2-core reference machine. Loader: the training ``StreamDataset`` (zarr read, crop-and-resize to
T = 64, rotation, the stream's features) in one process, on ``--store`` or, if it is absent, on a
store the data stages build from a small synthetic raw set. Prints one JSON line per model, one for
the loader, and the loader's margin over the slowest model (target: 20x).

``--paired N``: the cost of the reproducible mode. Runs the models N times in fresh processes with
the mode off (the machine's own kernels) and on (the launcher's environment: PyTorch's kernels
pinned to AVX2, MKL's compatible branch, oneDNN and NNPACK off, deterministic algorithms),
alternating which goes first, and prints each model's median samples/s both ways and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from skelpipe.models import build_model, registry
from skelpipe.reproducible import PINNED, reproducible_env
from skelpipe.training.runtime import configure_cpu_runtime

REFERENCE_CTRGCN_SAMPLES_PER_S = 3.3
LOADER_TARGET_RATIO = 20.0


def synthetic_batches(
    batch: int, frames: int, num_classes: int, seed: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (x, y) batches, x (batch, 3, frames, 25, 2). The data-loader stand-in."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, frames, 25, 2, generator=g)
    y = torch.randint(0, num_classes, (batch,), generator=g)
    while True:
        yield x, y


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x, y) -> None:
    """One SGD step; InfoGCN adds its information-bottleneck loss."""
    opt.zero_grad(set_to_none=True)
    if hasattr(model, "aux_loss"):
        logits, z = model.forward_with_latent(x)
        loss = F.cross_entropy(logits, y) + model.aux_loss(z, y)
    else:
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


def time_training(model: torch.nn.Module, batches, steps: int, warmup: int = 2) -> list[float]:
    """Seconds per step for ``steps`` steps after ``warmup`` untimed ones."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    times = []
    for i in range(warmup + steps):
        x, y = next(batches)
        t0 = time.perf_counter()
        train_step(model, opt, x, y)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def loader_rate(store_path: Path, stream: str, batch: int, frames: int, n: int) -> float:
    """Samples/s of the training loader (augmentation on, one process) over ``n`` samples."""
    from torch.utils.data import DataLoader

    from skelpipe.classify.features import InputConfig
    from skelpipe.skeleton import get_layout
    from skelpipe.store.reader import SampleStore
    from skelpipe.training.loop import StreamDataset

    store = SampleStore(store_path)
    cfg = InputConfig(stream=stream, window=frames, p_interval=(0.5, 1.0), rotate_theta=0.3)
    idx = np.resize(np.arange(len(store)), n)  # repeat if the store is small
    ds = StreamDataset(store, idx, cfg, get_layout(store.attrs["layout"]), seed=0, train=True)
    loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=0)
    it = iter(loader)
    next(it)  # open the shards once, as a long-lived worker has
    t0, count = time.perf_counter(), 0
    for x, _, _ in it:
        assert x.shape[1:] == (3, frames, 25, 2), x.shape
        count += len(x)
    return count / (time.perf_counter() - t0)


def default_store(workdir: Path, n_samples: int) -> Path:
    """A store built by the real data stages from ``n_samples`` synthetic raw files."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from preprocess import bench_size

    result = bench_size(n_samples, workdir, workers=2, cache="asis")
    return workdir / f"run_{result['n_samples']}" / "store.zarr"


def paired(args: argparse.Namespace, rounds: int) -> None:
    """Reproducible mode off vs on, alternating in fresh processes; one JSON line per model."""
    base = {k: v for k, v in os.environ.items() if k not in PINNED}
    envs = {"off": base, "on": {**base, **reproducible_env(args.threads)}}
    cmd = [sys.executable, __file__, "--no-loader", "--models", args.models]
    cmd += ["--preset", args.preset, "--batch", str(args.batch), "--frames", str(args.frames)]
    cmd += ["--steps", str(args.steps), "--threads", str(args.threads)]
    rates: dict[tuple[str, str], list[float]] = {}
    for r in range(rounds):
        for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):
            extra = ["--reproducible"] if mode == "on" else []
            out = subprocess.run(cmd + extra, env=envs[mode], capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{mode} run failed:\n{out.stderr}")
            for line in out.stdout.splitlines():
                row = json.loads(line)
                rates.setdefault((row["model"], mode), []).append(row["samples_per_s"])
    for name in args.models.split(","):
        off, on = (statistics.median(rates[(name, m)]) for m in ("off", "on"))
        row = {"model": name, "preset": args.preset, "rounds": rounds, "threads": args.threads}
        row.update(off_samples_per_s=off, on_samples_per_s=on, on_over_off=round(on / off, 3))
        print(json.dumps(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(registry), help="comma-separated model names")
    ap.add_argument("--preset", default="paper", choices=["paper", "cpu"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--default-runtime", action="store_true", help="skip configure_cpu_runtime")
    ap.add_argument("--store", type=Path, default=None, help="zarr store for the loader")
    ap.add_argument("--loader-stream", default="bone_motion", help="the costliest stream")
    ap.add_argument("--loader-samples", type=int, default=800)
    ap.add_argument("--no-loader", action="store_true")
    ap.add_argument("--reproducible", action="store_true", help="require the pinned environment")
    ap.add_argument("--paired", type=int, default=0, help="rounds of reproducible off vs on")
    args = ap.parse_args()
    if args.paired:
        return paired(args, args.paired)
    if args.default_runtime:
        torch.set_num_threads(args.threads)
    else:
        configure_cpu_runtime(args.threads, reproducible=args.reproducible)
    rates = {}
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = build_model(name, "ntu60", args.preset)
        batches = synthetic_batches(args.batch, args.frames, model.cfg.num_classes)
        times = time_training(model, batches, args.steps)
        rate = rates[name] = args.batch / statistics.median(times)
        row = {
            "model": name,
            "preset": args.preset,
            "samples_per_s": round(rate, 2),
            "best_samples_per_s": round(args.batch / min(times), 2),
            "runtime": "default" if args.default_runtime else "tuned",
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        }
        if name == "ctrgcn" and args.preset == "paper":
            row["x_reference_ctrgcn"] = round(rate / REFERENCE_CTRGCN_SAMPLES_PER_S, 2)
        print(json.dumps(row), flush=True)
    if args.no_loader:
        return
    torch.set_num_threads(1)  # a loader worker is one process on one core
    with tempfile.TemporaryDirectory(prefix="skelpipe-loader-") as tmp:
        store = args.store or default_store(Path(tmp), 960)
        rate = loader_rate(store, args.loader_stream, args.batch, args.frames, args.loader_samples)
    slowest = min(rates, key=rates.get)
    row = {
        "loader": args.loader_stream,
        "samples_per_s": round(rate, 1),
        "slowest_model": slowest,
        "x_slowest_model": round(rate / rates[slowest], 1),
        "target_x": LOADER_TARGET_RATIO,
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
