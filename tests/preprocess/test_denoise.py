"""Body denoising and actor selection (``skelpipe.preprocess.denoise``), reference and fixed modes.

The real samples trigger no rule (see ``ntu_reference_outputs/README.md``), so every rule and
every reference quirk is tested on small synthetic samples built directly as arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.io.ntu_format import parse_skeleton
from skelpipe.params import DenoiseParams
from skelpipe.preprocess.denoise import REFERENCE_DENOISE, Denoised, DenoiseError, denoise_sample
from skelpipe.sample_id import SampleId
from tests.helpers import UPRIGHT, Track, body_records, lying, track, upright

NAME = "S001C001P001R001A050"  # a two-person action under both modes' class tests


def denoise(
    tracks: list[Track],
    params: DenoiseParams,
    name: str = NAME,
    n_frames: int | None = None,
) -> Denoised:
    """Build the raw record arrays of a sample (records in frame order) and denoise it."""
    action = SampleId.from_name(name).action
    return denoise_sample(name, action, *body_records(tracks, n_frames), params)


def motion(xyz: np.ndarray) -> float:
    """The reference motion, computed independently: sum of per-axis variances (float64)."""
    return float(np.var(xyz.reshape(-1, 3).astype(np.float64), axis=0).sum())


def rows_for(out: Denoised, t: Track, rule: str) -> list[tuple[float, str]]:
    return [(v, d) for (s, b, r, v, d) in out.decisions if b == str(t.body_id) and r == rule]


@pytest.fixture(params=["reference", "fixed"])
def params(request, reference_denoise_params, fixed_denoise_params) -> DenoiseParams:
    """Rules both modes share are tested under each mode."""
    return reference_denoise_params if request.param == "reference" else fixed_denoise_params


# --- reference numbers ---------------------------------------------------------------------------


def test_reference_mode_equals_reference_output(
    shared_data, reference_denoise_params, fixed_denoise_params
) -> None:
    expected = np.load(shared_data / "ntu_reference_outputs" / "denoised.npz")
    files = sorted((shared_data / "ntu_raw_samples").glob("*.skeleton"))
    assert len(files) == 21 and {f.stem for f in files} == set(expected.files)
    for f in files:
        raw = parse_skeleton(f.read_bytes(), f.stem)
        args = (f.stem, SampleId.from_name(f.stem).action, raw.body_frame, raw.body_id)
        args += (raw.joints[..., :3], raw.bodies_per_frame)
        out = denoise_sample(*args, reference_denoise_params)
        ref = expected[f.stem]  # (T, 75) or (T, 150)
        assert ref.shape[1] == 75 * out.n_actors, f.stem
        if out.n_actors == 1:
            assert not out.joints[:, 1].any(), f.stem
        ours = out.joints[:, : out.n_actors].reshape(len(out.joints), -1)  # (T, 75 * n_actors)
        assert ours.dtype == np.float32 and ref.dtype == np.float32
        np.testing.assert_array_equal(ours, ref, err_msg=f.stem)
        # none of these samples triggers a quirk, so the corrected mode agrees with them
        fixed = denoise_sample(*args, fixed_denoise_params)
        np.testing.assert_array_equal(fixed.joints, out.joints, err_msg=f.stem)


# --- the length and spread rules -----------------------------------------------------------------


@pytest.mark.parametrize("length, dropped", [(11, True), (12, False)])
def test_length_rule(params, length: int, dropped: bool) -> None:
    rng = np.random.default_rng(1)
    a = track(0, range(60), upright(rng, 60, step=0.05))
    b = track(1, range(10, 10 + length), upright(rng, length, step=0.005))
    out = denoise([a, b], params)
    np.testing.assert_array_equal(out.joints[:, 0], a.xyz)
    if dropped:
        assert rows_for(out, b, "length") == [(11, "dropped")]
        assert out.counts["n_bodies_dropped_length"] == 1
        assert out.n_actors == 1 and not out.joints[:, 1].any()
    else:
        assert rows_for(out, b, "length") == []
        assert out.counts["n_bodies_dropped_length"] == 0
        assert out.n_actors == 2
        np.testing.assert_array_equal(out.joints[10 : 10 + length, 1], b.xyz)
        assert rows_for(out, b, "assign")[0][1] == "actor2"


def test_lying_body_is_dropped_by_spread(params) -> None:
    rng = np.random.default_rng(2)
    a = track(0, range(60), upright(rng, 60, step=0.01))
    noise = track(1, range(60), lying(rng, 60, step=0.1))  # would be actor 1 by motion
    assert motion(noise.xyz) > motion(a.xyz)
    out = denoise([noise, a], params)
    assert rows_for(out, noise, "spread") == [(1.0, "dropped")]
    assert out.counts["n_bodies_dropped_spread"] == 1
    assert out.n_actors == 1
    np.testing.assert_array_equal(out.joints[:, 0], a.xyz)
    assert not out.joints[:, 1].any()


@pytest.mark.parametrize("n_lying, dropped", [(69, False), (70, True)])
def test_spread_drop_ratio_boundary(params, n_lying: int, dropped: bool) -> None:
    """ratio = invalid / frames is compared with 0.69754: 69/100 stays, 70/100 goes."""
    rng = np.random.default_rng(3)
    a = track(0, range(100), upright(rng, 100, step=0.05))
    xyz = upright(rng, 100, step=0.001)
    xyz[:n_lying] = lying(rng, n_lying, step=0.001)
    b = track(1, range(100), xyz)
    out = denoise([a, b], params)
    decision = "dropped" if dropped else "motion_updated"
    assert rows_for(out, b, "spread") == [(n_lying / 100, decision)]
    assert out.counts["n_bodies_dropped_spread"] == int(dropped)
    assert out.n_actors == 1 + (not dropped)


def test_few_invalid_frames_lower_motion_but_keep_body(params) -> None:
    rng = np.random.default_rng(4)
    a = track(0, range(60), upright(rng, 60, step=0.03))
    xyz = upright(rng, 60, step=0.003)
    xyz[20:30] = lying(rng, 10, step=0.003)  # 10 of 60 frames lying
    b = track(1, range(60), xyz)
    valid = np.r_[0:20, 30:60]
    # by full motion b would be actor 1; by its valid frames only, a is
    assert motion(b.xyz) > motion(a.xyz) > motion(b.xyz[valid])
    out = denoise([b, a], params)
    assert rows_for(out, b, "spread") == [(10 / 60, "motion_updated")]
    assert out.counts["n_bodies_dropped_spread"] == 0
    ((updated, decision),) = rows_for(out, b, "assign")
    assert decision == "actor2"
    assert updated == pytest.approx(motion(b.xyz[valid]), rel=1e-5)
    np.testing.assert_array_equal(out.joints[:, 0], a.xyz)
    np.testing.assert_array_equal(out.joints[:, 1], b.xyz)  # the noisy frames are kept


def test_spread_rule_never_drops_the_last_body(params) -> None:
    """The spread loop stops once one body is left, even if that body is lying too."""
    rng = np.random.default_rng(5)
    first = track(0, range(40), lying(rng, 40))
    second = track(1, range(40), lying(rng, 40))
    out = denoise([first, second], params)
    assert rows_for(out, first, "spread") == [(1.0, "dropped")]
    assert rows_for(out, second, "spread") == []
    assert out.n_actors == 1
    np.testing.assert_array_equal(out.joints[:, 0], second.xyz)


# --- actor selection -----------------------------------------------------------------------------


def test_actors_ordered_by_motion_third_overlapping_body_dropped(params) -> None:
    rng = np.random.default_rng(6)
    slow = track(0, range(50), upright(rng, 50, step=0.002))  # first seen, lowest ID
    fast = track(1, range(50), upright(rng, 50, step=0.08))
    mid = track(2, range(50), upright(rng, 50, step=0.02))
    assert motion(fast.xyz) > motion(mid.xyz) > motion(slow.xyz)
    out = denoise([slow, fast, mid], params)
    assert out.n_actors == 2
    np.testing.assert_array_equal(out.joints[:, 0], fast.xyz)
    np.testing.assert_array_equal(out.joints[:, 1], mid.xyz)
    assert rows_for(out, fast, "assign")[0][1] == "actor1"
    assert rows_for(out, mid, "assign")[0][1] == "actor2"
    assert rows_for(out, slow, "assign")[0][1] == "dropped_overlap"
    assert out.counts["n_bodies_dropped_overlap"] == 1


def test_actor2_interval_quirk(reference_denoise_params, fixed_denoise_params) -> None:
    """The documented probe: actor 2's interval starts at [0, 0], so with B = [30, 59] in the
    actor-2 slot the reference takes it as [0, 59] and drops E = [5, 25] although E fits."""
    rng = np.random.default_rng(7)
    a = track(0, range(60), upright(rng, 60, step=0.08))
    b = track(1, range(30, 60), upright(rng, 30, step=0.03))
    e = track(2, range(5, 26), upright(rng, 21, step=0.002))
    assert motion(a.xyz) > motion(b.xyz) > motion(e.xyz)

    ref = denoise([a, b, e], reference_denoise_params)
    np.testing.assert_array_equal(ref.joints[:, 0], a.xyz)
    np.testing.assert_array_equal(ref.joints[30:, 1], b.xyz)
    assert not ref.joints[:30, 1].any()  # E is gone from the output ...
    assert rows_for(ref, e, "assign")[0][1] == "dropped_overlap"  # ... but not from the table
    assert ref.counts["n_bodies_dropped_overlap"] == 1

    fixed = denoise([a, b, e], fixed_denoise_params)
    np.testing.assert_array_equal(fixed.joints[:, 0], a.xyz)
    np.testing.assert_array_equal(fixed.joints[30:, 1], b.xyz)
    np.testing.assert_array_equal(fixed.joints[5:26, 1], e.xyz)
    assert not fixed.joints[:5, 1].any() and not fixed.joints[26:30, 1].any()
    assert rows_for(fixed, e, "assign")[0][1] == "actor2"
    assert fixed.counts["n_bodies_dropped_overlap"] == 0


def test_returning_body_retiming(reference_denoise_params, fixed_denoise_params) -> None:
    """Body r is seen in frames 0-19 and 40-59; actor 1 fills every frame, so none is dropped."""
    rng = np.random.default_rng(8)
    a = track(0, range(60), upright(rng, 60, step=0.08))
    r = track(1, np.r_[0:20, 40:60], upright(rng, 40, step=0.005))
    assert motion(a.xyz) > motion(r.xyz)

    ref = denoise([a, r], reference_denoise_params)
    assert ref.joints.shape == (60, 2, 25, 3)
    np.testing.assert_array_equal(ref.joints[:, 0], a.xyz)
    np.testing.assert_array_equal(ref.joints[:40, 1], r.xyz)  # packed as if it never left
    assert not ref.joints[40:, 1].any()

    fixed = denoise([a, r], fixed_denoise_params)
    assert fixed.joints.shape == (60, 2, 25, 3)
    np.testing.assert_array_equal(fixed.joints[:, 0], a.xyz)
    np.testing.assert_array_equal(fixed.joints[:20, 1], r.xyz[:20])
    assert not fixed.joints[20:40, 1].any()  # the gap stays at its true frames
    np.testing.assert_array_equal(fixed.joints[40:, 1], r.xyz[20:])


def test_touching_intervals(reference_denoise_params, fixed_denoise_params) -> None:
    """c starts in the frame where actor 1 ends: ``min(e1, e) - max(s1, s) == 0``."""
    rng = np.random.default_rng(9)
    a = track(0, range(31), upright(rng, 31, step=0.08))
    c = track(1, range(30, 60), upright(rng, 30, step=0.005))
    assert motion(a.xyz) > motion(c.xyz)

    ref = denoise([a, c], reference_denoise_params)
    np.testing.assert_array_equal(ref.joints[:30, 0], a.xyz[:30])
    np.testing.assert_array_equal(ref.joints[30:, 0], c.xyz)  # frame 30 overwritten by c
    assert not ref.joints[:, 1].any()
    assert rows_for(ref, c, "assign")[0][1] == "actor1"

    fixed = denoise([a, c], fixed_denoise_params)
    np.testing.assert_array_equal(fixed.joints[:31, 0], a.xyz)  # a keeps frame 30
    assert not fixed.joints[31:, 0].any()
    np.testing.assert_array_equal(fixed.joints[30:, 1], c.xyz)
    assert not fixed.joints[:30, 1].any()
    assert rows_for(fixed, c, "assign")[0][1] == "actor2"


# --- frames --------------------------------------------------------------------------------------


def test_missing_frame_test_is_sum_in_reference(
    reference_denoise_params, fixed_denoise_params
) -> None:
    """A frame with nonzero joints summing to exactly 0 is 'missing' for the reference only."""
    rng = np.random.default_rng(10)
    a = track(0, range(60), upright(rng, 60))
    half = np.round(UPRIGHT[:12] * 64) / 64  # dyadic: every partial float32 sum is exact
    frame = np.concatenate([half, -half, np.zeros((1, 3))]).astype(np.float32)  # (25, 3)
    assert frame.any() and frame.sum(dtype=np.float32) == 0
    a.xyz[30] = frame
    noise = track(1, range(5), upright(rng, 5))  # a second ID: the multi-body path runs
    keep = np.r_[0:30, 31:60]

    ref = denoise([a, noise], reference_denoise_params)
    assert ref.joints.shape[0] == 59
    np.testing.assert_array_equal(ref.joints[:, 0], a.xyz[keep])
    assert ref.counts["n_frames_removed_missing"] == 1

    fixed = denoise([a, noise], fixed_denoise_params)
    assert fixed.joints.shape[0] == 60
    np.testing.assert_array_equal(fixed.joints[:, 0], a.xyz)
    assert fixed.counts["n_frames_removed_missing"] == 0


def test_all_zero_frames_removed_in_both_modes(params) -> None:
    """Frames where every kept body is absent (here: only a dropped noise body) are removed."""
    rng = np.random.default_rng(11)
    a = track(0, np.r_[0:20, 25:60], upright(rng, 55))
    noise = track(1, range(20, 25), upright(rng, 5))  # keeps frames 20-24 in the raw sample
    out = denoise([a, noise], params)
    assert out.counts["n_frames_removed_missing"] == 5
    np.testing.assert_array_equal(out.joints[:, 0], a.xyz)


@pytest.mark.parametrize("n_bodies", [1, 2])
def test_frames_without_bodies_are_dropped_and_reindexed(params, n_bodies: int) -> None:
    rng = np.random.default_rng(12)
    frames = np.r_[0:10, 15:65]  # raw frames 10-14 declare 0 bodies
    tracks = [
        track(0, frames, upright(rng, 60, step=0.08)),
        track(1, frames, upright(rng, 60, step=0.002)),
    ][:n_bodies]
    out = denoise(tracks, params, n_frames=65)
    assert out.joints.shape == (60, 2, 25, 3)
    for slot, t in enumerate(tracks):
        np.testing.assert_array_equal(out.joints[:, slot], t.xyz)  # contiguous, no gap
    assert out.counts["n_frames_removed_missing"] == 0  # dropped before, not as missing


def test_every_body_too_short_raises(params) -> None:
    rng = np.random.default_rng(13)
    tracks = [track(0, range(11), upright(rng, 11)), track(1, range(3, 11), upright(rng, 8))]
    with pytest.raises(DenoiseError, match="length threshold"):
        denoise(tracks, params)


# --- "denoising failed" counters -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, n_actors, reference_counts, fixed_counts",
    [
        # the reference tests int(name[-2:]) >= 50: A061 looks two-person, A106 one-person
        ("S018C001P001R001A061", 1, (1, 0), (0, 0)),
        ("S018C001P001R001A106", 1, (0, 0), (1, 0)),
        ("S018C001P001R001A061", 2, (0, 0), (0, 1)),
        ("S018C001P001R001A106", 2, (0, 1), (0, 0)),
        ("S001C001P001R001A050", 1, (1, 0), (1, 0)),
        ("S001C001P001R001A049", 2, (0, 1), (0, 1)),
    ],
)
def test_actor_count_checks(
    reference_denoise_params,
    fixed_denoise_params,
    name: str,
    n_actors: int,
    reference_counts: tuple[int, int],
    fixed_counts: tuple[int, int],
) -> None:
    """Counts are (n_two_person_action_one_actor, n_one_person_action_two_actors)."""
    rng = np.random.default_rng(14)
    a = track(0, range(40), upright(rng, 40, step=0.05))
    n_b = 40 if n_actors == 2 else 5  # 5 frames: dropped by the length rule
    b = track(1, range(n_b), upright(rng, n_b))
    for p, expected in [
        (reference_denoise_params, reference_counts),
        (fixed_denoise_params, fixed_counts),
    ]:
        out = denoise([a, b], p, name=name)
        assert out.n_actors == n_actors
        got = (
            out.counts["n_two_person_action_one_actor"],
            out.counts["n_one_person_action_two_actors"],
        )
        assert got == expected, p.mode


def test_id_switch_is_one_actor_in_fixed_mode_two_columns_in_reference(
    reference_denoise_params, fixed_denoise_params
) -> None:
    """A person whose body ID changes mid-sample: two IDs, never overlapping."""
    rng = np.random.default_rng(7)
    xyz = np.cumsum(rng.normal(scale=0.01, size=(60, 25, 3)), axis=0).astype(np.float32)
    xyz[:, :, 1] *= 4  # taller than wide: passes the spread rule
    ids = np.where(np.arange(60) < 30, 1, 2).astype(np.uint64)
    args = ("S001C001P001R001A008", 8, np.arange(60), ids, xyz, np.ones(60, np.int64))
    ref = denoise_sample(*args, reference_denoise_params)
    fixed = denoise_sample(*args, fixed_denoise_params)
    assert ref.n_actors == 2 and ref.counts["n_one_person_action_two_actors"] == 1
    assert fixed.n_actors == 1 and fixed.counts["n_one_person_action_two_actors"] == 0
    np.testing.assert_array_equal(fixed.joints[:, 0], xyz)
    np.testing.assert_array_equal(ref.joints[:, 0], xyz)


def test_params_yaml_spells_the_reference_thresholds() -> None:
    """The default pipeline's denoise section and REFERENCE_DENOISE (exports, show) agree."""
    import yaml

    from tests.helpers import ROOT

    section = yaml.safe_load((ROOT / "params.yaml").read_text())["denoise"]
    assert section["mode"] == REFERENCE_DENOISE.mode
    for key in ("length_threshold", "spread_ratio", "spread_drop_ratio"):
        assert section[key] == getattr(REFERENCE_DENOISE, key), key
