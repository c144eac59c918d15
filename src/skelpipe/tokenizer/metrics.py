"""Reconstruction metrics of the skeleton tokenizer, on numpy arrays in the store's units (metres
for x, y, z, reported in mm; image coordinates reported in pixels, :func:`store_units`).

* MPJPE: mean per-joint position error (Ionescu et al., Human3.6M, TPAMI 2014), in mm;
* PA-MPJPE: MPJPE after a per-frame similarity Procrustes alignment (rotation, translation and
  scale; Umeyama, TPAMI 1991), in mm;
* acceleration error: mean distance between second differences along time (Kanazawa et al.,
  HMMR, CVPR 2019), in mm / frame^2;
* PCK@50mm: share of joints within 50 mm (PCK@10px for image coordinates).

Shapes: ``pred`` and ``target`` are (N, T, V, C), C = 3 or 2; ``mask`` is (N, T) (frames,
persons folded into N) or (N, T, V) (joints), true where the target is present. Only masked-in
entries count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

MM = 1000.0  # metres -> millimetres
PCK_MM = 50.0  # PCK threshold for x, y, z (mm)
PCK_PX = 10.0  # PCK threshold for image coordinates (pixels of the source image)
PCK_UNIT = 0.05  # ... for 2-D coordinates scaled to [-1, 1] by each sample's box


@dataclass(frozen=True)
class Units:
    """How a store's coordinates are reported: the unit's name (a metric key suffix), the factor
    per channel from store units to it, and the PCK threshold in it."""

    name: str
    factor: tuple[float, ...]
    pck: float


METRES = Units("mm", (MM, MM, MM), PCK_MM)


def store_units(attrs: Mapping[str, Any], channels: int) -> Units:
    """The units of a store: x, y, z in metres -> mm; image coordinates -> pixels, undoing the
    align stage's scaling to [-1, 1] when the store records the image size (NTU ``color2d`` /
    ``depth2d``, imported keypoints of one image size), as read for an unaligned import (pixels);
    ``u`` (the [-1, 1] box units) for 2-D keypoints aligned without a common image size."""
    if channels == 3:
        return METRES
    size = attrs.get("image_size")
    if size is not None:
        h, w = size
        return Units("px", (w / 2, h / 2), PCK_PX)
    if attrs.get("aligned"):  # scaled to [-1, 1] by boxes of unknown images: no pixels left
        return Units("u", (1.0,) * channels, PCK_UNIT)
    return Units("px", (1.0,) * channels, PCK_PX)


def _joint_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(N, T) or (N, T, V) -> (N, T, V) float64 weights."""
    m = np.asarray(mask, dtype=np.float64)
    if m.ndim == 2:
        m = np.broadcast_to(m[:, :, None], shape[:3])
    return m


def _masked_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float((values * weights).sum() / total) if total > 0 else float("nan")


