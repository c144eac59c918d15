"""A body ID twice in one frame: reference mode rejects the sample with a clear reason (the
reference scripts would re-time the body or crash), fixed mode keeps the frame's first record.
Tested on a crafted ``.skeleton`` file through the parser, the denoise stage driver and the
user-facing paths (predict's loader, the reference exports)."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np

from skelpipe.apps.predict import load_sample
from skelpipe.cli._pipeline_params import pipeline_params
from skelpipe.io.ntu_format import RawSkeleton, format_skeleton, parse_skeleton
from skelpipe.io.raw_sources import Rejected, list_raw_files
from skelpipe.io.rejected import write_rejected
from skelpipe.preprocess.chain import process_file
from skelpipe.preprocess.denoise import REFERENCE_DENOISE, DenoiseError, denoise_sample
from skelpipe.preprocess.runner import denoise_part, parse_part
from tests.helpers import BASE_ID, NTU_PARAMS, upright

NAME = "S001C001P001R001A023"


def _crafted(tmp_path):
    """20 frames of one body; frame 7 lists the same body ID twice (second record shifted)."""
    xyz = upright(np.random.default_rng(0), 20)
    frames = np.r_[np.arange(8), 7, np.arange(8, 20)]
    rec = np.concatenate([xyz[:8], xyz[7:8] + np.float32(0.2), xyz[8:]])  # (21, 25, 3)
    joints = np.zeros((21, 25, 12), np.float32)
    joints[:, :, :3] = rec
    raw = RawSkeleton(
        name=NAME,
        bodies_per_frame=np.bincount(frames, minlength=20).astype(np.int64),
        body_frame=frames.astype(np.int64),
        body_id=np.full(21, BASE_ID, dtype=np.uint64),
        body_info=np.zeros((21, 9), np.float32),
        joints=joints,
    )
    path = tmp_path / f"{NAME}.skeleton"
    path.write_bytes(format_skeleton(raw))
    return path, xyz


def _denoise(raw: RawSkeleton, params):
    return denoise_sample(
        raw.name,
        23,
        raw.body_frame,
        raw.body_id,
        raw.joints[:, :, :3],
        raw.bodies_per_frame,
        params,
    )


def test_reference_rejects_fixed_keeps_the_first_record(
    tmp_path, reference_denoise_params, fixed_denoise_params
) -> None:
    path, xyz = _crafted(tmp_path)
    raw = parse_skeleton(path.read_bytes(), NAME, str(path))  # the format itself is valid
    assert raw.bodies_per_frame[7] == 2 and len(raw.body_id) == 21
    try:
        _denoise(raw, reference_denoise_params)
        raise AssertionError("reference mode accepted a body ID twice in one frame")
    except DenoiseError as err:
        assert str(err) == f"{NAME}: body {BASE_ID} occurs twice in one frame"
    fixed = _denoise(raw, fixed_denoise_params)
    assert fixed.joints.shape == (20, 2, 25, 3)
    first = np.delete(raw.joints[:, :, :3], 8, axis=0)  # record 8: frame 7's second record
    np.testing.assert_array_equal(fixed.joints[:, 0], first)
    np.testing.assert_allclose(first, xyz, atol=1e-6)
    assert not fixed.joints[:, 1].any()


def test_denoise_stage_records_the_rejection(tmp_path, reference_denoise_params) -> None:
    path, _ = _crafted(tmp_path)
    for d in ("parse", "denoise"):
        (tmp_path / d).mkdir()
    files, _, _ = list_raw_files([path])
    assert not parse_part((0, files, tmp_path / "parse", True)).rejected
    params = replace(reference_denoise_params, on_error="skip")
    res = denoise_part((tmp_path / "parse" / "part-00000.h5", tmp_path / "denoise", params))
    assert [r.reason for r in res.rejected] == [f"{NAME}: body {BASE_ID} occurs twice in one frame"]
    assert res.counts.get("n_samples_out", 0) == 0
    write_rejected(tmp_path / "rejected.csv", res.rejected)
    with open(tmp_path / "rejected.csv", encoding="utf-8") as fh:
        (row,) = csv.DictReader(fh)
    assert row["name"] == NAME and row["stage"] == "denoise" and "twice" in row["reason"]
    got = process_file(files[0], REFERENCE_DENOISE)  # the exports and `skelpipe show`
    assert isinstance(got, Rejected) and got.message().endswith("occurs twice in one frame")
    params = pipeline_params(NTU_PARAMS)[0]  # the default pipeline: denoise.mode reference
    got = load_sample(path, params)  # `skelpipe predict`
    assert isinstance(got, Rejected) and got.message() == f"{path}: {res.rejected[0].reason}"
