"""Pseudo-heatmaps of keypoints: PoseConv3D's input, rendered in torch as a model front end.

Duan et al., "Revisiting Skeleton-based Action Recognition", CVPR 2022. Official code:
github.com/kennymckormick/pyskl, ``pyskl/datasets/pipelines/heatmap_related.py``
(``GeneratePoseTarget``) after ``pyskl/datasets/pipelines/augmentations.py`` (``PoseCompact``
with ``hw_ratio=1``, ``allow_imgpad=True``, then ``Resize`` to the heatmap size, no keeping of the
aspect ratio), as the test pipeline of ``configs/posec3d/slowonly_r50_ntu60_xsub/joint.py``.

Per sample, one box holds every present keypoint of all frames and persons; it is grown by
``padding`` about its centre, made square (the larger half-side wins) and mapped onto the
H x W grid (pixel centres at integer coordinates). Each joint gives a Gaussian
``score * exp(-d^2 / (2 sigma^2))``, a limb (a skeleton edge) the same with d the distance to its
segment and the smaller of its two scores; maps take the maximum over persons. As upstream, a
score under 1e-3 draws nothing, each Gaussian is cut to the pixels from ``int(c - 3 sigma)`` to
``int(c + 3 sigma)`` around its centre c (or the limb's bounding box), and a limb shorter than
one pixel is drawn as its first joint. Everything is vectorised over samples, frames, joints and
persons (no Python loops), so the renderer traces and exports to ONNX.

Deviations: keypoints are in any unit (metres for Kinect), so PoseCompact's integer rounding of
the box corners and its 10-pixel minimum box are not applied (a box is never narrower than 1e-6
units); absent keypoints are those whose channels are all zero (upstream: each coordinate that is
zero, whose score is then 0 as well).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

SCORE_EPS = 1e-3  # upstream EPS: keypoints (limbs) with a smaller score draw nothing
MIN_EXTENT = 1e-6  # smallest half-side of the box, in input units (all keypoints at one point)


@dataclass(frozen=True)
class HeatmapConfig:
    """Settings of the pseudo-heatmaps (defaults: PYSKL's NTU60 PoseConv3D training input).

    Attributes:
        mode: ``"joint"`` (one map per joint) or ``"limb"`` (one map per skeleton edge).
        size: (H, W) of the maps; 56 x 56 in training upstream (64 x 64 in its test pipeline).
        sigma: Gaussian standard deviation in pixels.
        padding: PoseCompact's padding ratio (the box grows to ``1 + padding`` times its extent).
        truncate: cut each Gaussian at +-3 sigma (integer pixel bounds) as upstream.
        score_channel: input channel 2 is the keypoint confidence (the peak of its Gaussian);
            otherwise every present keypoint scores 1 (and a z channel is ignored).
    """

    mode: str = "joint"
    size: tuple[int, int] = (56, 56)
    sigma: float = 0.6
    padding: float = 0.25
    truncate: bool = True
    score_channel: bool = False


def keypoints_and_scores(x: torch.Tensor, score_channel: bool) -> tuple[torch.Tensor, ...]:
    """Split (N, C, T, V, M) input into x, y, scores and the presence mask, (N, T, V, M) each.

    A keypoint whose channels are all zero is absent: its score is 0.
    """
    present = (x != 0).any(dim=1)  # (N, T, V, M)
    score = x[:, 2] if score_channel else torch.ones_like(x[:, 0])
    return x[:, 0], x[:, 1], torch.where(present, score, torch.zeros_like(score)), present


def _masked_range(c: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) min and max of c (N, T, V, M) over present entries (0, 0 when none is present)."""
    inf = torch.full_like(c, float("inf"))
    lo = torch.where(present, c, inf).flatten(1).amin(dim=1)
    hi = torch.where(present, c, -inf).flatten(1).amax(dim=1)
    any_present = present.flatten(1).any(dim=1)
    zero = torch.zeros_like(lo)
    return torch.where(any_present, lo, zero), torch.where(any_present, hi, zero)


def to_pixels(
    u: torch.Tensor, v: torch.Tensor, present: torch.Tensor, cfg: HeatmapConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Map x, y (N, T, V, M) to pixel columns, rows of the square padded box of each sample."""
    (x0, x1), (y0, y1) = _masked_range(u, present), _masked_range(v, present)
    half = torch.maximum(x1 - x0, y1 - y0) / 2 * (1 + cfg.padding)  # (N,): hw_ratio 1
    half = half.clamp(min=MIN_EXTENT)
    left = ((x0 + x1) / 2 - half).view(-1, 1, 1, 1)
    top = ((y0 + y1) / 2 - half).view(-1, 1, 1, 1)
    H, W = cfg.size
    scale = (2 * half).view(-1, 1, 1, 1)
    return (u - left) * (W / scale), (v - top) * (H / scale)


def _trunc(x: torch.Tensor) -> torch.Tensor:
    """``int()`` of Python (towards zero) from ops that ONNX opset 17 has."""
    return torch.where(x >= 0, torch.floor(x), torch.ceil(x))


def _window(grid: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, cfg: HeatmapConfig):
    """Pixels ``int(lo - 3 sigma) <= p <= int(hi + 3 sigma)``: (..., P) float mask (or 1)."""
    if not cfg.truncate:
        return torch.ones_like(grid)
    r = 3 * cfg.sigma
    lo, hi = _trunc(lo - r).unsqueeze(-1), _trunc(hi + r).unsqueeze(-1)
    return ((grid >= lo) & (grid <= hi)).to(grid.dtype)


def joint_maps(
    u: torch.Tensor, v: torch.Tensor, s: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
    cfg: HeatmapConfig,
) -> torch.Tensor:  # fmt: skip
    """Gaussians at pixel (u, v) (N, T, V, M) with peaks s -> maps (N, V, T, H, W), max over M.

    The Gaussian is separable: a row profile times a column profile (each with its window).
    """
    k = -0.5 / cfg.sigma**2
    gx = torch.exp(k * (cols - u.unsqueeze(-1)) ** 2) * _window(cols, u, u, cfg)  # (N,T,V,M,W)
    gy = torch.exp(k * (rows - v.unsqueeze(-1)) ** 2) * _window(rows, v, v, cfg)  # (N,T,V,M,H)
    peak = torch.where(s >= SCORE_EPS, s, torch.zeros_like(s))
    maps = (peak.unsqueeze(-1) * gy).unsqueeze(-1) * gx.unsqueeze(-2)  # (N, T, V, M, H, W)
    return maps.amax(dim=3).transpose(1, 2)  # (N, V, T, H, W)


def limb_maps(
    u: torch.Tensor, v: torch.Tensor, s: torch.Tensor, edges: torch.Tensor, rows: torch.Tensor,
    cols: torch.Tensor, cfg: HeatmapConfig,
) -> torch.Tensor:  # fmt: skip
    """Segment Gaussians of the edges (L, 2) -> maps (N, L, T, H, W), max over persons.

    Peak: the smaller score of the two joints; a limb shorter than one pixel is drawn as the
    Gaussian of its first joint with that joint's score (as upstream).
    """
    a, b = edges[:, 0], edges[:, 1]
    au, av, bu, bv = u[:, :, a], v[:, :, a], u[:, :, b], v[:, :, b]  # (N, T, L, M)
    du, dv = bu - au, bv - av
    d2ab = du**2 + dv**2
    short = d2ab < 1
    pu = (cols - au.unsqueeze(-1)).unsqueeze(-2)  # (N, T, L, M, 1, W): from a, per column
    pv = (rows - av.unsqueeze(-1)).unsqueeze(-1)  # (N, T, L, M, H, 1): from a, per row
    du6, dv6 = du[..., None, None], dv[..., None, None]
    t = (pu * du6 + pv * dv6) / d2ab.clamp(min=1)[..., None, None]  # projection on the segment
    t = torch.where(short[..., None, None], torch.zeros_like(t), t.clamp(0, 1))
    d2 = (pu - t * du6) ** 2 + (pv - t * dv6) ** 2  # (N, T, L, M, H, W)
    peak = torch.where(short, s[:, :, a], torch.minimum(s[:, :, a], s[:, :, b]))
    peak = torch.where(torch.minimum(s[:, :, a], s[:, :, b]) >= SCORE_EPS, peak, 0 * peak)
    lo_u = torch.where(short, au, torch.minimum(au, bu))
    hi_u = torch.where(short, au, torch.maximum(au, bu))
    lo_v = torch.where(short, av, torch.minimum(av, bv))
    hi_v = torch.where(short, av, torch.maximum(av, bv))
    box = (peak.unsqueeze(-1) * _window(rows, lo_v, hi_v, cfg)).unsqueeze(-1) * _window(
        cols, lo_u, hi_u, cfg
    ).unsqueeze(-2)  # (N, T, L, M, H, W): peak inside the window, 0 outside
    maps = box * torch.exp(d2 * (-0.5 / cfg.sigma**2))
    return maps.amax(dim=3).transpose(1, 2)  # (N, L, T, H, W)


class HeatmapRenderer(nn.Module):
    """Keypoints (N, C, T, V, M) -> pseudo-heatmaps (N, K, T, H, W); no learnt parameters.

    K = V joint maps (``mode="joint"``) or K = len(edges) limb maps (``mode="limb"``).

    Args:
        cfg: the heatmap settings.
        edges: (L, 2) 0-based joint pairs of the limbs (``Layout.edges()``); limb mode only.
    """

    def __init__(self, cfg: HeatmapConfig, edges: np.ndarray | None = None) -> None:
        super().__init__()
        if cfg.mode not in ("joint", "limb"):
            raise ValueError(f"heatmap mode must be 'joint' or 'limb', not {cfg.mode!r}")
        if cfg.mode == "limb" and edges is None:
            raise ValueError("limb heatmaps need the skeleton edges")
        self.cfg = cfg
        H, W = cfg.size
        self.register_buffer("rows", torch.arange(H, dtype=torch.float32), persistent=False)
        self.register_buffer("cols", torch.arange(W, dtype=torch.float32), persistent=False)
        e = np.zeros((0, 2), np.int64) if edges is None else np.asarray(edges, np.int64)
        self.register_buffer("edges", torch.from_numpy(e), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        u, v, s, present = keypoints_and_scores(x, self.cfg.score_channel)  # (N, T, V, M)
        u, v = to_pixels(u, v, present, self.cfg)
        if self.cfg.mode == "joint":
            return joint_maps(u, v, s, self.rows, self.cols, self.cfg)
        return limb_maps(u, v, s, self.edges, self.rows, self.cols, self.cfg)
