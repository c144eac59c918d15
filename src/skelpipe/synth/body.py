"""Procedural 25-joint NTU body: bone lengths and style per subject, forward kinematics for the
trunk, head and legs, two-bone inverse kinematics for the arms.

Body frame (before placement in the scene): x = the body's right, y = up, z = the body's back. A
body with zero heading therefore faces -z, which is how a person facing a Kinect appears in its
camera space (Kinect x points to the sensor's left, i.e. the person's right). Joint indices are the
0-based NTU25 order of :mod:`skelpipe.skeleton`; side index 0 is left, 1 is right.

Every bone is either a rigid offset rotated by forward kinematics or one of the two arm segments
placed by the law of cosines, so bone lengths are exactly constant over time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from skelpipe.exact import matmul, norm

SPINE_BASE, SPINE_MID, NECK, HEAD, SPINE_SHOULDER = 0, 1, 2, 3, 20
SHOULDER, ELBOW, WRIST, HAND = (4, 8), (5, 9), (6, 10), (7, 11)
HAND_TIP, THUMB = (21, 23), (22, 24)
HIP, KNEE, ANKLE, FOOT = (12, 16), (13, 17), (14, 18), (15, 19)
LATERAL = (-1.0, 1.0)  # sign of the body-frame x of the left / right side
# Elbow pole of the arm IK in the torso frame (outward, up, back): elbows point down, out and back.
ARM_POLE = np.array([0.45, -0.45, 0.75])


@dataclass(frozen=True)
class Bones:
    """Segment lengths of one subject, metres (Kinect v2 joint centres, not anatomical bones)."""

    spine_low: float  # SpineBase -> SpineMid
    spine_up: float  # SpineMid -> SpineShoulder
    neck: float  # SpineShoulder -> Neck
    head: float  # Neck -> Head
    shoulder_half: float  # SpineShoulder -> Shoulder, lateral part
    shoulder_drop: float  # SpineShoulder -> Shoulder, downward part
    upper_arm: float  # Shoulder -> Elbow
    forearm: float  # Elbow -> Wrist
    hand: float  # Wrist -> Hand
    hand_tip: float  # Hand -> HandTip
    thumb: float  # Hand -> Thumb
    hip_half: float  # SpineBase -> Hip, lateral part
    hip_drop: float  # SpineBase -> Hip, downward part
    thigh: float  # Hip -> Knee
    shin: float  # Knee -> Ankle
    foot: float  # Ankle -> Foot, forward part

    @property
    def arm(self) -> float:
        """Shoulder-to-wrist length of the straight arm: the unit of the arm targets."""
        return self.upper_arm + self.forearm


# A 1.70 m adult, close to the median bone lengths Kinect v2 reports.
_BASE = Bones(
    spine_low=0.26, spine_up=0.21, neck=0.07, head=0.12, shoulder_half=0.16, shoulder_drop=0.04,
    upper_arm=0.27, forearm=0.24, hand=0.07, hand_tip=0.07, thumb=0.045, hip_half=0.075,
    hip_drop=0.05, thigh=0.41, shin=0.39, foot=0.11,
)  # fmt: skip
# Which proportion factor scales each bone (torso, arm, leg, width, head, hand).
_GROUP = {
    "spine_low": "torso", "spine_up": "torso", "neck": "head", "head": "head",
    "shoulder_half": "width", "shoulder_drop": "torso", "upper_arm": "arm", "forearm": "arm",
    "hand": "hand", "hand_tip": "hand", "thumb": "hand", "hip_half": "width", "hip_drop": "torso",
    "thigh": "leg", "shin": "leg", "foot": "leg",
}  # fmt: skip


@dataclass(frozen=True)
class Style:
    """How one subject moves: tempo, amplitude, timing and posture habits."""

    speed: float  # > 1 = faster: shorter samples, faster oscillations
    amplitude: float  # scales the action's angles and reaches
    lead: float  # idle fraction before the action starts
    phase: float  # phase of idle sway and oscillations, rad
    dominant: int  # side index of the dominant hand (1 = right-handed)
    lean: float  # habitual forward lean of the spine, rad
    head_tilt: float  # habitual sideways head tilt, rad
    arm_out: float  # rest wrist outward offset, arm lengths
    arm_forward: float  # rest wrist forward offset, arm lengths
    stance: float  # hip abduction of the stance, rad


@dataclass(frozen=True)
class Subject:
    """One performer: bone lengths and style, derived from (seed, subject number)."""

    number: int
    bones: Bones
    style: Style


def make_subject(number: int, rng: np.random.Generator) -> Subject:
    """Draw the bone lengths (height 0.9-1.1 x base, per-group proportions +-15 %) and style."""
    height = rng.uniform(0.9, 1.1)
    groups = ("torso", "arm", "leg", "width", "head", "hand")
    sd = {"torso": 0.04, "arm": 0.05, "leg": 0.05, "width": 0.07, "head": 0.05, "hand": 0.08}
    factor = {g: float(np.clip(rng.normal(1.0, sd[g]), 0.85, 1.15)) for g in groups}
    lengths = {
        f.name: getattr(_BASE, f.name) * height * factor[_GROUP[f.name]] for f in fields(Bones)
    }
    style = Style(
        speed=rng.uniform(0.8, 1.25),
        amplitude=rng.uniform(0.8, 1.15),
        lead=rng.uniform(0.02, 0.12),
        phase=rng.uniform(0.0, 2 * np.pi),
        dominant=int(rng.random() < 0.8),
        lean=np.deg2rad(rng.normal(2.0, 3.0)),
        head_tilt=np.deg2rad(rng.normal(0.0, 4.0)),
        arm_out=rng.uniform(0.06, 0.16),
        arm_forward=rng.uniform(0.0, 0.12),
        stance=np.deg2rad(rng.uniform(1.0, 7.0)),
    )
    return Subject(number, Bones(**lengths), style)


@dataclass
class Motion:
    """Angle and target tracks of one body over T frames (body frame, radians, metres).

    Attributes:
        pelvis: (T, 3) forward tilt, right tilt, left turn of the pelvis.
        spine: (T, 3) forward bend, right bend, left twist (split evenly over the two segments).
        head: (T, 3) nod forward, tilt right, turn left.
        hip: (T, 2, 2) per side: flexion (thigh forward), abduction (thigh outward).
        knee: (T, 2) per side: flexion (shin backward).
        wrist: (T, 2, 3) per side: wrist target relative to the shoulder in the torso frame as
            (outward, up, forward), in arm lengths; reached by two-bone IK.
        shift: (T, 3) root translation (right, up, forward); up is the height above the ground.
        anchor_feet: keep the mean ankle position fixed (sitting down, crouching).
    """

    pelvis: np.ndarray
    spine: np.ndarray
    head: np.ndarray
    hip: np.ndarray
    knee: np.ndarray
    wrist: np.ndarray
    shift: np.ndarray
    anchor_feet: bool = False

    @classmethod
    def rest(cls, n_frames: int, style: Style) -> Motion:
        """Standing at rest with the subject's posture habits, arms hanging."""
        t = n_frames
        m = cls(
            pelvis=np.zeros((t, 3)), spine=np.zeros((t, 3)), head=np.zeros((t, 3)),
            hip=np.zeros((t, 2, 2)), knee=np.zeros((t, 2)), wrist=np.zeros((t, 2, 3)),
            shift=np.zeros((t, 3)),
        )  # fmt: skip
        m.spine[:, 0] = style.lean
        m.head[:, 1] = style.head_tilt
        m.hip[:, :, 1] = style.stance
        m.knee[:] = np.deg2rad(3.0)
        m.wrist[:] = (style.arm_out, -0.95, style.arm_forward)
        return m


