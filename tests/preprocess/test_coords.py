"""Image coordinates (``denoise.coords: color2d | depth2d``): the denoising rules read x, y, z, and
a joint's pixel position rides along with its record; align scales pixels to [-1, 1] (PYSKL's
PreNormalize2D); the store records the channels, the coordinate frame and the image size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from skelpipe.io.ntu_format import COORDS, IMAGE_SIZE, RawSkeleton, parse_skeleton
from skelpipe.preprocess.align import align_sample, prenormalize_2d
from skelpipe.preprocess.chain import denoise_records
from skelpipe.preprocess.denoise import REFERENCE_DENOISE, DenoiseError
from skelpipe.skeleton import NTU25
from skelpipe.store.reader import SampleStore
from stages.align import app as align_app
from stages.denoise import app as denoise_app
from stages.parse import app as parse_app
from stages.shard import app as shard_app
from tests.helpers import NTU_PARAMS, pyskl_cases, skeleton_from_tracks

MODES = ("reference", "fixed", "pyskl")


def _with_pixels(raw: RawSkeleton) -> RawSkeleton:
    """The sample with depth and colour fields that are known functions of x, y, z per record:
    depth = (5 y, 7 x), colour = (2 x, 3 z) (float32)."""
    j = raw.joints.copy()
    x, y, z = j[..., 0], j[..., 1], j[..., 2]
    j[..., 3], j[..., 4] = y * np.float32(5), x * np.float32(7)
    j[..., 5], j[..., 6] = x * np.float32(2), z * np.float32(3)
    return dataclasses.replace(raw, joints=j)


def _expected(xyz: np.ndarray, coords: str) -> np.ndarray:
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    if coords == "depth2d":
        return np.stack([y * np.float32(5), x * np.float32(7)], axis=-1)
    return np.stack([x * np.float32(2), z * np.float32(3)], axis=-1)


def _denoise(raw: RawSkeleton, mode: str, coords: str):
    params = dataclasses.replace(REFERENCE_DENOISE, mode=mode, coords=coords)
    try:
        return denoise_records(raw, params)
    except DenoiseError as err:
        return str(err)


CRAFTED = {name: _with_pixels(skeleton_from_tracks(name, t)) for name, t in pyskl_cases().items()}


@pytest.mark.parametrize("coords", ["color2d", "depth2d"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_pixels_ride_with_their_record(name: str, mode: str, coords: str) -> None:
    raw = CRAFTED[name]
    xyz, image = _denoise(raw, mode, "xyz"), _denoise(raw, mode, coords)
    if isinstance(xyz, str):  # a sample the rules reject is rejected whatever the coordinates
        assert image == xyz
        return
    assert image.joints.shape == (*xyz.joints.shape[:3], 2)
    assert image.joints.dtype == np.float32 and image.joints.flags.c_contiguous
    np.testing.assert_array_equal(image.joints, _expected(xyz.joints, coords))
    assert (image.n_actors, image.decisions, image.counts) == (
        xyz.n_actors,
        xyz.decisions,
        xyz.counts,
    )


def test_the_crafted_cases_exercise_two_actor_placement() -> None:
    """The check above is only as strong as its cases: some place two actors, some drop bodies."""
    results = [_denoise(raw, "reference", "xyz") for raw in CRAFTED.values()]
    assert any(r.n_actors == 2 for r in results if not isinstance(r, str))
    assert any(r.counts["n_bodies_dropped_length"] for r in results if not isinstance(r, str))
    assert any(r.counts["n_bodies_dropped_spread"] for r in results if not isinstance(r, str))


@pytest.mark.parametrize("mode", MODES)
def test_real_samples_keep_their_decisions_and_real_pixels(shared_data: Path, mode: str) -> None:
    files = sorted((shared_data / "ntu_raw_samples").glob("*.skeleton"))
    assert files
    for path in files:
        raw = parse_skeleton(path.read_bytes(), path.stem)
        xyz, image = _denoise(raw, mode, "xyz"), _denoise(raw, mode, "color2d")
        if isinstance(xyz, str):
            assert image == xyz
            continue
        assert image.decisions == xyz.decisions and image.n_actors == xyz.n_actors
        present = np.any(xyz.joints != 0, axis=-1)  # (T, 2, 25)
        assert not np.any(image.joints[~present])  # absent joints stay zero
        # every kept pixel pair is a colour position some record of the file holds
        colour = {tuple(v) for v in raw.joints[..., 5:7].reshape(-1, 2).tolist()}
        kept = image.joints[present].tolist()
        assert kept and all(tuple(v) in colour for v in kept)


def test_prenormalize_2d_maps_the_image_to_the_unit_square() -> None:
    h, w = IMAGE_SIZE["color2d"]
    joints = np.zeros((3, 2, 25, 2), np.float32)
    joints[0, 0] = [w / 2, h / 2]  # centre -> (0, 0)
    joints[1, 0] = [w, h]  # far corner -> (1, 1)
    joints[2, 0] = [0.25 * w, 0.75 * h]
    joints[1, 1, 3] = [w, 0.0]  # a present person: its (0, 0) joints (no data) stay zero
    out = prenormalize_2d(joints, (h, w))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0], np.zeros((25, 2)))
    np.testing.assert_array_equal(out[1, 0], np.ones((25, 2)))
    np.testing.assert_array_equal(out[2, 0], np.tile([-0.5, 0.5], (25, 1)))
    assert np.all(out[1, 1, 3] == [1.0, -1.0]) and not np.any(out[1, 1, [0, 1, 2, 4]])
    assert not np.any(out[[0, 2], 1])  # absent (frame, person): still all zero
    # PYSKL's arithmetic: float32 keypoints, python-float image halves
    pyskl = (joints[..., 0] - (w / 2)) / (w / 2)
    np.testing.assert_array_equal(out[1, 0, :, 0], pyskl[1, 0])


def test_align_pads_the_second_actor_of_image_coordinates() -> None:
    params = dataclasses.replace(_align_params(), pad_second_actor="copy")
    joints = np.zeros((4, 2, 25, 2), np.float32)
    joints[:, 0] = 500.0
    out = align_sample(joints, 1, params, NTU25, IMAGE_SIZE["depth2d"])
    h, w = IMAGE_SIZE["depth2d"]
    np.testing.assert_array_equal(out[:, 0, :, 0], np.float32((500 - w / 2) / (w / 2)))
    np.testing.assert_array_equal(out[:, 1], out[:, 0])


def _align_params():
    import yaml

    from skelpipe.params import AlignParams, from_mapping

    return from_mapping(AlignParams, yaml.safe_load(NTU_PARAMS.read_text())["align"], "align")


def test_stages_write_a_2d_store(tmp_path: Path, shared_data: Path) -> None:
    """parse -> denoise (color2d) -> align -> shard on the real samples: a 2-D store whose values
    are the files' colour pixels scaled by the image size."""
    import yaml

    params = yaml.safe_load(NTU_PARAMS.read_text())
    params["denoise"]["coords"] = "color2d"
    params["shard"]["compressor"] = "none"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    raw = shared_data / "ntu_raw_samples"
    common = ["--params", tmp_path / "params.yaml"]
    steps = [
        (parse_app, ["--raw", raw, "--out", tmp_path / "parse"]),
        (denoise_app, ["--parsed", tmp_path / "parse", "--out", tmp_path / "denoise"]),
        (align_app, ["--denoised", tmp_path / "denoise", "--out", tmp_path / "align"]),
        (
            shard_app,
            ["--aligned", tmp_path / "align", "--out", tmp_path / "store.zarr"]
            + ["--rejected", tmp_path / "rejected.csv"],
        ),
    ]
    for k, (app, args) in enumerate(steps):
        argv = [*common, *args, "--metrics", tmp_path / f"m{k}.json"]
        result = CliRunner().invoke(app, [str(a) for a in argv])
        assert result.exit_code == 0, result.output
    store = SampleStore(tmp_path / "store.zarr")
    assert store.channels == ("x", "y")
    assert store.attrs["coords"] == "color2d" and store.attrs["image_size"] == [1080, 1920]
    h, w = IMAGE_SIZE["color2d"]
    checked = 0
    for i, name in enumerate(store.names):
        sample = store.sample(i)
        assert sample.shape[1:] == (2, 25, 2)
        parsed = parse_skeleton((raw / f"{name}.skeleton").read_bytes(), name)
        denoised = denoise_records(parsed, dataclasses.replace(REFERENCE_DENOISE, coords="color2d"))
        pixels = denoised.joints
        np.testing.assert_array_equal(sample, prenormalize_2d(pixels, (h, w))[: len(sample)])
        checked += 1
    assert checked == len(store) > 0
    assert COORDS["color2d"] == (5, 6)
