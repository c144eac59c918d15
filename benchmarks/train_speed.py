"""Training throughput of each model: forward + backward + SGD step, in samples per second.

    python benchmarks/train_speed.py                      # all models, paper preset
    python benchmarks/train_speed.py --models ctrgcn --steps 10 --preset cpu
    python benchmarks/train_speed.py --default-runtime    # without configure_cpu_runtime

Batch 16, T = 64, NTU layout (25 joints x 2 persons), 2 threads, as the reference figure: the
official CTR-GCN trains at about 3.3 samples/s on the 2-core reference machine. Prints one JSON
line per model with the median and best step rate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from skelpipe.models import build_model, registry
from skelpipe.models.runtime import configure_cpu_runtime

REFERENCE_CTRGCN_SAMPLES_PER_S = 3.3


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(registry), help="comma-separated model names")
    ap.add_argument("--preset", default="paper", choices=["paper", "cpu"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--default-runtime", action="store_true", help="skip configure_cpu_runtime")
    args = ap.parse_args()
    if args.default_runtime:
        torch.set_num_threads(args.threads)
    else:
        configure_cpu_runtime(args.threads)
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = build_model(name, "ntu60", args.preset)
        batches = synthetic_batches(args.batch, args.frames, model.cfg.num_classes)
        times = time_training(model, batches, args.steps)
        rate = args.batch / statistics.median(times)
        row = {
            "model": name,
            "preset": args.preset,
            "samples_per_s": round(rate, 2),
            "best_samples_per_s": round(args.batch / min(times), 2),
            "runtime": "default" if args.default_runtime else "tuned",
        }
        if name == "ctrgcn" and args.preset == "paper":
            row["x_reference_ctrgcn"] = round(rate / REFERENCE_CTRGCN_SAMPLES_PER_S, 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
