"""One performance in the world: who performs what, for how long, where and facing where.

A performance is (setup, subject, replication, action); the cameras of its setup all record the
same performance, so its RNG derives from the name without the camera. The world frame has y up,
the floor at y = 0 and the scene centre at the origin (see :mod:`skelpipe.synth.camera`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from skelpipe.exact import matmul
from skelpipe.synth.actions import ACTIONS
from skelpipe.synth.body import Kin, Motion, Subject, make_subject, pose_body, rot_y
from skelpipe.synth.camera import bone_frames
from skelpipe.synth.timeline import Ctx, Timing, deg, make_ctx


def derive_rng(seed: int, key: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``key`` (not on process or call order)."""
    digest = hashlib.blake2b(key.encode("ascii"), digest_size=16).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


@functools.lru_cache(maxsize=4096)
def subject(seed: int, number: int) -> Subject:
    """Bone lengths and style of performer ``number``, the same in every setup and sample."""
    return make_subject(number, derive_rng(seed, f"P{number:03d}"))


@dataclass(frozen=True, order=True)
class Performance:
    """What the cameras of one setup record together."""

    setup: int
    subject: int
    replication: int
    action: int
    partner: int = 0  # subject number of actor B in two-person actions, else 0

    @property
    def key(self) -> str:
        return f"S{self.setup:03d}P{self.subject:03d}R{self.replication:03d}A{self.action:03d}"

    def sample_name(self, camera: int) -> str:
        return (
            f"S{self.setup:03d}C{camera:03d}P{self.subject:03d}"
            f"R{self.replication:03d}A{self.action:03d}"
        )


@dataclass
class Scene:
    """The performed bodies in the world frame.

    Attributes:
        bodies: one :class:`Kin` per person (actor A first), pos (T, 25, 3).
        fronts: (M, 3) the direction each person faces at rest (unit, horizontal).
        frames: per person (T, J, 3, 3) joint frames for the orientation quaternions.
    """

    bodies: list[Kin]
    fronts: np.ndarray
    frames: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.frames:
            self.frames = [
                bone_frames(k.pos, -k.torso[:, :, 0], -k.torso[:, :, 2]) for k in self.bodies
            ]

    @property
    def n_frames(self) -> int:
        return int(self.bodies[0].pos.shape[0])


def _front(yaw: float) -> np.ndarray:
    return matmul(rot_y(np.float64(yaw)), np.array([0.0, 0.0, -1.0]))


def _idle(c: Ctx, m: Motion) -> None:
    """Breathing-scale sway that every body shows, also outside the action."""
    m.spine[:, 0] += deg(1.2) * c.osc(0.23)
    m.spine[:, 1] += deg(1.0) * c.osc(0.17, 1.3)
    m.head[:, 2] += deg(3.0) * c.osc(0.11, 2.1)


def _wander(rng: np.random.Generator, t: np.ndarray, scale: float, shape: tuple = ()) -> np.ndarray:
    """Smooth random drift: two sinusoids of 0.1-0.7 Hz per channel; (T, *shape)."""
    f, ph = rng.uniform(0.1, 0.7, (2, *shape)), rng.uniform(0.0, 2 * np.pi, (2, *shape))
    a = rng.normal(0.0, scale, (2, *shape))
    tt = t.reshape(-1, *([1] * len(shape)))
    return sum(a[k] * np.sin(2 * np.pi * f[k] * tt + ph[k]) for k in range(2))


def _fidget(rng: np.random.Generator, c: Ctx, m: Motion) -> None:
    """Nuisance motion on top of the action: both hands drift together (so hands that meet
    still meet), the head, trunk and stance wander."""
    drift = _wander(rng, c.t, 0.07, (3,)) + rng.normal(0.0, 0.06, 3)  # (T, 3) arm lengths
    m.wrist[:, 1] += drift
    m.wrist[:, 0] += drift * np.array([-1.0, 1.0, 1.0])  # the left side's outward is -lateral
    m.head += deg(_wander(rng, c.t, 5.0, (3,)) + rng.normal(0.0, 4.0, 3))
    m.spine += deg(_wander(rng, c.t, 2.5, (3,)) + rng.normal(0.0, 2.0, 3))
    m.pelvis[:, 2] += deg(_wander(rng, c.t, 4.0))
    m.shift[:, [0, 2]] += _wander(rng, c.t, 0.04, (2,))


def _contexts(
    rng: np.random.Generator, perf: Performance, seed: int, frames: tuple[int, int]
) -> tuple[Ctx, Ctx | None]:
    """Contexts of actor A and (two-person actions) actor B, sharing A's timeline."""
    action = ACTIONS[perf.action]
    sub = subject(seed, perf.subject)
    st = sub.style
    n = int(np.clip(round(action.frames * rng.uniform(0.85, 1.15) / st.speed), *frames))
    lead = st.lead + rng.uniform(0.0, 0.12)
    timing = Timing(lead, rng.uniform(0.0, 0.12), rng.uniform(-0.5, 0.5))
    dom = st.dominant if rng.random() > 0.1 else 1 - st.dominant  # sometimes the other hand
    amp, tempo = st.amplitude * rng.uniform(0.75, 1.25), st.speed * rng.uniform(0.85, 1.15)
    ca = make_ctx(n, timing, st, sub.bones, amp, tempo, dom, rng.random())
    if action.pair is None:
        return ca, None
    part = subject(seed, perf.partner)
    cb = dataclasses.replace(ca, bones=part.bones, style=part.style, dom=part.style.dominant,
                             phase=part.style.phase, amp=part.style.amplitude)  # fmt: skip
    return ca, cb


def perform(seed: int, perf: Performance, facing_deg: float, frames: tuple[int, int]) -> Scene:
    """Pose the bodies of ``perf`` (deterministic from ``seed`` and ``perf.key``).

    Args:
        facing_deg: yaw the performer (or the pair's common front) faces, degrees.
        frames: (min, max) frames per sample.
    """
    rng = derive_rng(seed, perf.key)
    action = ACTIONS[perf.action]
    ca, cb = _contexts(rng, perf, seed, frames)
    yaw = deg(facing_deg) + rng.normal(0.0, deg(12.0))
    centre = np.array([rng.uniform(-0.2, 0.2), 0.0, rng.uniform(-0.2, 0.2)])
    ma = Motion.rest(len(ca.u), ca.style)
    _idle(ca, ma)
    if cb is None:
        action.single(ca, ma)
        _fidget(rng, ca, ma)
        return Scene([pose_body(ca.bones, ma).placed(yaw, centre)], _front(yaw)[None])
    mb = Motion.rest(len(cb.u), cb.style)
    _idle(cb, mb)
    dist = action.pair(ca, cb, ma, mb)
    _fidget(rng, ca, ma)
    _fidget(rng, cb, mb)
    yaw_a, yaw_b = yaw + np.pi / 2, yaw - np.pi / 2  # the two face each other
    front_a = _front(yaw_a)
    ka = pose_body(ca.bones, ma).placed(yaw_a, centre - 0.5 * dist * front_a)
    kb = pose_body(cb.bones, mb).placed(yaw_b, centre + 0.5 * dist * front_a)
    action.contact(ca, cb, ka, kb)
    return Scene([ka, kb], np.stack([front_a, -front_a]))


def rest_pose(seed: int, number: int) -> np.ndarray:
    """(25, 3) standing rest pose of subject ``number`` in its body frame."""
    sub = subject(seed, number)
    return pose_body(sub.bones, Motion.rest(1, sub.style)).pos[0]
