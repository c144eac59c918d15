"""Action-specific motion functions, keyed by their real NTU RGB+D action codes.

A one-person motion function edits a resting :class:`Motion` in place. A two-person action has a
``pair`` function (both motions, returns the distance between the two roots, which face each
other) and a ``contact`` function that moves wrists to world targets on the other body after
placement, so hands really meet (handshake, giving) or land on the partner (punch, push, hug).
The performer of the sample is actor A; the partner is actor B.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from skelpipe.class_names import NTU120_NAMES
from skelpipe.exact import norm
from skelpipe.synth.body import (
    HEAD,
    NECK,
    SPINE_MID,
    SPINE_SHOULDER,
    Kin,
    Motion,
    reach,
)  # fmt: skip
from skelpipe.synth.timeline import Ctx, deg, keys, ramp, window

SingleFn = Callable[[Ctx, Motion], None]
PairFn = Callable[[Ctx, Ctx, Motion, Motion], float]
ContactFn = Callable[[Ctx, Ctx, Kin, Kin], None]


@dataclass(frozen=True)
class Action:
    """One NTU action class as generated here."""

    code: int  # NTU action code (A007 -> 7); the name comes from skelpipe.class_names
    frames: int  # typical length at 30 fps for a subject of speed 1
    single: SingleFn | None = None
    pair: PairFn | None = None
    contact: ContactFn | None = None

    @property
    def name(self) -> str:
        return NTU120_NAMES[self.code - 1]

    @property
    def persons(self) -> int:
        return 1 if self.pair is None else 2


def _toward(m: Motion, side: int, target: np.ndarray, w: np.ndarray, amp: float = 1.0) -> None:
    """Blend the wrist target of ``side`` towards ``target`` (3,) or (T, 3) by ``w * amp``."""
    rest = m.wrist[:, side]
    m.wrist[:, side] = rest + (np.asarray(target) - rest) * (np.clip(w * amp, 0, 1.2))[:, None]


def throw(c: Ctx, m: Motion) -> None:
    """A007 throw: wind-up behind the head, fast overarm release, follow-through."""
    d, u = c.dom, c.u
    k = [0.0, 0.2, 0.42, 0.55, 0.68, 0.9]
    m.wrist[:, d] = keys(u, k, [m.wrist[0, d], m.wrist[0, d], (0.25, 0.55, -0.45),
                                (0.05, 0.4, 0.95), (-0.15, -0.35, 0.6), m.wrist[0, d]])  # fmt: skip
    lat = 1.0 if d == 1 else -1.0
    m.spine[:, 2] += lat * c.amp * keys(u, k, deg([0, 0, -25, 20, 10, 0]))
    m.spine[:, 0] += c.amp * keys(u, k, deg([0, 0, -5, 18, 12, 0]))
    _toward(m, 1 - d, (0.2, -0.5, 0.45), window(u, 0.2, 0.4, 0.6, 0.85))


def _sit_pose(c: Ctx, m: Motion, seated: np.ndarray) -> None:
    """Blend the legs to a chair sitting pose by ``seated`` (T,) in [0, 1]."""
    m.hip[:, :, 0] += deg(88.0) * seated[:, None]
    m.knee += deg(90.0) * seated[:, None]
    m.spine[:, 0] += deg(28.0) * c.amp * (4.0 * seated * (1.0 - seated))
    hands = (c.style.arm_out, -0.5, 0.55)
    for side in (0, 1):
        _toward(m, side, hands, seated)
    m.anchor_feet = True


def sit_down(c: Ctx, m: Motion) -> None:
    """A008 sitting down (on a chair that the sensor does not see)."""
    _sit_pose(c, m, ramp(c.u, 0.2, 0.7))


def stand_up(c: Ctx, m: Motion) -> None:
    """A009 standing up (from sitting position)."""
    _sit_pose(c, m, 1.0 - ramp(c.u, 0.3, 0.8))


def clapping(c: Ctx, m: Motion) -> None:
    """A010 clapping: both hands meet repeatedly in front of the chest."""
    gap = 0.02 + 0.11 * c.amp * (0.5 + 0.5 * c.osc(2.2))  # half distance between wrists, m
    w = window(c.u, 0.05, 0.2, 0.82, 0.95)
    target = np.stack([c.midline(gap), np.full_like(gap, -0.25), np.full_like(gap, 0.55)], -1)
    for side in (0, 1):
        _toward(m, side, target, w)


def hand_waving(c: Ctx, m: Motion) -> None:
    """A023 hand waving: raised dominant hand swinging from side to side."""
    w = window(c.u, 0.05, 0.2, 0.8, 0.95)
    out = 0.3 + 0.18 * c.amp * c.osc(1.8)
    target = np.stack([out, np.full_like(out, 0.5), np.full_like(out, 0.3)], -1)
    _toward(m, c.dom, target, w)
    m.spine[:, 1] -= (1.0 if c.dom == 1 else -1.0) * deg(5.0) * w


def kicking(c: Ctx, m: Motion) -> None:
    """A024 kicking something: the dominant leg swings back, then kicks forward."""
    d, u = c.dom, c.u
    k = [0.0, 0.25, 0.4, 0.52, 0.68, 0.85]
    m.hip[:, d, 0] += c.amp * keys(u, k, deg([0, 0, -20, 75, 25, 0]))
    m.knee[:, d] += keys(u, k, deg([0, 0, 75, 8, 30, 0]))
    m.knee[:, 1 - d] += window(u, 0.25, 0.4, 0.6, 0.8) * deg(15.0)
    m.spine[:, 0] -= window(u, 0.35, 0.5, 0.55, 0.75) * deg(12.0) * c.amp
    for side in (0, 1):
        _toward(m, side, (0.35, -0.7, 0.15), window(u, 0.2, 0.4, 0.6, 0.85))


def hopping(c: Ctx, m: Motion) -> None:
    """A026 hopping (one foot jumping): the free leg folded, repeated hops on the other."""
    free, w = 1 - c.dom, window(c.u, 0.05, 0.15, 0.85, 0.95)
    m.hip[:, free, 0] += deg(30.0) * w
    m.knee[:, free] += deg(85.0) * w
    hop = np.maximum(c.osc(1.9), 0.0)
    m.shift[:, 1] += 0.09 * c.amp * hop * w
    m.knee[:, c.dom] += deg(22.0) * (1.0 - hop) * w
    m.hip[:, c.dom, 0] += deg(12.0) * (1.0 - hop) * w
    for side in (0, 1):
        _toward(m, side, (0.35, -0.65, 0.2), w)


def jump_up(c: Ctx, m: Motion) -> None:
    """A027 jump up: crouch with arms back, take off with arms up, land, stand."""
    u = c.u
    k = [0.0, 0.15, 0.35, 0.44, 0.62, 0.7, 0.9]
    crouch = keys(u, k, [0, 0, 1, 0, 0, 0.6, 0])
    m.knee += deg(75.0) * crouch[:, None]
    m.hip[:, :, 0] += deg(65.0) * crouch[:, None]
    m.spine[:, 0] += deg(25.0) * crouch
    air = np.clip((u - 0.44) / 0.18, 0.0, 1.0)
    m.shift[:, 1] += 0.28 * c.amp * 4.0 * air * (1.0 - air)
    rest, back, up = m.wrist[0, 0], (0.1, -0.75, -0.45), (0.15, 0.85, 0.3)
    arms = keys(u, k, [rest, rest, back, up, (0.25, 0.3, 0.4), (0.15, -0.7, 0.2), rest])
    for side in (0, 1):
        _toward(m, side, arms, np.ones_like(u))
    m.anchor_feet = True


def pointing(c: Ctx, m: Motion) -> None:
    """A031 pointing to something with finger: straight arm held forward at shoulder height."""
    w = window(c.u, 0.15, 0.35, 0.7, 0.88)
    _toward(m, c.dom, (0.12 * c.amp, 0.15 + 0.15 * c.variant, 0.98), w)
    m.head[:, 2] += (-1.0 if c.dom == 1 else 1.0) * deg(10.0) * w


def nod_bow(c: Ctx, m: Motion) -> None:
    """A035 nod head/bow: some performers nod, some bow, most mix (``variant``)."""
    w = window(c.u, 0.1, 0.25, 0.75, 0.9)
    bow = c.variant
    m.spine[:, 0] += deg(38.0) * bow * c.amp * window(c.u, 0.15, 0.4, 0.55, 0.8)
    m.head[:, 0] += deg(24.0) * (1.0 - 0.6 * bow) * c.amp * w * (0.5 - 0.5 * c.osc(1.4))


def shake_head(c: Ctx, m: Motion) -> None:
    """A036 shake head: the head turns left and right."""
    w = window(c.u, 0.1, 0.2, 0.8, 0.9)
    m.head[:, 2] += deg(35.0) * c.amp * w * c.osc(1.6)


def salute(c: Ctx, m: Motion) -> None:
    """A038 salute: dominant hand to the brow, held, then down."""
    b = c.bones
    up = (b.shoulder_drop + b.neck + 0.8 * b.head) / b.arm
    _toward(m, c.dom, (c.midline(0.12), up, 0.22), window(c.u, 0.15, 0.35, 0.7, 0.85))


def falling(c: Ctx, m: Motion) -> None:
    """A043 falling: knees give way, the body pitches forward and ends lying on the floor."""
    u = c.u
    k = [0.0, 0.25, 0.42, 0.62, 1.0]
    m.knee += keys(u, k, deg([0, 0, 55, 10, 10]))[:, None]
    m.hip[:, :, 0] += keys(u, k, deg([0, 0, 45, 5, 5]))[:, None]
    m.pelvis[:, 0] += keys(u, k, deg([0, 0, 15, 86, 88]))
    m.pelvis[:, 1] += (c.variant - 0.5) * deg(40.0) * ramp(u, 0.3, 0.62)
    m.shift[:, 2] += 0.55 * ramp(u, 0.4, 0.65)
    brace = keys(u, [0.3, 0.5, 0.65, 0.8], [m.wrist[0, 0], (0.25, 0.3, 0.9), (0.25, 0.3, 0.9),
                                            (0.35, 0.2, 0.25)])  # fmt: skip
    for side in (0, 1):
        _toward(m, side, brace, np.ones_like(u))


def pickup(c: Ctx, m: Motion) -> None:
    """A006 pickup: bend and crouch, dominant hand down to the floor, back up."""
    w = window(c.u, 0.15, 0.4, 0.6, 0.85)
    m.spine[:, 0] += deg(55.0) * c.amp * w
    m.knee += deg(55.0) * w[:, None]
    m.hip[:, :, 0] += deg(45.0) * w[:, None]
    _toward(m, c.dom, (0.0, -1.0, 0.3), w)
    m.anchor_feet = True


def cheer_up(c: Ctx, m: Motion) -> None:
    """A022 cheer up: both arms up, shaking."""
    w = window(c.u, 0.1, 0.25, 0.8, 0.92)
    up = 0.75 + 0.12 * c.amp * c.osc(2.0)
    target = np.stack([np.full_like(up, 0.3), up, np.full_like(up, 0.15)], -1)
    for side in (0, 1):
        _toward(m, side, target, w)


def palms_together(c: Ctx, m: Motion) -> None:
    """A039 put the palms together: both wrists meet in front of the chest and stay."""
    w = window(c.u, 0.15, 0.35, 0.75, 0.9)
    for side in (0, 1):
        _toward(m, side, (c.midline(0.03), -0.1, 0.5), w)


def cross_hands(c: Ctx, m: Motion) -> None:
    """A040 cross hands in front (say stop): forearms crossed in front of the chest."""
    w = window(c.u, 0.15, 0.35, 0.75, 0.9)
    for side in (0, 1):
        fwd = 0.5 + 0.06 * side
        _toward(m, side, (c.midline(-0.14), -0.05, fwd), w)


# ----- two-person actions: A is the performer, B the partner ------------------------------------


def _meet_distance(a: Ctx, b: Ctx, drop: float) -> float:
    """Root distance at which both wrists reach a point ``drop`` m below shoulder height midway."""
    arm = 0.9 * min(a.bones.arm, b.bones.arm)
    half = np.sqrt(max(arm**2 - drop**2 - 0.16**2, 0.04)) + 0.06
    return float(2.0 * half)


def _meet_point(ka: Kin, kb: Kin, drop: float) -> np.ndarray:
    """(T, 3) midpoint between the two SpineShoulders, lowered by ``drop``."""
    mid = 0.5 * (ka.pos[:, SPINE_SHOULDER] + kb.pos[:, SPINE_SHOULDER])
    return mid - np.array([0.0, drop, 0.0])


def punch_pair(a: Ctx, b: Ctx, ma: Motion, mb: Motion) -> float:
    """A050 punching/slapping other person: A lunges, B recoils after the hit."""
    ma.shift[:, 2] += 0.12 * window(a.u, 0.35, 0.47, 0.55, 0.75)
    lat = 1.0 if a.dom == 1 else -1.0
    ma.spine[:, 2] += lat * deg(15.0) * window(a.u, 0.35, 0.47, 0.55, 0.75)
    _toward(ma, 1 - a.dom, (a.midline(0.1), -0.1, 0.45), window(a.u, 0.2, 0.35, 0.7, 0.85))
    hit = ramp(a.u, 0.47, 0.6) * (1.0 - ramp(a.u, 0.7, 0.95))
    mb.spine[:, 0] -= deg(15.0) * hit
    mb.head[:, 0] -= deg(18.0) * hit
    mb.shift[:, 2] -= 0.15 * ramp(a.u, 0.47, 0.65)
    return a.bones.arm + 0.08


def punch_contact(a: Ctx, b: Ctx, ka: Kin, kb: Kin) -> None:
    to_a = ka.pos[:, SPINE_SHOULDER] - kb.pos[:, SPINE_SHOULDER]
    face = 0.5 * (kb.pos[:, HEAD] + kb.pos[:, NECK])
    target = face + 0.06 * to_a / norm(to_a, axis=-1, keepdims=True)
    reach(ka, a.bones, a.dom, target, keys(a.u, [0.35, 0.47, 0.53, 0.66], [0, 1, 1, 0]))


def push_pair(a: Ctx, b: Ctx, ma: Motion, mb: Motion) -> float:
    """A052 pushing other person: A pushes B's chest with both hands; B stumbles back."""
    ma.shift[:, 2] += 0.15 * ramp(a.u, 0.35, 0.55)
    ma.spine[:, 0] += deg(12.0) * window(a.u, 0.3, 0.5, 0.6, 0.8)
    mb.shift[:, 2] -= 0.35 * a.amp * ramp(a.u, 0.45, 0.7)
    mb.spine[:, 0] -= deg(12.0) * window(a.u, 0.45, 0.55, 0.65, 0.85)
    return a.bones.arm + 0.02


