"""PYSKL's converter rules (``denoise.mode: pyskl``): each rule on crafted samples, and the
outputs of PYSKL's own ``tools/data/ntu_preproc.py`` matched bit for bit.

``data/pyskl_converter.json`` holds the converter's outputs (shape, label and a SHA-256 of the
float16 keypoints) for the real samples in ``../shared`` and the crafted ones of
:func:`tests.helpers.pyskl_cases`, as ``benchmarks/vs_pyskl_converter.py --write-digests`` wrote
them from a PYSKL checkout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from skelpipe.apps.exports import PYSKL_DENOISE
from skelpipe.cli.main import app
from skelpipe.io.ntu_format import format_skeleton, parse_skeleton
from skelpipe.params import DenoiseParams
from skelpipe.preprocess.chain import denoise_records
from skelpipe.preprocess.denoise import Denoised, DenoiseError
from skelpipe.preprocess.denoise_pyskl import denoise_pyskl
from tests.helpers import (
    Track,
    body_records,
    lying,
    pyskl_cases,
    skeleton_from_tracks,
    track,
    upright,
)

DIGESTS = json.loads((Path(__file__).parent / "data" / "pyskl_converter.json").read_text())
CASES = pyskl_cases()
PARAMS = dataclasses.replace(PYSKL_DENOISE, on_error="fail")


def run(tracks: list[Track], name: str = "S030C001P001R002A050", n_frames=None) -> Denoised:
    action = int(name[-3:])
    return denoise_pyskl(name, action, *body_records(tracks, n_frames), PARAMS)


def keypoint(out: Denoised) -> np.ndarray:
    """(M, T, 25, 3) float32, as the converter holds it before its float16 cast."""
    return out.joints[:, : out.n_actors].transpose(1, 0, 2, 3)


def motion(xyz: np.ndarray) -> float:
    """Sum of the per-axis variances, computed independently (float64)."""
    return float(np.var(xyz.reshape(-1, 3).astype(np.float64), axis=0).sum())


def decision(out: Denoised, t: Track, rule: str) -> list[str]:
    return [d for (_, b, r, _, d) in out.decisions if b == str(t.body_id) and r == rule]


def test_params_name_the_mode() -> None:
    assert "pyskl" in DenoiseParams.__annotations__["mode"]


# --- the converter's outputs ---------------------------------------------------------------------


def _digest(kp: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(kp.astype(np.float16)).tobytes()).hexdigest()


def test_real_samples_equal_the_converter(shared_data) -> None:
    files = sorted((shared_data / "ntu_raw_samples").glob("*.skeleton"))
    assert len(files) == 21
    for f in files:
        out = denoise_records(parse_skeleton(f.read_bytes(), f.stem), PARAMS)
        want = DIGESTS["annotations"][f.stem]
        assert list(keypoint(out).shape) == want["shape"], f.stem
        assert _digest(keypoint(out)) == want["sha256"], f.stem


@pytest.mark.parametrize("name", sorted(CASES))
def test_crafted_samples_equal_the_converter(name: str) -> None:
    """Each rule's sample, written as a .skeleton file and read back, as the converter read it."""
    raw = parse_skeleton(format_skeleton(skeleton_from_tracks(name, CASES[name])), name)
    out = denoise_records(raw, PARAMS)
    want = DIGESTS["annotations"][name]
    assert list(keypoint(out).shape) == want["shape"]
    assert _digest(keypoint(out)) == want["sha256"]