def joint_errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N, T, V, 3) x 2 -> (N, T, V) Euclidean distances (same units as the input)."""
    return np.linalg.norm(pred.astype(np.float64) - target.astype(np.float64), axis=-1)


def mpjpe(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, scale: float = MM) -> float:
    """Mean per-joint position error (in mm for metres) over the masked-in joints."""
    w = _joint_mask(mask, pred.shape)
    return scale * _masked_mean(joint_errors(pred, target), w)


def mpjpe_per_part(
    pred: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    parts: dict[str, tuple[int, ...]],
    scale: float = MM,
) -> dict[str, float]:
    """MPJPE (mm for metres) of each body part, e.g. ``layout.body_parts``."""
    err, w = joint_errors(pred, target), _joint_mask(mask, pred.shape)
    return {
        name: scale * _masked_mean(err[..., list(j)], w[..., list(j)]) for name, j in parts.items()
    }


def procrustes_align(pred: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Similarity transform of each frame of ``pred`` onto ``target`` (weighted Umeyama).

    Args:
        pred, target: (F, V, D), D = 3 or 2.
        weights: (F, V), joints with weight 0 do not influence the fit.
    Returns:
        (F, V, D) aligned ``pred``. Frames with under 3 weighted joints or no spread are only
        translated.
    """
    D = pred.shape[-1]
    X, Y, w = pred.astype(np.float64), target.astype(np.float64), weights.astype(np.float64)
    wsum = np.maximum(w.sum(axis=1), 1e-12)[:, None, None]  # (F, 1, 1)
    wx = w[:, :, None]
    mu_x, mu_y = (wx * X).sum(1, keepdims=True) / wsum, (wx * Y).sum(1, keepdims=True) / wsum
    Xc, Yc = X - mu_x, Y - mu_y  # (F, V, D)
    var_x = (wx * Xc**2).sum(axis=(1, 2)) / wsum[:, 0, 0]  # (F,)
    cov = np.einsum("fvi,fvj->fij", wx * Yc, Xc) / wsum  # (F, D, D): sum w y x^T
    U, sv, Vt = np.linalg.svd(cov)
    S = np.ones((len(X), D))
    S[:, -1] = np.sign(np.linalg.det(U) * np.linalg.det(Vt))  # no reflections
    S[S == 0] = 1.0
    R = U @ (S[:, :, None] * Vt)  # (F, D, D)
    ok = (var_x > 1e-12) & ((w > 0).sum(axis=1) >= 3)
    scale = np.where(ok, (sv * S).sum(axis=1) / np.where(ok, var_x, 1.0), 1.0)  # (F,)
    R[~ok] = np.eye(D)
    aligned = scale[:, None, None] * np.einsum("fij,fvj->fvi", R, Xc)
    return aligned + mu_y


def pa_mpjpe(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, scale: float = MM) -> float:
    """MPJPE after per-frame Procrustes alignment with scale, over masked-in frames."""
    N, T, V, C = pred.shape
    w = _joint_mask(mask, pred.shape).reshape(N * T, V)  # (N*T, V)
    frames = w.sum(axis=1) > 0
    p = pred.reshape(N * T, V, C)[frames]  # (F, V, C) frames with any joint present
    t = target.reshape(N * T, V, C)[frames]
    err = joint_errors(procrustes_align(p, t, w[frames]), t)
    return scale * _masked_mean(err, w[frames])


def acceleration_error(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray, scale: float = MM
) -> float:
    """Mean distance (mm / frame^2 for metres) between the second differences of ``pred`` and
    ``target``, on joints present in three consecutive frames."""
    w = _joint_mask(mask, pred.shape)
    if pred.shape[1] < 3:
        return float("nan")
    d = pred.astype(np.float64) - target.astype(np.float64)  # acceleration is linear
    acc = d[:, 2:] - 2 * d[:, 1:-1] + d[:, :-2]  # (N, T-2, V, C)
    return scale * _masked_mean(np.linalg.norm(acc, axis=-1), w[:, 2:] * w[:, 1:-1] * w[:, :-2])


def pck(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, threshold: float = 0.05) -> float:
    """Share of masked-in joints within ``threshold`` (store units) of the target."""
    w = _joint_mask(mask, pred.shape)
    return _masked_mean((joint_errors(pred, target) <= threshold).astype(np.float64), w)


def reconstruction_metrics(
    pred: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    parts: dict[str, tuple[int, ...]] | None = None,
    units: Units = METRES,
) -> dict[str, float]:
    """Flat metrics dict: ``mpjpe_mm``, ``pa_mpjpe_mm``, ``accel_error_mm``, ``pck_50mm`` and,
    with ``parts``, ``mpjpe_mm_<part>`` (``px`` and ``pck_10px`` for image coordinates)."""
    factor = np.asarray(units.factor, dtype=np.float64)
    scale = float(factor[0])
    if not np.all(factor == scale):  # per-channel factors: convert first, then report as is
        pred, target = pred.astype(np.float64) * factor, target.astype(np.float64) * factor
        scale = 1.0
    u = units.name
    out = {
        f"mpjpe_{u}": mpjpe(pred, target, mask, scale),
        f"pa_mpjpe_{u}": pa_mpjpe(pred, target, mask, scale),
        f"accel_error_{u}": acceleration_error(pred, target, mask, scale),
        f"pck_{units.pck:g}{u}": pck(pred, target, mask, units.pck / scale),
    }
    for name, value in mpjpe_per_part(pred, target, mask, parts or {}, scale).items():
        out[f"mpjpe_{u}_{name}"] = value
    return out
