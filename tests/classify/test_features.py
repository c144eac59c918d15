"""Streams and augmentation: bone/motion definitions, crop-resize, rotation invariants."""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.classify.features import (
    InputConfig,
    crop_resize,
    make_input,
    random_rotate,
    to_stream,
)
from skelpipe.skeleton import NTU25, UCLA20


def _sample(t: int = 40, m: int = 2, v: int = 25, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(t, m, v, 3)).astype(np.float32)


@pytest.mark.parametrize("layout", [NTU25, UCLA20])
def test_bone_stream_is_joint_minus_parent_and_root_is_zero(layout) -> None:
    x = _sample(v=layout.num_joints, m=layout.max_persons)
    bone = to_stream(x, "bone", layout)
    child, parent = layout.bone_index()
    root = child[child == parent]
    assert root.size == 1 and np.all(bone[:, :, root] == 0)
    for c, p in zip(child, parent, strict=True):
        np.testing.assert_allclose(bone[:, :, c], x[:, :, c] - x[:, :, p])


def test_motion_streams() -> None:
    x = _sample()
    jm = to_stream(x, "joint_motion", NTU25)
    np.testing.assert_allclose(jm[:-1], x[1:] - x[:-1])
    assert np.all(jm[-1] == 0)
    bm = to_stream(x, "bone_motion", NTU25)
    b = to_stream(x, "bone", NTU25)
    np.testing.assert_allclose(bm[:-1], b[1:] - b[:-1], atol=1e-6)


def test_crop_resize_identity_and_valid_length() -> None:
    x = _sample(t=64)
    np.testing.assert_allclose(crop_resize(x, 64, (1.0,), None), x, atol=1e-6)
    padded = np.concatenate([x[:30], np.zeros((20, 2, 25, 3), np.float32)])
    out = crop_resize(padded, 60, (1.0,), None)  # only the 30 valid frames are stretched
    np.testing.assert_allclose(out[0], x[0], atol=1e-6)
    np.testing.assert_allclose(out[-1], x[29], atol=1e-6)
    assert not np.any(np.all(out.reshape(60, -1) == 0, axis=1))


def test_random_crop_stays_inside_the_sequence() -> None:
    x = np.arange(100, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 25, 3), np.float32)
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = crop_resize(x, 64, (0.5, 1.0), rng)[:, 0, 0, 0]
        assert out.shape == (64,) and np.all(np.diff(out) >= 0)
        assert out[0] >= 0 and out[-1] <= 99 and out[-1] - out[0] >= 64 * 0.5 - 2


def test_rotation_preserves_lengths_and_zeros() -> None:
    x = _sample()
    x[:, 1] = 0
    y = random_rotate(x, 0.3, np.random.default_rng(1))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)
    assert np.all(y[:, 1] == 0)


def test_make_input_layout() -> None:
    cfg = InputConfig(stream="joint", window=32, p_interval=(0.95,), rotate_theta=0.0)
    out = make_input(_sample(t=50), cfg, NTU25, None)
    assert out.shape == (3, 32, 25, 2) and out.dtype == np.float32
