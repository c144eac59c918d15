"""GPU smoke test of every model through the training loop the stages run.

    python benchmarks/gpu_smoke.py                          # all models, paper preset, AMP
    python benchmarks/gpu_smoke.py --models ctrgcn blockgcn --compile
    python benchmarks/gpu_smoke.py --ddp                    # also 2 processes, NCCL + SyncBatchNorm
    python benchmarks/gpu_smoke.py --cpu-dry-run --models stgcn --epochs 2 --samples 32

For each model: a few hundred optimizer steps of :func:`skelpipe.training.loop.fit` (the function
``train@<model>-<stream>`` calls, with its AMP, ``torch.compile`` and DDP paths) on an in-memory
learnable set (each class moves its own joints along its own direction); checks that every loss
is finite and that the last epoch's loss is below ``--fall`` times the first's, and prints one
JSON line per model with samples/s (epochs after the first: compilation excluded), peak GPU memory
and the losses. ``--ddp`` repeats it in two processes (``WORLD_SIZE=2``: NCCL, SyncBatchNorm,
each rank half of the global batch) when two GPUs exist.

Without CUDA it prints why it skipped and exits 0. ``--cpu-dry-run`` runs the same code on the
CPU at a tiny size instead (to check the script itself; AMP and compile are CUDA-only in the loop).
Exit code 1 if any model failed a check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp
import yaml
from torch.utils.data import Dataset

from skelpipe.datasets import get_dataset
from skelpipe.models import build_model, registry
from skelpipe.params import TrainParams, from_mapping
from skelpipe.skeleton import get_layout
from skelpipe.training import distributed
from skelpipe.training.loop import fit

ROOT = Path(__file__).resolve().parents[1]


class LearnableSet(Dataset):
    """``n`` samples (C, T, V, M) of noise where class k adds a slow oscillation to joints
    ``k % V`` and ``(3k + 1) % V`` along axis ``k % C``: learnable by every model."""

    def __init__(self, n: int, layout: str, classes: int, frames: int, seed: int) -> None:
        lo = get_layout(layout)
        g = torch.Generator().manual_seed(seed)
        self.x = 0.3 * torch.randn(n, 3, frames, lo.num_joints, lo.max_persons, generator=g)
        self.y = torch.randint(0, classes, (n,), generator=g)
        wave = torch.sin(torch.linspace(0, 6.28, frames))
        for i, k in enumerate(self.y.tolist()):
            for joint in (k % lo.num_joints, (3 * k + 1) % lo.num_joints):
                self.x[i, k % 3, :, joint, 0] += wave
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        return self.x[i], int(self.y[i]), i


def smoke_params(args: argparse.Namespace, device: str) -> TrainParams:
    """The repository's ``train`` section with the smoke run's size, device, AMP and compile."""
    doc = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    p = from_mapping(TrainParams, doc, "train")
    return dataclasses.replace(
        p,
        preset=args.preset,
        epochs=args.epochs,
        batch_size=args.batch,
        window=args.frames,
        warmup_epochs=1,
        eval_every=args.epochs,
        num_workers=0,
        device=device,
        amp=True,
        compile=args.compile,
        reproducible=False,
        lr=args.lr,
    )


def run_model(name: str, args: argparse.Namespace, device: str, tmp: Path) -> dict:
    """Train ``name`` on the learnable set; returns its JSON row (rank 0 under DDP)."""
    p = smoke_params(args, device)
    entry = get_dataset("ntu60")
    torch.manual_seed(0)
    net = build_model(name, "ntu60", p.preset)
    data = {
        part: LearnableSet(args.samples, entry.layout, entry.num_classes, args.frames, seed)
        for part, seed in (("train", 0), ("val", 1))
    }
    rows: list[dict] = []
    stamps: list[float] = []
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def on_epoch(row: dict) -> None:
        if device == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        rows.append(row)

    start = time.perf_counter()
    fit(net, data, p, tmp / f"{name}-{distributed.rank()}.pt", "smoke", name, on_epoch)
    losses = [r["train_loss"] for r in rows]
    timed = stamps[-1] - stamps[0] if len(stamps) > 1 else stamps[-1] - start
    epochs_timed = max(len(stamps) - 1, 1)
    finite = all(map(lambda v: v == v and abs(v) != float("inf"), losses))
    return {
        "model": name,
        "world_size": distributed.world_size(),
        "steps": args.epochs * -(-args.samples // args.batch),
        "samples_per_s": round(epochs_timed * args.samples / max(timed, 1e-9), 1),
        "peak_mem_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if device == "cuda"
        else None,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "val_top1": rows[-1].get("val_top1"),
        "ok": finite and losses[-1] < args.fall * losses[0],
    }


def _ddp_worker(rank: int, port: int, args: argparse.Namespace, tmp: str) -> None:
    os.environ.update(
        {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
         "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    )  # fmt: skip
    distributed.setup(torch.device("cuda"))
    for name in args.models:
        row = run_model(name, args, "cuda", Path(tmp))
        if distributed.is_main():
            print(json.dumps(row), flush=True)
            with open(Path(tmp) / "ddp.jsonl", "a") as fh:
                fh.write(json.dumps(row) + "\n")
    distributed.teardown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=sorted(registry))
    ap.add_argument("--preset", default="paper", choices=["paper", "cpu"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--samples", type=int, default=1024, help="training samples per epoch")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--fall", type=float, default=0.7, help="last / first epoch loss must be below")
    ap.add_argument("--compile", action="store_true", help="torch.compile (as train.compile)")
    ap.add_argument("--ddp", action="store_true", help="also 2 processes (needs 2 GPUs)")
    ap.add_argument("--cpu-dry-run", action="store_true", help="tiny run on the CPU")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.models) - set(registry))
    if unknown:
        ap.error(f"unknown models {unknown}; known: {sorted(registry)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu_dry_run:
        device = "cpu"
        args.preset, args.frames = "cpu", min(args.frames, 16)
    elif not torch.cuda.is_available():
        reason = (
            f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda})"
        )
        print(json.dumps({"skipped": True, "reason": reason}))
        return 0
    else:
        device = "cuda"
        info = {"device": torch.cuda.get_device_name(0), "gpus": torch.cuda.device_count()}
        print(json.dumps({**info, "torch": torch.__version__, "cuda": torch.version.cuda}))
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            row = run_model(name, args, device, Path(tmp))
            print(json.dumps(row), flush=True)
            if not row["ok"]:
                failed.append(name)
        if args.ddp and device == "cuda" and torch.cuda.device_count() >= 2:
            mp.spawn(_ddp_worker, args=(_free_port(), args, tmp), nprocs=2, join=True)
            for line in (Path(tmp) / "ddp.jsonl").read_text().splitlines():
                row = json.loads(line)
                if not row["ok"]:
                    failed.append(f"{row['model']} (ddp)")
        elif args.ddp:
            print(json.dumps({"ddp": "skipped", "reason": "needs 2 CUDA devices"}))
    print(json.dumps({"failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
