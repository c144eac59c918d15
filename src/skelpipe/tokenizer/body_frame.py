"""Canonical view: a per-sample rigid body frame, reversible and distance-preserving.

The body frame follows InfoGCN's alignment (Chi et al., "InfoGCN: Representation Learning for
Human Skeleton-based Action Recognition", CVPR 2022, ``utils.align_skeleton``): the "up" axis runs
along the spine (``layout.spine_up``, base -> top), the lateral axis along the hips
(``layout.hip_line``, right -> left), made orthogonal by Gram-Schmidt. Unlike the align stage
(:mod:`skelpipe.preprocess.align`, one frame per person) the axes here are averaged over every
valid frame of person 0, so one noisy frame cannot tilt the whole sample, and one transform serves
all persons, which keeps their relative placement.

Coordinates in the body frame: x = lateral (right -> left), y = up, z = x cross y (facing
direction). The transform is a proper rotation plus a translation, so
``from_body_frame(to_body_frame(x))`` gives ``x`` back and every distance between two present
joints, hence any MPJPE computed in the body frame, is unchanged.

Shapes: a sample is ``(M, T, V, 3)`` (persons, frames, joints, xyz). A (person, frame) whose
joints are all zero is absent; it stays all zero in both directions.
"""

from __future__ import annotations

import numpy as np

from skelpipe.exact import cross, dot, matmul, norm
from skelpipe.skeleton import Layout

_EPS = 1e-8  # norms below this count as zero (degenerate axes)
_COLLINEAR = 1e-6  # hips within ~1e-6 rad of the spine direction count as parallel to it


def present_frames(x: np.ndarray) -> np.ndarray:
    """(..., V, 3) -> (...) bool: the (person, frame) entries with any nonzero coordinate."""
    return np.any(x != 0, axis=(-2, -1))


def _mean_direction(vectors: np.ndarray) -> np.ndarray:
    """Mean of the unit vectors among ``vectors`` (F, 3); zero-length rows are left out."""
    norms = norm(vectors, axis=1)
    keep = norms > _EPS
    if not keep.any():
        return np.zeros(3)
    return (vectors[keep] / norms[keep, None]).mean(axis=0)


def body_frame(x: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """The rigid transform to the body frame of person 0.

    Args:
        x: (M, T, V, 3) joints; all-zero (person, frame) entries are absent.
        layout: provides ``spine_up`` (base, top) and ``hip_line`` (right, left).
    Returns:
        ``R`` (3, 3) float64, rows = body axes (lateral, up, facing), ``det(R) = +1``, and
        ``origin`` (3,) float64 = joint ``spine_up[0]`` of person 0's first valid frame.
        No valid frame gives the identity and a zero origin; a spine of zero length, or hips
        parallel to it, gives the identity with the origin.
    """
    person = x[0].astype(np.float64)  # (T, V, 3)
    valid = np.flatnonzero(present_frames(person))
    if valid.size == 0:
        return np.eye(3), np.zeros(3)
    base, top = layout.spine_up
    right, left = layout.hip_line
    origin = person[valid[0], base].copy()
    frames = person[valid]  # (F, V, 3)
    up = _mean_direction(frames[:, top] - frames[:, base])
    lateral = _mean_direction(frames[:, left] - frames[:, right])
    n_up = norm(up)
    if n_up <= _EPS:
        return np.eye(3), origin
    up = up / n_up
    n_hips = norm(lateral)
    lateral = lateral - dot(lateral, up) * up  # Gram-Schmidt
    n_lat = norm(lateral)
    if n_hips <= _EPS or n_lat <= _COLLINEAR * n_hips:
        return np.eye(3), origin
    lateral = lateral / n_lat
    facing = cross(lateral, up)
    return np.stack([lateral, up, facing]), origin


def to_body_frame(x: np.ndarray, R: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """``y = R (x - origin)`` on present entries; absent ones stay zero.

    Args:
        x: (..., V, 3), e.g. (M, T, V, 3).
        R: (3, 3) rotation from :func:`body_frame`.
        origin: (3,).
    Returns:
        same shape and dtype as ``x``.
    """
    present = present_frames(x)  # (...)
    y = matmul(x.astype(np.float64) - origin, np.asarray(R, dtype=np.float64).T)
    y[~present] = 0.0
    return y.astype(x.dtype)


def from_body_frame(y: np.ndarray, R: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_body_frame`: ``x = R^T y + origin``; absent entries stay zero.

    Args:
        y: (..., V, 3) body-frame joints.
    Returns:
        same shape and dtype as ``y``.
    """
    present = present_frames(y)  # (...)
    x = matmul(y.astype(np.float64), np.asarray(R, dtype=np.float64)) + origin
    x[~present] = 0.0
    return x.astype(y.dtype)
