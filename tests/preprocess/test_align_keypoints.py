"""The align stage on imported samples (M, T, V, C): x, y, z through align_sample, image
coordinates through PYSKL's PreNormalize2D (fix with the image size, auto without)."""

from __future__ import annotations

import dataclasses

import numpy as np
import yaml

from skelpipe.params import AlignParams, from_mapping
from skelpipe.preprocess.align import (
    SCORE_THRESHOLD,
    align_keypoints,
    align_sample,
    prenormalize_2d,
)
from skelpipe.skeleton import COCO17, NTU25
from tests.helpers import ROOT

PARAMS = from_mapping(
    AlignParams,
    yaml.safe_load((ROOT / "pipelines/keypoints/params.yaml").read_text())["align"],
    "align",
)


def test_xyz_goes_through_the_align_steps() -> None:
    rng = np.random.default_rng(0)
    kp = rng.normal(size=(2, 9, 25, 3)).astype(np.float32)
    for p in (PARAMS, dataclasses.replace(PARAMS, center=True, prenormalize=False)):
        out = align_keypoints(kp, None, None, p, NTU25)
        expected = align_sample(kp.transpose(1, 0, 2, 3), 2, p, NTU25).transpose(1, 0, 2, 3)
        np.testing.assert_array_equal(out, expected)
    assert out.shape == kp.shape and out.flags.c_contiguous


def test_pixels_of_a_known_image_scale_to_the_unit_square_low_scores_dropped() -> None:
    rng = np.random.default_rng(1)
    kp = rng.uniform(1, 1000, (1, 6, 17, 2)).astype(np.float32)
    score = rng.uniform(0, 1, (1, 6, 17)).astype(np.float32)
    score[0, 0, :3] = SCORE_THRESHOLD  # at the threshold: left out, as PYSKL does
    out = align_keypoints(kp, score, (1080, 1920), PARAMS, COCO17)
    keep = score > SCORE_THRESHOLD
    expected = prenormalize_2d(kp.transpose(1, 0, 2, 3), (1080, 1920)).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(out[keep], expected[keep])
    assert not np.any(out[~keep])


def test_pixels_of_an_unknown_image_scale_by_their_box() -> None:
    kp = np.zeros((1, 2, 17, 2), np.float32)
    kp[0, :, :, 0] = np.linspace(100, 300, 17)  # x spans [100, 300]
    kp[0, :, :, 1] = np.linspace(50, 450, 17)  # y spans [50, 450]
    kp[0, 1, 5] = 0  # a missing joint stays missing
    out = align_keypoints(kp, None, None, PARAMS, COCO17)
    assert out[0, 0, 0].tolist() == [-1.0, -1.0] and out[0, 0, -1].tolist() == [1.0, 1.0]
    assert not np.any(out[0, 1, 5])
    tiny = np.full((1, 2, 17, 2), 0.5, np.float32)  # a box under 10 units: values kept (PYSKL)
    tiny[0, 0, 0] = 0.25
    np.testing.assert_array_equal(align_keypoints(tiny, None, None, PARAMS, COCO17), tiny)
