"""Quick probe of a tokenizer variant on NW-UCLA: a fixed number of steps, data held in memory.

    python benchmarks/tokenizer_probe.py --name conv1d --steps 3000 --lr 2e-3 --loss joint \\
        --cfg '{"backbone": "conv1d", "token_mlp": 256}'

The pipeline's model, quantizers and loss (:mod:`skelpipe.models.tokenizer`) on person 0 of the
store's samples in the body frame, random 32-frame crops without augmentation, AdamW with 100
warm-up steps and a cosine decay, one thread. Minutes instead of the stage's epochs, so variants
can be compared before a full run; the figures are not the pipeline's (no augmentation, fewer
steps). The evaluation is the ``evaluate_tokenizer`` stage's own (whole sequences,
:func:`skelpipe.tokenizer.train.evaluate`). Prints one JSON line: test (view 3), val (held-out
samples of views 1-2) and train MPJPE in mm, and the share of codes used per level by the first
300 training samples (a lower bound of the stage's figure, which counts every training token).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from skelpipe.models.quantizers import codebook_usage
from skelpipe.models.tokenizer import (
    SkeletonTokenizer,
    tokenizer_config,
    tokenizer_loss,
    weights_from_parts,
)
from skelpipe.params import TokenizerParams, from_mapping
from skelpipe.skeleton import get_layout
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.body_frame import present_frames
from skelpipe.tokenizer.train import evaluate, prepare
from skelpipe.training.runtime import configure_cpu_runtime

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "data/nw_ucla/store.zarr"
PARAMS = ROOT / "pipelines/nw_ucla/params.yaml"  # body_frame, as the evaluate_tokenizer stage
BENCHMARK = "nw_ucla_xview"
PART_WEIGHTS = {p: 2.0 for p in ("head", "left_hand", "right_hand", "left_foot", "right_foot")}


def load(store: SampleStore, part: str) -> list[np.ndarray]:
    """Body-frame person 0 (1, T, V, 3) of every sample of a part."""
    layout = get_layout(store.attrs["layout"])
    return [prepare(store.sample(int(i)), 1, layout, True)[0] for i in store.split(BENCHMARK, part)]


def batch(data: list[np.ndarray], size: int, window: int, rng: np.random.Generator):
    """Random crops (N, C, window, V, 1) and their presence mask (N, window, 1)."""
    V = data[0].shape[2]
    clip = np.zeros((size, 1, window, V, 3), np.float32)
    for b, k in enumerate(rng.integers(0, len(data), size)):
        x = data[k]
        start = int(rng.integers(0, x.shape[1] - window + 1)) if x.shape[1] > window else 0
        seg = x[:, start : start + window]
        clip[b, :, : seg.shape[1]] = seg
    mask = present_frames(clip).transpose(0, 2, 1).astype(np.float32)  # (N, window, 1)
    return torch.from_numpy(clip.transpose(0, 4, 2, 3, 1).copy()), torch.from_numpy(mask)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--cfg", default="{}", help="JSON overrides of the tokenizer config")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--loss", default="smooth_l1", help="l1 | smooth_l1 | l2 | joint")
    ap.add_argument("--velocity", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not STORE.exists():
        raise SystemExit(f"{STORE} is missing: dvc repro pipelines/nw_ucla/dvc.yaml:shard")
    configure_cpu_runtime(1)
    torch.manual_seed(args.seed)
    store = SampleStore(STORE)
    layout = get_layout(store.attrs["layout"])
    train = load(store, "train")
    p = from_mapping(TokenizerParams, yaml.safe_load(PARAMS.read_text())["tokenizer"], "tokenizer")
    model = SkeletonTokenizer(tokenizer_config(layout.name, **json.loads(args.cfg)))
    weights = torch.from_numpy(weights_from_parts(layout, PART_WEIGHTS))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for step in range(args.steps):
        warm = min(1.0, (step + 1) / 100)
        for group in opt.param_groups:
            group["lr"] = args.lr * warm * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        x, mask = batch(train, args.batch, args.window, rng)
        out = model(x)
        rec, _ = tokenizer_loss(
            out.recon, x, mask, weights, layout.body_parts, args.loss, args.velocity
        )
        opt.zero_grad()
        (rec + out.loss).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    minutes = (time.perf_counter() - t0) / 60
    cpu = (time.process_time() - cpu0) / 60
    mpjpe, tokens = {}, None
    for part in ("train", "val", "test"):
        idx = store.split(BENCHMARK, part)
        metrics, part_tokens = evaluate(model, store, idx[:300] if part == "train" else idx, p)
        mpjpe[part] = metrics["mpjpe_mm"]
        if part == "train":
            tokens = part_tokens
    use = codebook_usage(tokens, model.codebook_sizes)
    print(
        json.dumps(
            {
                "name": args.name,
                "steps": args.steps,
                "wall_min": round(minutes, 1),
                "cpu_min": round(cpu, 1),
                **{f"{part}_mpjpe_mm": round(v, 1) for part, v in mpjpe.items()},
                "train300_code_use": [
                    round(use[f"utilisation_{lv}"], 2) for lv in range(len(model.codebook_sizes))
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
