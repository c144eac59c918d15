"""Translation, second-actor padding and ground alignment (``skelpipe.preprocess.align``).

Synthetic tests check the geometric invariants; the reference tests rebuild CTR-GCN's and
InfoGCN's npz files from the 21 real raw samples.
"""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.io.ntu_format import parse_skeleton
from skelpipe.params import AlignParams
from skelpipe.preprocess.align import (
    align_sample,
    align_to_ground,
    center_on_joint,
    ground_rotation,
    pad_second_actor,
    prenormalize_3d,
    rotation_onto,
)
from skelpipe.preprocess.denoise import Denoised, denoise_sample
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import NTU25

SPINE_MID = 1  # J2
SPINE_BASE, HIP_LEFT, HIP_RIGHT, SHOULDER_LEFT = 0, 12, 16, 4  # J1, J13, J17, J5


def person(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 25, 3) float32: a random rigid-ish body, randomly oriented, moving in front of the
    camera. Its hip line is not orthogonal to its spine, so no axis is special."""
    body = rng.normal(0.0, 0.3, (25, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    frames = body @ q.T + np.cumsum(rng.normal(0.0, 0.02, (n, 1, 3)), axis=0)
    return (frames + rng.normal(0.0, 0.01, (n, 25, 3)) + [0.0, 0.0, 3.0]).astype(np.float32)


def sample(rng: np.random.Generator, n: int = 30) -> np.ndarray:
    """(n, 2, 25, 3) float32 with both persons present in every frame."""
    return np.stack([person(rng, n), person(rng, n)], axis=1)


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(..., V-1) lengths of the NTU25 edges of (..., V, 3) joints."""
    edges = NTU25.edges()
    return np.linalg.norm(joints[..., edges[:, 0], :] - joints[..., edges[:, 1], :], axis=-1)


def triple(joints: np.ndarray) -> np.ndarray:
    """(...,) signed volume of spine, hip line and a shoulder vector: its sign is handedness."""
    spine = joints[..., SPINE_MID, :] - joints[..., SPINE_BASE, :]
    hips = joints[..., HIP_LEFT, :] - joints[..., HIP_RIGHT, :]
    shoulder = joints[..., SHOULDER_LEFT, :] - joints[..., SPINE_BASE, :]
    return np.einsum("...i,...i", np.cross(spine, hips), shoulder)


def align_params(
    mode: str, center: bool, ground: bool, pad: str, prenormalize: bool = False
) -> AlignParams:
    return AlignParams(mode, center, ground, pad, prenormalize, workers=1)


# --- translation and padding ---------------------------------------------------------------------


def test_center_on_spine_mid_of_actor1_first_present_frame() -> None:
    rng = np.random.default_rng(0)
    joints = sample(rng, 20)
    joints[:3, 0] = 0  # actor 1 enters in frame 3
    joints[12:, 1] = 0  # actor 2 leaves after frame 11
    before = joints.copy()
    assert NTU25.center == SPINE_MID
    out = center_on_joint(joints, 2, NTU25.center, reference=True)
    np.testing.assert_array_equal(joints, before)  # input untouched
    origin = joints[3, 0, SPINE_MID]
    assert origin.any() and not out[3, 0, SPINE_MID].any()  # the origin itself
    expected = joints - origin  # float32, as seq_translation
    expected[:3, 0] = 0
    expected[12:, 1] = 0
    np.testing.assert_array_equal(out, expected)


def test_center_one_actor_leaves_second_slot_zero() -> None:
    rng = np.random.default_rng(1)
    joints = sample(rng, 15)
    joints[:, 1] = 0
    out = center_on_joint(joints, 1, NTU25.center, reference=True)
    np.testing.assert_array_equal(out[:, 0], joints[:, 0] - joints[0, 0, SPINE_MID])
    assert not out[:, 1].any()


def test_center_absence_test_is_sum_in_reference() -> None:
    """A frame of actor 2 whose nonzero values sum to 0 counts as absent for the reference."""
    rng = np.random.default_rng(2)
    joints = sample(rng, 10)
    frame = np.round(rng.normal(0.0, 0.5, (12, 3)) * 64) / 64  # dyadic: the sum is exact
    joints[4, 1] = np.concatenate([frame, -frame, np.zeros((1, 3))])
    assert joints[4, 1].any() and joints[4, 1].sum(dtype=np.float32) == 0
    origin = joints[0, 0, SPINE_MID]
    ref = center_on_joint(joints, 2, NTU25.center, reference=True)
    fixed = center_on_joint(joints, 2, NTU25.center, reference=False)
    assert not ref[4, 1].any()
    np.testing.assert_array_equal(fixed[4, 1], joints[4, 1] - origin)
    np.testing.assert_array_equal(np.delete(ref, 4, axis=0), np.delete(fixed, 4, axis=0))


