"""Input streams and augmentation, as the CTR-GCN / InfoGCN feeders compute them, on numpy arrays.

A stored sample is ``(T, M, V, 3)``; :func:`make_input` turns it into the model input of one sample,
``(C, window, V, M)`` float32 (a batch of these is the ``(N, C, T, V, M)`` every model takes):

1. valid-length crop and resize to ``window`` frames (``tools.valid_crop_resize``): training draws
   the crop ratio from ``p_interval = [lo, hi]``, evaluation uses a centred crop ``[p]``;
2. optional random rotation about x, y, z by angles in ``[-theta, theta]`` (``tools.random_rot``);
3. the stream: ``joint``, ``bone`` (joint minus its parent, bone pairs from ``skeleton.py``),
   ``joint_motion`` / ``bone_motion`` (frame differences, last frame zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skelpipe.exact import matmul
from skelpipe.skeleton import Layout

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")


@dataclass(frozen=True)
class InputConfig:
    """How a sample becomes model input (one per stream and split)."""

    stream: str  # one of STREAMS
    window: int  # frames after resizing (CTR-GCN: 64)
    p_interval: tuple[float, ...]  # (lo, hi) random crop ratio when training; (p,) centred crop
    rotate_theta: float  # max rotation angle in radians (0 = off); CTR-GCN uses 0.3 when enabled


def valid_length(sample: np.ndarray) -> int:
    """Frames up to the last one with any nonzero value (stored samples have no tail padding)."""
    nonzero = np.flatnonzero(np.any(sample.reshape(sample.shape[0], -1) != 0, axis=1))
    return int(nonzero[-1]) + 1 if nonzero.size else 0


def crop_resize(
    sample: np.ndarray, window: int, p_interval: tuple[float, ...], rng: np.random.Generator | None
) -> np.ndarray:
    """Crop a sub-sequence of the valid frames and resample it linearly to ``window`` frames.

    Args:
        sample: (T, M, V, C).
        p_interval: ``(lo, hi)``: random crop of ``max(floor(T * p), window)`` frames (at most T),
            ``p ~ U(lo, hi)``, at a random offset; ``(p,)``: centred crop keeping a share p.
    Returns:
        (window, M, V, C) float32.
    """
    t = max(valid_length(sample), 1)
    data = sample[:t]
    if len(p_interval) == 1:
        bias = int((1 - p_interval[0]) * t / 2)
        data = data[bias : t - bias] if t - 2 * bias > 0 else data
    else:
        lo, hi = p_interval
        p = (rng.random() if rng is not None else 0.5) * (hi - lo) + lo
        length = int(min(max(int(np.floor(t * p)), window), t))
        start = int(rng.integers(0, t - length + 1)) if rng is not None else (t - length) // 2
        data = data[start : start + length]
    return _resize(data, window)


def _resize(data: np.ndarray, window: int) -> np.ndarray:
    """Linear interpolation along time with half-pixel centres (``F.interpolate``, no corners)."""
    n = data.shape[0]
    pos = (np.arange(window, dtype=np.float64) + 0.5) * (n / window) - 0.5
    pos = np.clip(pos, 0, n - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (pos - i0).astype(np.float32).reshape(-1, *([1] * (data.ndim - 1)))
    return (data[i0] * (1 - w) + data[i1] * w).astype(np.float32)


def rotation_matrix(angles: np.ndarray) -> np.ndarray:
    """R = Rz @ Ry @ Rx for angles (ax, ay, az) in radians; (3, 3)."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return matmul(matmul(rz, ry), rx)


def random_rotate(data: np.ndarray, theta: float, rng: np.random.Generator) -> np.ndarray:
    """Rotate every frame of (T, M, V, C) by one random rotation; zero joints stay zero.

    C = 3: about the three axes (CTR-GCN's random_rot); C = 2: in the image plane; further
    channels (a keypoint score) are left as they are.
    """
    if data.shape[-1] == 3:
        rot = rotation_matrix(rng.uniform(-theta, theta, size=3)).astype(np.float32)
        return matmul(data, rot.T)
    a = rng.uniform(-theta, theta)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]], dtype=np.float32)
    out = data.copy()
    out[..., :2] = matmul(data[..., :2], rot.T)
    return out


def to_stream(data: np.ndarray, stream: str, layout: Layout) -> np.ndarray:
    """(T, M, V, C) joints -> the requested stream, same shape."""
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; known: {STREAMS}")
    out = data
    if stream.startswith("bone"):
        child, parent = layout.bone_index()
        out = np.zeros_like(data)
        out[:, :, child] = data[:, :, child] - data[:, :, parent]
    if stream.endswith("motion"):
        motion = np.zeros_like(out)
        motion[:-1] = out[1:] - out[:-1]
        out = motion
    return out


def make_input(
    sample: np.ndarray, cfg: InputConfig, layout: Layout, rng: np.random.Generator | None
) -> np.ndarray:
    """A stored sample (T, M, V, C) -> model input (C, window, V, M) float32."""
    data = crop_resize(sample, cfg.window, cfg.p_interval, rng)
    if cfg.rotate_theta > 0 and rng is not None:
        data = random_rotate(data, cfg.rotate_theta, rng)
    data = to_stream(data, cfg.stream, layout)
    return np.ascontiguousarray(data.transpose(3, 0, 2, 1))  # (T, M, V, C) -> (C, T, V, M)