def push_contact(a: Ctx, b: Ctx, ka: Kin, kb: Kin) -> None:
    w = keys(a.u, [0.3, 0.45, 0.62, 0.8], [0, 1, 1, 0])
    chest = kb.pos[:, SPINE_SHOULDER] - np.array([0.0, 0.1, 0.0])
    for side in (0, 1):
        lateral = 0.12 * (2 * side - 1) * ka.torso[:, :, 0]
        reach(ka, a.bones, side, chest + lateral + 0.08 * kb.torso[:, :, 2] * -1, w)


def hug_pair(a: Ctx, b: Ctx, ma: Motion, mb: Motion) -> float:
    """A055 hugging other person: both step in, wrap their arms around each other, step back."""
    close = window(a.u, 0.1, 0.3, 0.78, 0.95)
    for m in (ma, mb):
        m.shift[:, 2] += 0.38 * close
        m.hip[:, 0, 0] += deg(20.0) * window(a.u, 0.1, 0.2, 0.2, 0.3)
        m.hip[:, 1, 0] += deg(20.0) * window(a.u, 0.78, 0.86, 0.86, 0.95)
    return 1.12


def hug_contact(a: Ctx, b: Ctx, ka: Kin, kb: Kin) -> None:
    w = window(a.u, 0.2, 0.38, 0.7, 0.85)
    for me, other, bones, level in (
        (ka, kb, a.bones, SPINE_SHOULDER),
        (kb, ka, b.bones, SPINE_MID),
    ):
        back = other.pos[:, level] + 0.14 * other.torso[:, :, 2]
        for side in (0, 1):
            lateral = 0.16 * (2 * side - 1) * me.torso[:, :, 0]
            reach(me, bones, side, back + lateral, w)


