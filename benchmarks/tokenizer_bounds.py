"""Reference points for a skeleton tokenizer's error, computed from the data alone.

    python benchmarks/tokenizer_bounds.py --pipeline nw_ucla
    python benchmarks/tokenizer_bounds.py --pipeline synthetic --bits 10

Every figure is measured in the canonical body frame (:mod:`skelpipe.tokenizer.body_frame`, distance
preserving, so the errors equal those in store coordinates) on the pipeline's train / test splits:

* ``interp_<k>``: keep every k-th frame and interpolate linearly: what the frames inside a
  token cost if the decoder only interpolated between token positions.
* ``smooth3``: distance of each frame to the mean of itself and its two neighbours: the
  frame-to-frame jitter, which no low-rate code can keep.
* ``pca_<d>``: PCA on ``downsample``-frame tokens fit on train, test error with d components.
* ``kmeans_rvq``: residual k-means (``levels`` x ``codebook_size``) on the raw tokens: a
  tokenizer with no network at all, at the target bit rate. Train, val (held-out samples of the
  training views) and test (the unseen view) errors: val against train separates overfitting
  the codebooks from the change of view.
* ``clip_pca_<d>``: PCA on whole ``window``-frame clips (every frame of a clip in one vector)
  fit on train, test error with d components: how many linear dimensions a clip needs for a
  given error, whatever the code spends on each.
* ``gaussian_rd``: Shannon's rate-distortion bound of a Gaussian source with the empirical
  covariance of ``window``-frame clips, at ``bits`` per frame (reverse water-filling): the RMS
  joint error an optimal code would reach if the data were Gaussian. Real data has less entropy
  than the Gaussian of its covariance, so it is a pessimistic reference, not a floor.

Errors are mean per-joint distances in millimetres (the store's metres x 1,000), except the
rate-distortion figure (RMS). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from skelpipe.skeleton import get_layout
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.train import prepare

ROOT = Path(__file__).resolve().parents[1]
STORES = {
    "synthetic": (ROOT / "data" / "store.zarr", "ntu60_xsub"),
    "nw_ucla": (ROOT / "data/nw_ucla/store.zarr", "nw_ucla_xview"),
}


def load_person0(store: SampleStore, benchmark: str, part: str) -> list[np.ndarray]:
    """Person 0 of every sample of a split in the body frame: a list of (T, V, 3) arrays."""
    layout = get_layout(store.attrs["layout"])
    out = []
    for i in store.split(benchmark, part):
        x, _, _ = prepare(store.sample(int(i)), 1, layout, canonical=True)
        out.append(x[0].astype(np.float64))
    return out


def mean_error_mm(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance between (..., 3) point sets, in millimetres."""
    return float(1000 * np.linalg.norm(a - b, axis=-1).mean())


def interpolation_error(clips: list[np.ndarray], step: int) -> float:
    """Keep frames 0, step, 2 step, ... (and the last); interpolate the others linearly."""
    errors = []
    for x in clips:
        T = len(x)
        keep = np.unique(np.append(np.arange(0, T, step), T - 1))
        flat = x.reshape(T, -1)  # (T, V*3)
        interp = np.stack(
            [np.interp(np.arange(T), keep, flat[keep, j]) for j in range(flat.shape[1])], 1
        )
        errors.append(np.linalg.norm((interp - flat).reshape(x.shape), axis=-1).ravel())
    return float(1000 * np.concatenate(errors).mean())


def jitter(clips: list[np.ndarray]) -> float:
    """Mean distance of each frame to the 3-frame moving average (edges repeated)."""
    errors = []
    for x in clips:
        padded = np.concatenate([x[:1], x, x[-1:]])
        smooth = (padded[:-2] + padded[1:-1] + padded[2:]) / 3
        errors.append(np.linalg.norm(smooth - x, axis=-1).ravel())
    return float(1000 * np.concatenate(errors).mean())