@dataclass
class Kin:
    """Posed body: joint positions and the frames of the trunk.

    Attributes:
        pos: (T, 25, 3) joint positions, metres.
        torso: (T, 3, 3) rotation of the upper trunk (columns: right, up, back).
        pelvis: (T, 3, 3) rotation of the pelvis.
    """

    pos: np.ndarray
    torso: np.ndarray
    pelvis: np.ndarray

    def placed(self, yaw: float, origin: np.ndarray) -> Kin:
        """The body turned left by ``yaw`` about the vertical and moved to ``origin`` (3,)."""
        r = rot_y(np.float64(yaw))  # (3, 3)
        return Kin(matmul(self.pos, r.T) + origin, matmul(r, self.torso), matmul(r, self.pelvis))


def rot_x(a: np.ndarray) -> np.ndarray:
    """Rotations about x by angles ``a`` (...,) -> (..., 3, 3); +a turns y towards z."""
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([i, o, o, o, c, -s, o, s, c], axis=-1).reshape(*np.shape(a), 3, 3)


def rot_y(a: np.ndarray) -> np.ndarray:
    """Rotations about y (up) by ``a`` (...,) -> (..., 3, 3); +a turns the front (-z) left."""
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([c, o, s, o, i, o, -s, o, c], axis=-1).reshape(*np.shape(a), 3, 3)


