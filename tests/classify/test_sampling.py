"""Frame sampling (PYSKL's uniform sampling, multi-clip crops) and the test-time mirror."""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.classify.features import (
    InputConfig,
    crop_resize,
    make_input,
    mirror,
    sample_frames,
    uniform_frames,
    uniform_test_frames,
)
from skelpipe.skeleton import COCO17, NTU25


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("t", [64, 100, 333])
def test_uniform_takes_one_frame_from_each_segment(t: int) -> None:
    clip = 32
    for seed in range(20):
        inds = uniform_frames(t, clip, (1.0, 1.0), _rng(seed))
        bounds = np.arange(clip + 1) * t // clip
        assert inds.shape == (clip,)
        assert np.all((inds >= bounds[:-1]) & (inds < bounds[1:])), inds


def test_uniform_between_one_and_two_clips_keeps_order_and_skips_the_rest() -> None:
    t, clip = 45, 32
    for seed in range(20):
        inds = uniform_frames(t, clip, (1.0, 1.0), _rng(seed))
        assert np.all(np.diff(inds) >= 1) and inds[0] >= 0 and inds[-1] < t
        assert np.all(np.diff(inds) <= 1 + (t - clip))  # at most t - clip frames skipped


def test_uniform_short_sample_loops_consecutive_frames() -> None:
    t, clip = 10, 32
    inds = uniform_frames(t, clip, (1.0, 1.0), _rng(3))
    assert np.array_equal(np.diff(inds) % t, np.ones(clip - 1))  # consecutive, wrapping mod t
    assert set(inds.tolist()) == set(range(t))


def test_uniform_sub_range_stays_inside_the_sample() -> None:
    t, clip = 200, 16
    spans = []
    for seed in range(50):
        inds = uniform_frames(t, clip, (0.5, 1.0), _rng(seed))
        assert inds.min() >= 0 and inds.max() < t
        spans.append(inds.max() - inds.min())
    assert min(spans) < 0.75 * t < max(spans)  # the share varies over [0.5, 1]


def test_uniform_test_clips_are_reproducible_and_differ() -> None:
    a = uniform_test_frames(300, 32, 10, _rng(7))
    b = uniform_test_frames(300, 32, 10, _rng(7))
    assert a.shape == (10, 32) and np.array_equal(a, b)
    assert len({tuple(c) for c in a.tolist()}) == 10
    short = uniform_test_frames(20, 32, 4, _rng(0))  # short: clip i starts at i * t // clips
    assert [int(c[0]) for c in short] == [0, 5, 10, 15]


def test_multi_clip_crops_slide_from_start_to_end() -> None:
    t = 90
    sample = np.arange(t, dtype=np.float32)[:, None, None, None] + 1  # (T, 1, 1, 1) frame numbers
    centred = crop_resize(sample, 16, (0.9,), None)
    assert np.array_equal(crop_resize(sample, 16, (0.9,), None, (0, 1)), centred)
    first = crop_resize(sample, 16, (0.9,), None, (0, 3))
    last = crop_resize(sample, 16, (0.9,), None, (2, 3))
    middle = crop_resize(sample, 16, (0.9,), None, (1, 3))
    length = t - 2 * int(0.1 * t / 2)  # the centred crop's frames
    np.testing.assert_array_equal(first, crop_resize(sample[:length], 16, (1.0,), None))
    np.testing.assert_array_equal(last, crop_resize(sample[t - length :], 16, (1.0,), None))
    np.testing.assert_allclose(middle, centred)


def test_uniform_sampling_needs_a_generator_and_is_exact_frames() -> None:
    rng = _rng(1)
    sample = rng.normal(size=(70, 2, 25, 3)).astype(np.float32)
    cfg = InputConfig("joint", 16, (0.95,), 0.0, sampling="uniform", num_clips=3, clip=1)
    out = sample_frames(sample, cfg, _rng(5))
    inds = uniform_test_frames(70, 16, 3, _rng(5))[1]
    assert np.array_equal(out, sample[inds])
    with pytest.raises(ValueError, match="generator"):
        sample_frames(sample, cfg, None)


@pytest.mark.parametrize("layout", [NTU25, COCO17], ids=lambda lo: lo.name)
def test_mirror_is_an_involution_that_swaps_sides(layout) -> None:
    rng = _rng(2)
    data = rng.normal(size=(5, layout.max_persons, layout.num_joints, 3)).astype(np.float32)
    data[:, :, 3] = 0  # an absent joint stays absent
    flipped = mirror(data, layout)
    assert np.array_equal(mirror(flipped, layout), data)
    perm = layout.mirror_permutation()
    assert np.array_equal(flipped[..., 0], -data[:, :, perm, 0])
    assert np.array_equal(flipped[..., 1:], data[:, :, perm, 1:])
    assert not np.any(flipped[:, :, perm[3]])
    left = layout.body_parts[next(k for k in layout.body_parts if k.startswith("left_"))]
    assert np.any(perm[list(left)] != np.asarray(left))


def test_flip_is_applied_before_the_stream() -> None:
    rng = _rng(4)
    sample = rng.normal(size=(40, 2, 25, 3)).astype(np.float32)
    cfg = InputConfig("bone", 16, (0.95,), 0.0)
    flipped = make_input(sample, InputConfig("bone", 16, (0.95,), 0.0, flip=True), NTU25, None)
    plain = make_input(mirror(sample, NTU25), cfg, NTU25, None)
    np.testing.assert_array_equal(flipped, plain)
