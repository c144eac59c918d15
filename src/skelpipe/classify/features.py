"""Input streams and augmentation, as the CTR-GCN / InfoGCN feeders compute them, on numpy arrays.

A stored sample is ``(T, M, V, 3)``; :func:`make_input` turns it into the model input of one sample,
``(C, window, V, M)`` float32 (a batch of these is the ``(N, C, T, V, M)`` every model takes):

1. the frames: ``crop_resize`` (CTR-GCN's ``tools.valid_crop_resize``: valid-length crop resampled
   to ``window`` frames; training draws the crop ratio from ``p_interval = [lo, hi]``, evaluation
   uses a centred crop ``[p]``) or ``uniform`` (PYSKL's ``UniformSampleFrames``: one frame from
   each of ``window`` equal segments); evaluation can take several clips (:func:`clip_frames`);
2. optional random rotation about x, y, z by angles in ``[-theta, theta]`` (``tools.random_rot``);
3. optional left-right mirror (test-time flip; :func:`mirror`);
4. the stream: ``joint``, ``bone`` (joint minus its parent, bone pairs from ``skeleton.py``),
   ``joint_motion`` / ``bone_motion`` (frame differences, last frame zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skelpipe.exact import matmul
from skelpipe.skeleton import Layout

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")
SAMPLINGS = ("crop_resize", "uniform")


@dataclass(frozen=True)
class InputConfig:
    """How a sample becomes model input (one per stream and split)."""

    stream: str  # one of STREAMS
    window: int  # frames after resizing (CTR-GCN: 64)
    p_interval: tuple[float, ...]  # (lo, hi) random crop ratio when training; (p,) centred crop
    rotate_theta: float  # max rotation angle in radians (0 = off); CTR-GCN uses 0.3 when enabled
    sampling: str = "crop_resize"  # one of SAMPLINGS
    num_clips: int = 1  # evaluation clips per sample (their scores are averaged)
    clip: int = 0  # which of them this input is
    flip: bool = False  # mirror left and right (test-time augmentation)


def valid_length(sample: np.ndarray) -> int:
    """Frames up to the last one with any nonzero value (stored samples have no tail padding)."""
    nonzero = np.flatnonzero(np.any(sample.reshape(sample.shape[0], -1) != 0, axis=1))
    return int(nonzero[-1]) + 1 if nonzero.size else 0


def crop_resize(
    sample: np.ndarray,
    window: int,
    p_interval: tuple[float, ...],
    rng: np.random.Generator | None,
    clip: tuple[int, int] = (0, 1),
) -> np.ndarray:
    """Crop a sub-sequence of the valid frames and resample it linearly to ``window`` frames.

    Args:
        sample: (T, M, V, C).
        p_interval: ``(lo, hi)``: random crop of ``max(floor(T * p), window)`` frames (at most T),
            ``p ~ U(lo, hi)``, at a random offset; ``(p,)``: centred crop keeping a share p.
        clip: ``(c, k)``: with a ``(p,)`` interval and k > 1 clips, clip c keeps the same share at
            offset ``c / (k - 1)`` of the free frames (clip 0 the start, clip k - 1 the end);
            k = 1 is the centred crop.
    Returns:
        (window, M, V, C) float32.
    """
    t = max(valid_length(sample), 1)
    data = sample[:t]
    if len(p_interval) == 1 and clip[1] > 1:
        length = max(t - 2 * int((1 - p_interval[0]) * t / 2), 1)
        start = (t - length) * clip[0] // (clip[1] - 1)
        data = data[start : start + length]
    elif len(p_interval) == 1:
        bias = int((1 - p_interval[0]) * t / 2)
        data = data[bias : t - bias] if t - 2 * bias > 0 else data
    else:
        lo, hi = p_interval
        p = (rng.random() if rng is not None else 0.5) * (hi - lo) + lo
        length = int(min(max(int(np.floor(t * p)), window), t))
        start = int(rng.integers(0, t - length + 1)) if rng is not None else (t - length) // 2
        data = data[start : start + length]
    return _resize(data, window)


def _segment_frames(n: int, clip_len: int, rng: np.random.Generator) -> np.ndarray:
    """One random frame of each of ``clip_len`` equal segments of ``n >= clip_len`` frames; for
    ``n < 2 * clip_len`` every frame once plus ``n - clip_len`` random skips (PYSKL's rule)."""
    if n < 2 * clip_len:
        skips = np.zeros(clip_len + 1, dtype=np.int64)
        skips[rng.choice(clip_len + 1, n - clip_len, replace=False)] = 1
        return np.arange(clip_len) + np.cumsum(skips)[:-1]
    bounds = np.arange(clip_len + 1) * n // clip_len  # segment starts, then n
    return bounds[:-1] + rng.integers(np.diff(bounds))


def uniform_frames(
    t: int, clip_len: int, p_interval: tuple[float, ...], rng: np.random.Generator
) -> np.ndarray:
    """Training frame indices (clip_len,) of PYSKL's ``UniformSampleFrames`` over ``t`` frames.

    A sub-range of ``floor(t * p)`` frames, ``p ~ U(lo, hi)``, at a random offset; from it one frame
    per segment, or, when it is shorter than ``clip_len``, consecutive frames from a random start;
    indices past the end wrap around (``mod t``). ``(p,)`` fixes the share.
    """
    lo, hi = (p_interval[0], p_interval[-1])
    n = max(int((rng.random() * (hi - lo) + lo) * t), 1)
    offset = int(rng.integers(t - n + 1))
    if n < clip_len:
        inds = int(rng.integers(0, n)) + np.arange(clip_len)
    else:
        inds = _segment_frames(n, clip_len, rng)
    return (inds + offset) % t


def uniform_test_frames(
    t: int, clip_len: int, num_clips: int, rng: np.random.Generator
) -> np.ndarray:
    """Frame indices (num_clips, clip_len) of PYSKL's test clips (``p_interval`` 1) over ``t``
    frames: short samples start clip i at frame ``i`` (or ``i * t // num_clips``), longer ones
    draw each clip's segment frames in turn from ``rng`` (seeded per sample: reproducible)."""
    clips = []
    for i in range(num_clips):
        if t < clip_len:
            start = i if t < num_clips else i * t // num_clips
            clips.append(start + np.arange(clip_len))
        else:
            clips.append(_segment_frames(t, clip_len, rng))
    return np.stack(clips) % t


def sample_frames(
    sample: np.ndarray, cfg: InputConfig, rng: np.random.Generator | None
) -> np.ndarray:
    """(T, M, V, C) -> (window, M, V, C) float32 by ``cfg.sampling``; ``rng`` None = evaluation
    (``uniform`` evaluation needs a per-sample ``rng`` too: its clips are drawn)."""
    if cfg.sampling == "crop_resize":
        return crop_resize(sample, cfg.window, cfg.p_interval, rng, (cfg.clip, cfg.num_clips))
    if cfg.sampling != "uniform":
        raise ValueError(f"unknown sampling {cfg.sampling!r}; known: {SAMPLINGS}")
    if rng is None:
        raise ValueError("uniform sampling needs a random generator (seeded per sample)")
    t = max(valid_length(sample), 1)
    if len(cfg.p_interval) == 2:
        inds = uniform_frames(t, cfg.window, cfg.p_interval, rng)
    else:
        inds = uniform_test_frames(t, cfg.window, cfg.num_clips, rng)[cfg.clip]
    return sample[inds].astype(np.float32, copy=False)


def mirror(data: np.ndarray, layout: Layout) -> np.ndarray:
    """Left-right mirror of (T, M, V, C) joints: left and right joints swapped, x negated
    (about the origin: aligned 3-D data is centred; for image coordinates the models that see
    them are translation invariant). Absent (all-zero) joints stay zero."""
    out = data[:, :, layout.mirror_permutation()].copy()
    out[..., 0] = -out[..., 0]
    return out


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
    data = sample_frames(sample, cfg, rng)
    if cfg.rotate_theta > 0 and rng is not None:
        data = random_rotate(data, cfg.rotate_theta, rng)
    if cfg.flip:
        data = mirror(data, layout)
    data = to_stream(data, cfg.stream, layout)
    return np.ascontiguousarray(data.transpose(3, 0, 2, 1))  # (T, M, V, C) -> (C, T, V, M)
