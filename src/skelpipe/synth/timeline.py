"""Time bases and smooth curves the motion functions are written with.

``u`` is the progress through an action, 0 at its start and 1 at its end, so one-shot actions are
keyframed in ``u``; oscillations use seconds ``t`` scaled by the subject's tempo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skelpipe.synth.body import Bones, Style

FPS = 30.0  # Kinect v2 frame rate


@dataclass(frozen=True)
class Ctx:
    """What a motion function knows about one performer in one performance.

    Attributes:
        u: (T,) progress through the action in [0, 1] (0 during the idle lead-in).
        t: (T,) time in seconds.
        amp: amplitude multiplier (subject style x replication).
        tempo: oscillation-frequency multiplier (subject speed x replication).
        phase: phase offset of oscillations, rad.
        dom: side index of the hand / leg used for one-sided actions (1 = right).
        bones: the performer's segment lengths.
        style: the performer's style.
        variant: a number in [0, 1) drawn per performance, for actions done in several ways.
    """

    u: np.ndarray
    t: np.ndarray
    amp: float
    tempo: float
    phase: float
    dom: int
    bones: Bones
    style: Style
    variant: float

    def osc(self, hz: float, phase: float = 0.0) -> np.ndarray:
        """sin(2 pi f t + phase) at ``hz`` x tempo; (T,)."""
        return np.sin(2.0 * np.pi * hz * self.tempo * self.t + self.phase + phase)

    def midline(self, half_gap: float | np.ndarray) -> float | np.ndarray:
        """Outward wrist coordinate (arm lengths) that puts the wrist ``half_gap`` m from the
        body's midline."""
        return (half_gap - self.bones.shoulder_half) / self.bones.arm


@dataclass(frozen=True)
class Timing:
    """Where the action sits in the sample: idle fractions before / after it, and a warp
    (|warp| < 1) that speeds up one half of the action and slows down the other."""

    lead: float
    tail: float
    warp: float


def make_ctx(
    n_frames: int, timing: Timing, style: Style, bones: Bones, amp: float, tempo: float, dom: int,
    variant: float,
) -> Ctx:  # fmt: skip
    """Context for ``n_frames`` frames with the action placed by ``timing``."""
    x = np.arange(n_frames) / max(n_frames - 1, 1)
    u = np.clip((x - timing.lead) / (1.0 - timing.lead - timing.tail), 0.0, 1.0)
    u = u + timing.warp * np.sin(2.0 * np.pi * u) / (2.0 * np.pi)  # monotonic, keeps 0 and 1
    return Ctx(
        u=u, t=np.arange(n_frames) / FPS, amp=amp, tempo=tempo, phase=style.phase, dom=dom,
        bones=bones, style=style, variant=variant,
    )  # fmt: skip


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def ramp(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """0 before ``a``, 1 after ``b``, smooth in between; (T,)."""
    return smoothstep((u - a) / (b - a))


def window(u: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Rises over [a, b], holds, falls over [c, d]; (T,)."""
    return ramp(u, a, b) * (1.0 - ramp(u, c, d))


def keys(u: np.ndarray, knots: Sequence[float], values: Sequence) -> np.ndarray:
    """Smooth keyframe interpolation: ``values`` (K,) or (K, D) at increasing ``knots`` (K,).

    Returns:
        (T,) or (T, D); constant before the first and after the last knot.
    """
    k = np.asarray(knots, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    i = np.clip(np.searchsorted(k, u, side="right") - 1, 0, len(k) - 2)
    s = smoothstep((u - k[i]) / (k[i + 1] - k[i]))
    if v.ndim == 1:
        return v[i] + (v[i + 1] - v[i]) * s
    return v[i] + (v[i + 1] - v[i]) * s[:, None]


def deg(x: float | np.ndarray) -> float | np.ndarray:
    return np.deg2rad(x)