def test_pad_second_actor() -> None:
    rng = np.random.default_rng(3)
    joints = sample(rng, 12)
    joints[:, 1] = 0
    before = joints.copy()
    copied = pad_second_actor(joints, 1, "copy")
    np.testing.assert_array_equal(copied[:, 0], before[:, 0])
    np.testing.assert_array_equal(copied[:, 1], before[:, 0])
    np.testing.assert_array_equal(joints, before)  # input untouched
    zeros = pad_second_actor(joints, 1, "zeros")
    np.testing.assert_array_equal(zeros, before)
    two = sample(rng, 12)
    np.testing.assert_array_equal(pad_second_actor(two, 2, "copy"), two)  # nothing to pad


# --- ground alignment ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reference", "fixed"])
def test_ground_alignment_axes_and_rigidity(mode: str) -> None:
    rng = np.random.default_rng(4)
    joints = sample(rng, 30)
    joints = np.concatenate([joints, np.zeros_like(joints[:5])])  # zero padding at the end
    out = align_to_ground(joints, NTU25, reference=mode == "reference")
    assert out.dtype == np.float32 and out.shape == joints.shape
    assert not out[30:].any()  # padding stays zero
    for p in range(2):
        spine = (joints[0, p, SPINE_MID] - joints[0, p, SPINE_BASE]).astype(np.float64)
        hips = (joints[0, p, HIP_LEFT] - joints[0, p, HIP_RIGHT]).astype(np.float64)
        up = spine / np.linalg.norm(spine)
        lateral = np.linalg.norm(hips - (hips @ up) * up)
        # frame-0 spine along +z; hip line in the x-z plane, its part orthogonal to the spine +x
        new_spine = out[0, p, SPINE_MID] - out[0, p, SPINE_BASE]
        np.testing.assert_allclose(new_spine, [0, 0, np.linalg.norm(spine)], atol=1e-5)
        new_hips = out[0, p, HIP_LEFT] - out[0, p, HIP_RIGHT]
        np.testing.assert_allclose(new_hips, [lateral, 0, hips @ up], atol=1e-5)
        assert lateral > 0.05  # a real lateral component: the +x check is not vacuous
        # one rotation about the origin for every frame: norms and bone lengths preserved
        np.testing.assert_allclose(
            np.linalg.norm(out[:, p], axis=-1), np.linalg.norm(joints[:, p], axis=-1), atol=1e-5
        )
        np.testing.assert_allclose(bone_lengths(out[:, p]), bone_lengths(joints[:, p]), atol=1e-5)


@pytest.mark.parametrize("mode, det", [("reference", -1.0), ("fixed", 1.0)])
def test_ground_rotation_handedness(mode: str, det: float) -> None:
    """InfoGCN's R = [v2 | v2 x v1 | v1] is a mirror (det -1); fixed mode is a proper rotation."""
    rng = np.random.default_rng(5)
    joints = sample(rng, 20)
    rot = ground_rotation(joints[0, 0], NTU25, mirror=mode == "reference")
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(det, abs=1e-12)
    out = align_to_ground(joints, NTU25, reference=mode == "reference")
    before, after = triple(joints.astype(np.float64)), triple(out.astype(np.float64))
    assert np.all(np.abs(before) > 1e-3)
    np.testing.assert_allclose(after, det * before, rtol=1e-4)  # handedness flips iff mirror


def test_person_absent_in_frame0() -> None:
    """Reference reads frame 0 only (the person becomes zeros); fixed uses the first present."""
    rng = np.random.default_rng(6)
    joints = sample(rng, 25)
    joints[:5, 1] = 0  # actor 2 enters in frame 5
    ref = align_to_ground(joints, NTU25, reference=True)
    fixed = align_to_ground(joints, NTU25, reference=False)
    assert ref[:, 0].any() and not ref[:, 1].any()
    assert not fixed[:5, 1].any()
    spine = joints[5, 1, SPINE_MID] - joints[5, 1, SPINE_BASE]
    new_spine = fixed[5, 1, SPINE_MID] - fixed[5, 1, SPINE_BASE]
    np.testing.assert_allclose(new_spine, [0, 0, np.linalg.norm(spine)], atol=1e-5)
    np.testing.assert_allclose(bone_lengths(fixed[:, 1]), bone_lengths(joints[:, 1]), atol=1e-5)


# --- against the reference npz files -------------------------------------------------------------


@pytest.fixture(scope="module")
def denoised(shared_data, reference_denoise_params) -> dict[str, Denoised]:
    """Reference-mode denoising of the 21 real raw samples, by name."""
    out = {}
    for f in sorted((shared_data / "ntu_raw_samples").glob("*.skeleton")):
        raw = parse_skeleton(f.read_bytes(), f.stem)
        action = SampleId.from_name(f.stem).action
        out[f.stem] = denoise_sample(
            f.stem,
            action,
            raw.body_frame,
            raw.body_id,
            raw.joints[..., :3],
            raw.bodies_per_frame,
            reference_denoise_params,
        )
    assert len(out) == 21
    return out