def rot_z(a: np.ndarray) -> np.ndarray:
    """Rotations about z by ``a`` (...,) -> (..., 3, 3); +a turns -y (down) towards +x."""
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([c, -s, o, s, c, o, o, o, i], axis=-1).reshape(*np.shape(a), 3, 3)


def _bend(angles: np.ndarray) -> np.ndarray:
    """(T, 3) forward, right, left-twist angles -> (T, 3, 3) rotation of an upward segment."""
    return matmul(matmul(rot_y(angles[:, 2]), rot_x(-angles[:, 0])), rot_z(-angles[:, 1]))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(norm(v, axis=-1, keepdims=True), 1e-9)


def pose_body(bones: Bones, m: Motion) -> Kin:
    """Forward kinematics of ``m`` for ``bones``; the body stands on the ground plane y = 0.

    Returns:
        Kin with pos (T, 25, 3) in the body frame (root above the origin at frame 0).
    """
    n = m.pelvis.shape[0]
    pos = np.zeros((n, 25, 3))
    r_pelvis = matmul(matmul(rot_y(m.pelvis[:, 2]), rot_x(-m.pelvis[:, 0])), rot_z(-m.pelvis[:, 1]))
    r_low = matmul(r_pelvis, _bend(0.5 * m.spine))
    pos[:, SPINE_MID] = matmul(r_low, np.array([0.0, bones.spine_low, 0.0]))
    r_torso = matmul(r_low, _bend(0.5 * m.spine))
    spine_up = matmul(r_torso, np.array([0.0, bones.spine_up, 0.0]))
    pos[:, SPINE_SHOULDER] = pos[:, SPINE_MID] + spine_up
    r_head = matmul(r_torso, _bend(m.head))
    pos[:, NECK] = pos[:, SPINE_SHOULDER] + matmul(r_head, np.array([0.0, bones.neck, 0.0]))
    pos[:, HEAD] = pos[:, NECK] + matmul(r_head, np.array([0.0, bones.head, 0.0]))
    for side in (0, 1):
        lat = LATERAL[side]
        offset = np.array([lat * bones.shoulder_half, -bones.shoulder_drop, 0.0])
        pos[:, SHOULDER[side]] = pos[:, SPINE_SHOULDER] + matmul(r_torso, offset)
        _pose_leg(pos, bones, m, side, r_pelvis)
    kin = Kin(pos, r_torso, r_pelvis)
    for side in (0, 1):
        lat = LATERAL[side]
        local = m.wrist[:, side] * np.array([lat, 1.0, -1.0]) * bones.arm  # (T, 3) right/up/back
        target = pos[:, SHOULDER[side]] + matmul(r_torso, local[:, :, None])[:, :, 0]
        place_arm(kin, bones, side, target)
    _ground(pos, m)
    return kin