def give_pair(a: Ctx, b: Ctx, ma: Motion, mb: Motion) -> float:
    """A056 giving something to other person: A holds it out, B takes it."""
    ma.spine[:, 0] += deg(8.0) * window(a.u, 0.2, 0.4, 0.55, 0.7)
    mb.spine[:, 0] += deg(8.0) * window(a.u, 0.3, 0.45, 0.65, 0.8)
    return _meet_distance(a, b, 0.35) + 0.1


def give_contact(a: Ctx, b: Ctx, ka: Kin, kb: Kin) -> None:
    meet = _meet_point(ka, kb, 0.35)
    reach(ka, a.bones, a.dom, meet, window(a.u, 0.15, 0.4, 0.55, 0.72))
    reach(kb, b.bones, b.dom, meet, window(a.u, 0.25, 0.42, 0.62, 0.85))


def handshake_pair(a: Ctx, b: Ctx, ma: Motion, mb: Motion) -> float:
    """A058 handshaking: right hands meet between the two and shake up and down."""
    for c, m in ((a, ma), (b, mb)):
        m.spine[:, 0] += deg(6.0) * window(c.u, 0.2, 0.35, 0.7, 0.85)
    return _meet_distance(a, b, 0.32)


def handshake_contact(a: Ctx, b: Ctx, ka: Kin, kb: Kin) -> None:
    w = window(a.u, 0.15, 0.35, 0.72, 0.88)
    meet = _meet_point(ka, kb, 0.32)
    meet[:, 1] += 0.035 * a.amp * a.osc(2.5) * w
    reach(ka, a.bones, 1, meet, w)
    reach(kb, b.bones, 1, meet, w)


ACTIONS: dict[int, Action] = {
    a.code: a
    for a in (
        Action(6, 80, single=pickup),
        Action(7, 70, single=throw),
        Action(8, 80, single=sit_down),
        Action(9, 75, single=stand_up),
        Action(10, 75, single=clapping),
        Action(22, 75, single=cheer_up),
        Action(23, 75, single=hand_waving),
        Action(24, 65, single=kicking),
        Action(26, 75, single=hopping),
        Action(27, 65, single=jump_up),
        Action(31, 70, single=pointing),
        Action(35, 70, single=nod_bow),
        Action(36, 65, single=shake_head),
        Action(38, 70, single=salute),
        Action(39, 70, single=palms_together),
        Action(40, 70, single=cross_hands),
        Action(43, 80, single=falling),
        Action(50, 65, pair=punch_pair, contact=punch_contact),
        Action(52, 70, pair=push_pair, contact=push_contact),
        Action(55, 90, pair=hug_pair, contact=hug_contact),
        Action(56, 80, pair=give_pair, contact=give_contact),
        Action(58, 80, pair=handshake_pair, contact=handshake_contact),
    )
}