@pytest.mark.parametrize(
    "stem, pad, ground, atol",
    [
        ("NTU60_CS", "zeros", False, 0.0),  # CTR-GCN seq_transformation: bit for bit
        ("NTU60_CV", "zeros", False, 0.0),
        ("NTU120_CSub", "copy", False, 0.0),
        ("NTU120_CSet", "copy", False, 0.0),
        ("NTU60_CS_aligned", "zeros", True, 1e-5),  # InfoGCN rotates in float32, we in float64
        ("NTU60_CV_aligned", "zeros", True, 1e-5),
    ],
)
def test_chain_equals_reference_npz(
    shared_data, denoised, stem: str, pad: str, ground: bool, atol: float
) -> None:
    expected = np.load(shared_data / "ntu_reference_outputs" / f"{stem}.npz")
    params = align_params("reference", center=True, ground=ground, pad=pad)
    t_max = max(len(d.joints) for d in denoised.values())  # the longest sample of this run
    for split in ("train", "test"):
        names, ref = expected[f"names_{split}"], expected[f"x_{split}"]
        x = np.zeros((len(names), t_max, 150), dtype=np.float32)  # (N, T_max, 2 * 25 * 3)
        for i, name in enumerate(names):
            d = denoised[str(name)]
            a = align_sample(d.joints, d.n_actors, params, NTU25)  # (T, 2, 25, 3)
            x[i, : len(a)] = a.reshape(len(a), 150)
        assert x.shape == ref.shape and ref.dtype == np.float32
        if atol == 0.0:
            np.testing.assert_array_equal(x, ref, err_msg=f"{stem} {split}")
        else:
            np.testing.assert_allclose(x, ref, rtol=0, atol=atol, err_msg=f"{stem} {split}")
            # absent persons and padding are exactly zero in both
            present = x.reshape(*x.shape[:2], 2, 75).any(axis=-1)
            np.testing.assert_array_equal(present, ref.reshape(present.shape + (75,)).any(-1))


def _rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """Counter-clockwise rotation by ``angle`` about ``axis`` (Rodrigues, with sin / cos)."""
    k = axis / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def test_rotation_onto_equals_the_axis_angle_rotation() -> None:
    rng = np.random.default_rng(0)
    z = np.array([0.0, 0.0, 1.0])
    for _ in range(20):
        u = rng.normal(size=3)
        R = rotation_onto(u, z)
        angle = np.arccos(np.clip(u @ z / np.linalg.norm(u), -1, 1))
        np.testing.assert_allclose(R, _rotation_about(np.cross(u, z), angle), atol=1e-12)
        np.testing.assert_allclose(R @ u, np.linalg.norm(u) * z, atol=1e-12)
    assert np.array_equal(rotation_onto(np.zeros(3), z), np.eye(3))
    assert np.array_equal(rotation_onto(-z, z), np.eye(3))  # antiparallel: zero axis, as PYSKL


def test_prenormalize_3d_puts_the_main_person_first_centred_and_upright() -> None:
    rng = np.random.default_rng(1)
    T = 12
    joints = np.zeros((T, 2, 25, 3), np.float32)
    joints[2:, 1] = rng.normal(size=(T - 2, 25, 3))  # slot 1 present in more frames: the main one
    joints[5:9, 0] = rng.normal(size=(4, 25, 3))
    joints[4, 1, 7] = 0  # an absent joint
    out = prenormalize_3d(joints, NTU25)
    assert out.shape == (T - 2, 2, 25, 3)  # the main person's present frames only
    first = out[0, 0].astype(np.float64)
    np.testing.assert_allclose(first[NTU25.center], 0, atol=1e-6)
    right, left = NTU25.shoulder_line
    shoulders = first[right] - first[left]
    np.testing.assert_allclose(shoulders[1:], 0, atol=1e-5)
    assert shoulders[0] > 0
    assert not out[2, 0, 7].any()  # absent stays absent
    assert not out[:3, 1].any() and out[3:7, 1].any()  # the other person, frames re-indexed
    # a rigid motion of the input: distances between joints preserved
    d_in = np.linalg.norm(joints[2, 1, 0] - joints[2, 1, 20])
    np.testing.assert_allclose(np.linalg.norm(out[0, 0, 0] - out[0, 0, 20]), d_in, rtol=1e-5)


def test_prenormalize_runs_after_centring_in_align_sample() -> None:
    rng = np.random.default_rng(2)
    joints = rng.normal(size=(8, 2, 25, 3)).astype(np.float32)
    joints[:, 1] = 0
    p = align_params("fixed", True, False, "zeros", prenormalize=True)
    out = align_sample(joints, 1, p, NTU25)
    np.testing.assert_allclose(out, prenormalize_3d(joints, NTU25), atol=1e-6)
    assert np.array_equal(
        prenormalize_3d(np.zeros((4, 2, 25, 3), np.float32), NTU25), np.zeros((4, 2, 25, 3))
    )