def tokens(clips: list[np.ndarray], frames: int) -> np.ndarray:
    """Non-overlapping ``frames``-frame tokens, flattened: (n, frames * V * 3)."""
    rows = [x[: len(x) // frames * frames].reshape(-1, frames * x[0].size) for x in clips]
    return np.concatenate(rows)


def pca_errors(
    train: np.ndarray, test: np.ndarray, dims: list[int], joints: int, prefix: str = "pca"
) -> dict:
    """Test error of PCA fit on ``train`` rows with each number of components in ``dims``."""
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    out = {}
    for d in dims:
        basis = vt[:d]  # (d, F)
        recon = (test - mean) @ basis.T @ basis + mean
        out[f"{prefix}_{d}_test_mm"] = mean_error_mm(
            recon.reshape(-1, joints, 3), test.reshape(-1, joints, 3)
        )
    return out


def kmeans(data: torch.Tensor, k: int, iters: int, gen: torch.Generator) -> torch.Tensor:
    """Lloyd's k-means from k random rows; empty clusters restart at random rows."""
    centroids = data[torch.randperm(len(data), generator=gen)[:k]].clone()
    for _ in range(iters):
        idx = nearest(data, centroids)
        counts = torch.bincount(idx, minlength=k)
        sums = torch.zeros_like(centroids).index_add_(0, idx, data)
        used = counts > 0
        centroids[used] = sums[used] / counts[used, None]
        empty = int((~used).sum())
        if empty:
            centroids[~used] = data[torch.randperm(len(data), generator=gen)[:empty]]
    return centroids


def nearest(data: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    return ((centroids * centroids).sum(1)[None] - 2 * data @ centroids.T).argmin(1)


def kmeans_rvq(tokens: dict[str, np.ndarray], levels: int, size: int, joints: int) -> dict:
    """Residual k-means fit on ``tokens["train"]``; errors after each level for every part."""
    gen = torch.Generator().manual_seed(0)
    mean = tokens["train"].mean(0)
    res = {p: torch.from_numpy(x - mean) for p, x in tokens.items()}
    recon = {p: torch.zeros_like(r) for p, r in res.items()}
    out = {}
    for level in range(levels):
        centroids = kmeans(res["train"], size, iters=15, gen=gen)
        for part in res:
            codes = centroids[nearest(res[part], centroids)]
            recon[part] += codes
            res[part] -= codes
            target = tokens[part].reshape(-1, joints, 3)
            approx = (recon[part].numpy() + mean).reshape(-1, joints, 3)
            out[f"kmeans_rvq_{level + 1}_{part}_mm"] = mean_error_mm(approx, target)
    return out


def clips(data: list[np.ndarray], window: int, step: int) -> np.ndarray:
    """``window``-frame clips every ``step`` frames, flattened (shorter samples repeat their last
    frame): (n, window * V * 3)."""
    rows = []
    for x in data:
        if len(x) < window:
            x = np.concatenate([x, np.repeat(x[-1:], window - len(x), axis=0)])
        rows += [x[s : s + window].ravel() for s in range(0, len(x) - window + 1, step)]
    return np.array(rows)


def gaussian_rd_rms_mm(clips: list[np.ndarray], window: int, bits_per_frame: float) -> float:
    """RMS joint error of the Gaussian rate-distortion bound at ``bits_per_frame``."""
    rows = [x[s : s + window].ravel() for x in clips for s in range(0, len(x) - window + 1, 2)]
    eig = np.clip(np.linalg.eigvalsh(np.cov(np.array(rows).T)), 1e-12, None)
    rate = bits_per_frame * window
    lo, hi = 1e-12, float(eig.max())
    for _ in range(200):  # bisection on the water level theta (in log space)
        theta = np.sqrt(lo * hi)
        if np.maximum(0, 0.5 * np.log2(eig / theta)).sum() > rate:
            lo = theta
        else:
            hi = theta
    distortion = np.minimum(theta, eig).sum() / (window * clips[0].shape[1])  # per joint
    return float(1000 * np.sqrt(distortion))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", choices=sorted(STORES), default="nw_ucla")
    ap.add_argument("--downsample", type=int, default=4, help="frames per token")
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--codebook-size", type=int, default=1024)
    ap.add_argument("--window", type=int, default=32, help="clip length of the R-D bound")
    args = ap.parse_args()
    torch.set_num_threads(1)
    path, benchmark = STORES[args.pipeline]
    if not path.exists():
        raise SystemExit(f"{path} is missing: run the pipeline's data stages first (dvc repro)")
    store = SampleStore(path)
    train, val, test = (load_person0(store, benchmark, p) for p in ("train", "val", "test"))
    joints = train[0].shape[1]
    bits = args.levels * np.log2(args.codebook_size) / args.downsample
    parts = {"train": train, "val": val, "test": test}
    tok = {part: tokens(x, args.downsample) for part, x in parts.items()}
    tok_train, tok_test = tok["train"], tok["test"]
    clip_train, clip_test = clips(train, args.window, 2), clips(test, args.window, 8)
    result = {
        "pipeline": args.pipeline,
        "bits_per_frame": float(bits),
        f"interp_{args.downsample}_test_mm": interpolation_error(test, args.downsample),
        "smooth3_test_mm": jitter(test),
        **pca_errors(tok_train, tok_test, [16, 32, 64, 128], joints),
        **pca_errors(clip_train, clip_test, [64, 128, 256], joints, prefix="clip_pca"),
        **kmeans_rvq(tok, args.levels, args.codebook_size, joints),
        "gaussian_rd_rms_mm": gaussian_rd_rms_mm(train, args.window, float(bits)),
    }
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
