"""Pseudo-heatmaps: peaks, limbs, absent joints, persons, invariances, and PYSKL's pipeline.

The reference below is a plain numpy re-implementation, written for this test, of what PYSKL's
``PoseCompact(hw_ratio=1, allow_imgpad=True)`` -> ``Resize((S, S), keep_ratio=False)`` ->
``GeneratePoseTarget`` compute (``pyskl/datasets/pipelines/augmentations.py`` and
``heatmap_related.py``): one keypoint, one limb, one frame at a time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from skelpipe.models.heatmaps import HeatmapConfig, HeatmapRenderer, joint_maps, limb_maps
from skelpipe.skeleton import COCO17

pytestmark = pytest.mark.usefixtures("single_thread")
SIZE = 32


def _grid(size: int = SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.arange(size, dtype=torch.float32)
    return g, g


# ---------------------------------------------------------------- numpy reference (PYSKL)
def _ref_box(kp: np.ndarray, padding: float = 0.25) -> tuple[float, float, float, float]:
    """PoseCompact with hw_ratio 1: (left, top, width, height) of the padded square box."""
    xs, ys = kp[..., 0][kp[..., 0] != 0], kp[..., 1][kp[..., 1] != 0]
    cx, cy = (xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2
    half = max(xs.max() - xs.min(), ys.max() - ys.min()) / 2 * (1 + padding)
    x0, x1, y0, y1 = int(cx - half), int(cx + half), int(cy - half), int(cy + half)
    return x0, y0, x1 - x0, y1 - y0


def _ref_point(arr, mu, value, sigma):
    if value < 1e-3:
        return
    h, w = arr.shape
    x0, x1 = max(int(mu[0] - 3 * sigma), 0), min(int(mu[0] + 3 * sigma) + 1, w)
    y0, y1 = max(int(mu[1] - 3 * sigma), 0), min(int(mu[1] + 3 * sigma) + 1, h)
    for r in range(y0, y1):
        for c in range(x0, x1):
            g = value * math.exp(-((c - mu[0]) ** 2 + (r - mu[1]) ** 2) / (2 * sigma**2))
            arr[r, c] = max(arr[r, c], g)


def _ref_limb(arr, a, b, va, vb, sigma):
    if min(va, vb) < 1e-3:
        return
    if (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 < 1:
        return _ref_point(arr, a, va, sigma)
    h, w = arr.shape
    x0, x1 = max(int(min(a[0], b[0]) - 3 * sigma), 0), min(int(max(a[0], b[0]) + 3 * sigma) + 1, w)
    y0, y1 = max(int(min(a[1], b[1]) - 3 * sigma), 0), min(int(max(a[1], b[1]) + 3 * sigma) + 1, h)
    ab = np.asarray(b, np.float64) - a
    for r in range(y0, y1):
        for c in range(x0, x1):
            p = np.array([c, r], np.float64)
            t = min(max(np.dot(p - a, ab) / np.dot(ab, ab), 0.0), 1.0)
            d2 = np.sum((p - a - t * ab) ** 2)
            arr[r, c] = max(arr[r, c], min(va, vb) * math.exp(-d2 / (2 * sigma**2)))


def _reference(kp: np.ndarray, score: np.ndarray, mode: str, size: int) -> np.ndarray:
    """kp (M, T, V, 2) pixels, score (M, T, V) -> heatmaps (K, T, size, size)."""
    x0, y0, w, h = _ref_box(kp)
    px = np.where(kp != 0, kp - (x0, y0), 0) * (size / w, size / h)
    M, T, V = score.shape
    edges = COCO17.edges()
    out = np.zeros((V if mode == "joint" else len(edges), T, size, size))
    for t in range(T):
        for m in range(M):
            if mode == "joint":
                for v in range(V):
                    _ref_point(out[v, t], px[m, t, v], score[m, t, v], 0.6)
            else:
                for i, (a, b) in enumerate(edges):
                    _ref_limb(out[i, t], px[m, t, a], px[m, t, b], *score[m, t, [a, b]], 0.6)
    return out


def _example(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """COCO keypoints in pixels (M=2, T=3, V=17) with integer padded-box corners, scores
    under 1e-3, an absent person in one frame and a limb shorter than one output pixel."""
    rng = np.random.default_rng(seed)
    kp = np.stack([rng.uniform(110, 490, (2, 3, 17)), rng.uniform(210, 430, (2, 3, 17))], -1)
    kp[0, 0, 0], kp[0, 1, 1] = (100, 200), (500, 440)  # box [50, 550] x [70, 570]
    score = rng.uniform(0, 1, (2, 3, 17))
    score[1, 1, :4] = 5e-4
    kp[1, 2], score[1, 2] = 0, 0
    kp[0, 2, 7] = kp[0, 2, 5] + 2.0  # limb 5-7: 2 px in the image, 0.13 px in the maps
    return kp.astype(np.float32), score.astype(np.float32)


@pytest.mark.parametrize("mode", ["joint", "limb"])
def test_matches_a_numpy_reimplementation_of_pyskl(mode: str) -> None:
    kp, score = _example()
    ref = _reference(kp, score, mode, SIZE)
    renderer = HeatmapRenderer(
        HeatmapConfig(mode, (SIZE, SIZE), score_channel=True), COCO17.edges()
    )
    x = torch.from_numpy(np.concatenate([kp, score[..., None]], -1)).permute(3, 1, 2, 0)[None]
    got = renderer(x)[0].double().numpy()  # (K, T, H, W)
    assert ref.max() > 0.5 and (ref > 0).mean() > 0.01  # a non-trivial picture
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_peak_sits_on_the_mapped_pixel_with_the_score_as_value() -> None:
    """A box of 25.6 units padded by 1.25 is 32 units wide: unit i maps to pixel i."""
    g = torch.Generator().manual_seed(0)
    V = COCO17.num_joints
    xy = torch.randint(5, 28, (2, V), generator=g).float()
    xy[:, 0], xy[:, 1] = torch.tensor([3.2, 3.2]), torch.tensor([28.8, 28.8])  # box corners
    score = torch.rand(V, generator=g) * 0.9 + 0.1
    x = torch.zeros(1, 3, 1, V, 2)
    x[0, :2, 0, :, 0], x[0, 2, 0, :, 0] = xy, score
    maps = HeatmapRenderer(HeatmapConfig(size=(SIZE, SIZE), score_channel=True))(x)[0, :, 0]
    flat = maps[2:].flatten(1)  # joints 0, 1 (the corners) are off the pixel grid
    assert torch.allclose(flat.amax(1), score[2:], atol=1e-5)
    rows, cols = flat.argmax(1) // SIZE, flat.argmax(1) % SIZE
    assert torch.equal(cols, xy[0, 2:].long()) and torch.equal(rows, xy[1, 2:].long())


def test_limb_is_the_max_of_joint_gaussians_along_the_segment() -> None:
    rows, cols = _grid()
    cfg = HeatmapConfig(mode="limb", size=(SIZE, SIZE), truncate=False)
    a, b = torch.tensor([4.3, 6.7]), torch.tensor([25.1, 20.2])
    u, v = torch.stack([a[0], b[0]]).view(1, 1, 2, 1), torch.stack([a[1], b[1]]).view(1, 1, 2, 1)
    s = torch.tensor([0.9, 0.7]).view(1, 1, 2, 1)
    limb = limb_maps(u, v, s, torch.tensor([[0, 1]]), rows, cols, cfg)[0, 0, 0]  # (H, W)
    w = torch.linspace(0, 1, 1001)
    pts = a + w[:, None] * (b - a)  # (P, 2) along the segment
    pu, pv = pts[:, 0].view(1, 1, -1, 1), pts[:, 1].view(1, 1, -1, 1)
    along = joint_maps(pu, pv, torch.full_like(pu, 0.7), rows, cols, cfg)[0, :, 0].amax(0)
    torch.testing.assert_close(limb, along, atol=5e-4, rtol=0)  # 0.03 px sampling
    assert abs(limb.max().item() - 0.7) < 1e-3  # the smaller score of the two joints


def test_absent_joints_draw_nothing_and_do_not_move_the_box() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 2, 4, COCO17.num_joints, 2, generator=g) + 0.5
    x[:, :, :, 3] = 0  # joint 3 absent everywhere
    x[1] = 0  # sample 1: nothing at all
    renderer = HeatmapRenderer(HeatmapConfig(size=(SIZE, SIZE)))
    maps = renderer(x)
    assert torch.isfinite(maps).all() and maps[0].amax() > 0.9
    assert maps[0, 3].abs().max() == 0 and maps[1].abs().max() == 0
    absent_limbs = [i for i, e in enumerate(COCO17.edges()) if 3 in e]
    limbs = HeatmapRenderer(HeatmapConfig("limb", (SIZE, SIZE)), COCO17.edges())(x)
    assert limbs[0, absent_limbs].abs().max() == 0 and limbs[0].amax() > 0.9
    # joint 3 present inside the box instead (at the centroid): the other maps stay the same
    y = x.clone()
    y[0, :, :, 3] = x[0].mean(dim=(2, 3), keepdim=True)[..., 0] * 17 / 16
    other = renderer(y)
    keep = [v for v in range(COCO17.num_joints) if v != 3]
    assert other[0, 3].amax() > 0.5
    torch.testing.assert_close(other[0, keep], maps[0, keep], atol=1e-6, rtol=0)


def test_maps_take_the_max_over_persons() -> None:
    rows, cols = _grid()
    cfg = HeatmapConfig(size=(SIZE, SIZE))
    g = torch.Generator().manual_seed(2)
    u, v = torch.rand(1, 3, 5, 2, generator=g) * SIZE, torch.rand(1, 3, 5, 2, generator=g) * SIZE
    s = torch.rand(1, 3, 5, 2, generator=g)
    both = joint_maps(u, v, s, rows, cols, cfg)
    alone = [joint_maps(u[..., m : m + 1], v[..., m : m + 1], s[..., m : m + 1], rows, cols, cfg)
             for m in range(2)]  # fmt: skip
    assert torch.equal(both, torch.maximum(*alone)) and not torch.equal(both, alone[0])


def test_invariant_to_a_global_shift_and_scale() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 2, 3, COCO17.num_joints, 2, generator=g) + 0.5
    renderer = HeatmapRenderer(HeatmapConfig("limb", (SIZE, SIZE)), COCO17.edges())
    moved = x * 3.7 + torch.tensor([5.0, -2.0]).view(1, 2, 1, 1, 1)
    torch.testing.assert_close(renderer(moved), renderer(x), atol=1e-4, rtol=0)