def _pose_leg(pos: np.ndarray, bones: Bones, m: Motion, side: int, r_pelvis: np.ndarray) -> None:
    """Hip, knee, ankle and foot of one side; the foot stays roughly level with the ground."""
    lat = LATERAL[side]
    flex, abd, knee = m.hip[:, side, 0], m.hip[:, side, 1], m.knee[:, side]
    hip = matmul(r_pelvis, np.array([lat * bones.hip_half, -bones.hip_drop, 0.0]))
    r_thigh = matmul(matmul(r_pelvis, rot_x(flex)), rot_z(lat * abd))
    knee_pos = hip + matmul(r_thigh, np.array([0.0, -bones.thigh, 0.0]))
    r_shin = matmul(r_thigh, rot_x(-knee))
    ankle = knee_pos + matmul(r_shin, np.array([0.0, -bones.shin, 0.0]))
    # undo most of the shin's pitch so the foot points forward, not down or up
    r_foot = matmul(r_shin, rot_x(-0.8 * (flex - knee - m.pelvis[:, 0])))
    foot = ankle + matmul(r_foot, np.array([0.0, -0.03, -bones.foot]))
    pos[:, HIP[side]], pos[:, KNEE[side]] = hip, knee_pos
    pos[:, ANKLE[side]], pos[:, FOOT[side]] = ankle, foot


def _ground(pos: np.ndarray, m: Motion) -> None:
    """Put the lowest joint on y = 0 (plus the lift), anchor the feet, apply the root shift."""
    pos[:, :, 1] -= pos[:, :, 1].min(axis=1, keepdims=True)
    if m.anchor_feet:
        ankles = pos[:, [ANKLE[0], ANKLE[1]]].mean(axis=1)  # (T, 3)
        drift = ankles - ankles[:1]
        drift[:, 1] = 0.0
        pos -= drift[:, None, :]
    pos += (m.shift * np.array([1.0, 1.0, -1.0]))[:, None, :]


def solve_two_bone(
    root: np.ndarray, target: np.ndarray, pole: np.ndarray, a: float, b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone IK: the middle joint and the end for segment lengths ``a`` and ``b``.

    Args:
        root, target, pole: (T, 3) root position, wanted end position, bend direction.

    Returns:
        (middle, end), each (T, 3); the end is the target pulled into reach.
    """
    d_vec = target - root
    d = norm(d_vec, axis=-1)
    u = d_vec / np.maximum(d, 1e-9)[:, None]
    d = np.clip(d, abs(a - b) + 1e-3, (a + b) * (1.0 - 1e-4))
    cos_a = np.clip((a * a + d * d - b * b) / (2.0 * a * d), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a * cos_a)
    n = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    middle = root + a * (cos_a[:, None] * u + sin_a[:, None] * _unit(n))
    return middle, root + d[:, None] * u


def place_arm(kin: Kin, bones: Bones, side: int, target: np.ndarray) -> None:
    """Move elbow, wrist, hand, hand tip and thumb of ``side`` so the wrist reaches ``target``.

    Args:
        target: (T, 3) wanted wrist position in the frame of ``kin``.
    """
    lat = np.array([LATERAL[side], 1.0, 1.0])
    pole = matmul(kin.torso, ARM_POLE * lat)  # (T, 3)
    pos = kin.pos
    elbow, wrist = solve_two_bone(pos[:, SHOULDER[side]], target, pole, bones.upper_arm,
                                  bones.forearm)  # fmt: skip
    along = _unit(wrist - elbow)
    # palm side: towards the body's midline and front, made orthogonal to the forearm
    inward = matmul(kin.torso, np.array([-LATERAL[side], 0.0, -0.5]))
    alt = matmul(kin.torso, np.array([0.0, 1.0, 0.0]))
    ref = np.where((np.abs(np.sum(_unit(inward) * along, -1)) > 0.9)[:, None], alt, inward)
    palm = _unit(ref - np.sum(ref * along, axis=-1, keepdims=True) * along)
    hand = wrist + bones.hand * along
    pos[:, ELBOW[side]], pos[:, WRIST[side]], pos[:, HAND[side]] = elbow, wrist, hand
    pos[:, HAND_TIP[side]] = hand + bones.hand_tip * along
    pos[:, THUMB[side]] = hand + bones.thumb * (0.6 * along + 0.8 * palm)


def reach(kin: Kin, bones: Bones, side: int, target: np.ndarray, weight: np.ndarray) -> None:
    """Blend the wrist of ``side`` towards ``target`` (T, 3) with ``weight`` (T,) in [0, 1]."""
    wrist = kin.pos[:, WRIST[side]]
    place_arm(kin, bones, side, wrist + (target - wrist) * weight[:, None])