def test_export_pyskl_raw_equals_the_converter(shared_data, tmp_path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for f in (shared_data / "ntu_raw_samples").glob("*.skeleton"):
        (raw / f.name).write_bytes(f.read_bytes())
    for name, tracks in CASES.items():
        (raw / f"{name}.skeleton").write_bytes(format_skeleton(skeleton_from_tracks(name, tracks)))
    out = tmp_path / "ntu60_3danno.pkl"
    args = ["export", "pyskl", "--raw", str(raw), "--dataset", "ntu60", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert result.exit_code == 0, result.output
    with open(out, "rb") as fh:
        data = pickle.load(fh)
    assert data["split"] == DIGESTS["split"]
    assert len(data["annotations"]) == len(DIGESTS["annotations"]) == 32
    for a in data["annotations"]:
        want = DIGESTS["annotations"][a["frame_dir"]]
        assert a["keypoint"].dtype == np.float16
        assert (a["label"], a["total_frames"]) == (want["label"], want["total_frames"])
        got = hashlib.sha256(np.ascontiguousarray(a["keypoint"]).tobytes()).hexdigest()
        assert got == want["sha256"], a["frame_dir"]


# --- the rules, one by one ---------------------------------------------------------------------


def test_one_body_is_its_records_from_its_first_frame() -> None:
    (t,) = CASES["S030C001P001R002A001"]  # frames 5..44, nothing before
    out = run([t])
    assert out.n_actors == 1
    np.testing.assert_array_equal(keypoint(out)[0], t.xyz)


def test_frames_without_bodies_are_not_counted() -> None:
    (t,) = CASES["S030C002P011R002A054"]  # 26 records over frames 0-9 and 14-29
    out = run([t])
    assert keypoint(out).shape == (1, 26, 25, 3)
    np.testing.assert_array_equal(keypoint(out)[0], t.xyz)


@pytest.mark.parametrize("length, dropped", [(11, True), (12, False)])
def test_length_rule(length: int, dropped: bool) -> None:
    rng = np.random.default_rng(0)
    a, b = track(0, range(40), upright(rng, 40)), track(1, range(length), upright(rng, length))
    out = run([a, b])
    assert out.n_actors == (1 if dropped else 2)
    assert decision(out, b, "length") == (["dropped"] if dropped else [])


def test_lying_body_dropped_by_spread() -> None:
    a, b = CASES["S030C001P004R002A004"]
    out = run([a, b])
    assert out.n_actors == 1 and decision(out, b, "spread") == ["dropped"]
    np.testing.assert_array_equal(keypoint(out)[0], a.xyz)


@pytest.mark.parametrize(
    "name, kept", [("S030C002P005R002A005", True), ("S030C003P006R002A006", False)]
)
def test_spread_drop_ratio_boundary(name: str, kept: bool) -> None:
    a, b = CASES[name]  # b: 69 (kept) or 70 (dropped) of 100 frames spread out
    out = run([a, b])
    assert out.n_actors == (2 if kept else 1)
    assert decision(out, b, "spread") == (["motion_updated"] if kept else ["dropped"])


def test_spread_rule_tests_every_body_and_may_leave_none() -> None:
    """CTR-GCN stops at the last body; the converter tests them all (and then fails)."""
    rng = np.random.default_rng(1)
    with pytest.raises(DenoiseError, match="spread rule drops every body"):
        run([track(0, range(30), lying(rng, 30)), track(1, range(30), lying(rng, 30))])


def test_busier_body_takes_track_one() -> None:
    a, b = CASES["S030C003P003R002A003"]
    out = run([a, b])
    first, second = (a, b) if motion(a.xyz) > motion(b.xyz) else (b, a)
    kp = keypoint(out)
    np.testing.assert_array_equal(kp[0, first.frames], first.xyz)
    np.testing.assert_array_equal(kp[1, second.frames], second.xyz)


def test_touching_intervals_share_one_track() -> None:
    a, b = CASES["S030C001P007R002A050"]  # [0, 20) and [20, 40)
    out = run([a, b])
    kp = keypoint(out)
    assert kp.shape == (2, 40, 25, 3) and not kp[1].any()  # M = 2 with an empty second track
    np.testing.assert_array_equal(kp[0, :20], a.xyz)
    np.testing.assert_array_equal(kp[0, 20:], b.xyz)


def test_track_two_hull_keeps_its_start_at_zero() -> None:
    a, b, c = CASES["S030C002P008R002A051"]
    assert motion(a.xyz) > motion(b.xyz) > motion(c.xyz)  # the case's premise
    out = run([a, b, c])
    # b (frames 18-29) goes to track 2, whose hull becomes [0, 30): c (2-15) no longer fits
    assert decision(out, b, "assign") == ["actor2"]
    assert decision(out, c, "assign") == ["dropped_overlap"]
    assert out.counts["n_bodies_dropped_overlap"] == 1


def test_leading_empty_frames_trimmed_then_tracks_swapped() -> None:
    a, b, short = CASES["S030C003P009R002A052"]
    assert motion(a.xyz) > motion(b.xyz)
    out = run([a, b, short])
    kp = keypoint(out)
    # frames 0-3 held only the dropped short body: cut; then track 1 (a, from frame 8) is
    # empty in the first frame and track 2 (b, from frame 4) is not: swapped
    assert kp.shape == (2, 36, 25, 3)
    assert out.counts["n_frames_removed_missing"] == 4 and out.counts["n_tracks_swapped"] == 1
    np.testing.assert_array_equal(kp[0, :26], b.xyz)
    np.testing.assert_array_equal(kp[1, 4:], a.xyz)


def test_returning_body_is_retimed() -> None:
    a, b = CASES["S030C001P010R002A053"]  # a: frames 0-14 and 25-39, 30 records
    out = run([a, b])
    kp = keypoint(out)
    slot = 0 if motion(a.xyz) > motion(b.xyz) else 1
    np.testing.assert_array_equal(kp[slot, :30], a.xyz)  # as if it never left
    assert not kp[slot, 30:].any()


def test_duplicate_body_id_in_a_frame_adds_a_record() -> None:
    rng = np.random.default_rng(2)
    xyz = upright(rng, 21)
    out = run([track(0, [*range(20), 5], xyz)])  # body 0 twice in frame 5
    assert keypoint(out).shape == (1, 21, 25, 3)


def test_where_the_converter_stops_we_name_the_sample() -> None:
    rng = np.random.default_rng(3)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros((0, 25, 3), np.float32))
    with pytest.raises(DenoiseError, match="no body"):
        denoise_pyskl("S030C001P001R002A001", 1, *empty, np.zeros(5, np.int64), PARAMS)
    short = [track(0, range(11), upright(rng, 11)), track(1, range(5), upright(rng, 5))]
    with pytest.raises(DenoiseError, match="shorter than the length threshold"):
        run(short)
    zeros = np.zeros((20, 25, 3), np.float32)
    with pytest.raises(DenoiseError, match="every frame is empty"):
        run([track(0, range(20), zeros), track(1, range(20), zeros)])


def test_pipeline_mode_keeps_both_track_slots() -> None:
    """In the pipeline the keypoints fill the (T, 2, 25, 3) slots; M is the actor count."""
    a, b = CASES["S030C003P003R002A003"]
    out = run([a, b])
    assert out.joints.shape == (40, 2, 25, 3) and out.joints.dtype == np.float32
    assert out.n_actors == 2
