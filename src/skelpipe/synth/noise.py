"""The noise real Kinect recordings have, planted on purpose so the denoising rules have work.

Each kind exercises one rule of the reference preprocessing (SGN / CTR-GCN
``get_raw_denoised_data.py``; see the README's denoising section):

* ``spurious_short`` -- a second body ID seen for at most 11 frames (a ghost copy of the
  performer): the length rule (``noise_len_thres = 11``) must drop it.
* ``sideways`` -- a spurious body lying sideways (x-spread > 0.8 x y-spread in every frame), seen
  for 20-60 frames so it survives the length rule: the spread rule must drop it.
* ``zero_frames`` -- frames whose body count is 0: the parser drops them.
* ``id_switch`` -- the performer of a one-person sample gets a new body ID from some frame on;
  both pieces are longer than 11 frames and upright, so both must be kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skelpipe.exact import matmul
from skelpipe.synth.camera import bone_frames, orientations, project
from skelpipe.synth.render import tracking_states

LENGTH_RULE = 11  # noise_len_thres: a body with <= 11 frames is noise
SPREAD_RATIO = 0.8  # noise_spr_thres1: a frame is valid if x-spread <= 0.8 * y-spread
SAFE_INVALID = 0.5  # keep genuine bodies well below noise_spr_thres2 = 0.69754
BASE_ID = 72057594037927936  # 2**56: NTU body IDs are 2**56 plus a few thousand


@dataclass
class Track:
    """One body ID in one sample; n = frames it is seen in.

    Attributes:
        body_id: 64-bit Kinect tracking ID.
        slot: order of the body inside a frame (Kinect's body index).
        frames: (n,) int64 frame indices, increasing.
        joints: (n, 25, 12) joint lines.
        info: (n, 9) body-info values after the ID.
    """

    body_id: int
    slot: int
    frames: np.ndarray
    joints: np.ndarray
    info: np.ndarray

    def take(self, keep: np.ndarray) -> Track:
        """The records where the boolean ``keep`` (n,) is true."""
        return Track(self.body_id, self.slot, self.frames[keep], self.joints[keep], self.info[keep])


def invalid_spread_ratio(xyz: np.ndarray) -> float:
    """Share of frames where the body is wider than tall: x-spread > 0.8 * y-spread; xyz (n, 25,
    3)."""
    xs = np.ptp(xyz[:, :, 0], axis=1)
    ys = np.ptp(xyz[:, :, 1], axis=1)
    return float(np.mean(xs > SPREAD_RATIO * ys))


def zero_frame_mask(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """(T,) bool: 1-6 frames with no body, at the start, the end or in a run inside."""
    k = int(rng.integers(1, 7))
    mask = np.zeros(n_frames, dtype=bool)
    where = int(rng.integers(0, 3))
    if where == 0:
        mask[:k] = True
    elif where == 1:
        mask[n_frames - k :] = True
    else:
        start = int(rng.integers(n_frames // 4, 3 * n_frames // 4 - k))
        mask[start : start + k] = True
    return mask


def _run(rng: np.random.Generator, present: np.ndarray, length: int) -> np.ndarray:
    """``length`` consecutive entries of ``present`` (frames with bodies), at a random start."""
    start = int(rng.integers(0, len(present) - length + 1))
    return present[start : start + length]


def _lines(rng: np.random.Generator, xyz: np.ndarray, quat: np.ndarray, rate: float) -> np.ndarray:
    """(n, 25, 12) joint lines from positions (n, 25, 3) and orientations (n, 25, 4)."""
    state = tracking_states(rng, xyz.shape[0], rate)
    return np.concatenate([xyz, project(xyz), quat, state[..., None]], axis=-1)


def short_track(rng: np.random.Generator, host: Track, body_id: int, slot: int) -> Track:
    """A ghost copy of ``host`` beside it, seen for 2-11 of the host's frames."""
    length = int(rng.integers(2, LENGTH_RULE + 1))
    frames = _run(rng, host.frames, min(length, len(host.frames)))
    rows = np.searchsorted(host.frames, frames)
    side = -np.sign(host.joints[rows[0], 1, 0]) or 1.0  # towards the image centre
    shift = np.array([side * rng.uniform(0.5, 0.9), 0.0, rng.uniform(-0.2, 0.4)])
    xyz = host.joints[rows, :, :3] + shift + rng.normal(0.0, 0.015, (len(rows), 25, 3))
    joints = _lines(rng, xyz, host.joints[rows, :, 7:11], 0.4)
    return Track(body_id, slot, frames, joints, host.info[rows].copy())


def sideways_track(
    rng: np.random.Generator, host: Track, rest: np.ndarray, body_id: int, slot: int
) -> Track:
    """A body lying sideways next to ``host`` (an object Kinect mistook for a person).

    Args:
        rest: (25, 3) a standing pose in body axes (x right, y up, z back), metres.
    """
    length = int(rng.integers(20, 61))
    frames = _run(rng, host.frames, min(length, len(host.frames)))
    angle = np.deg2rad(rng.choice([-90.0, 90.0]) + rng.normal(0.0, 8.0))
    c, s = np.cos(angle), np.sin(angle)
    lying = matmul(rest - rest[1], np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]))
    rows = np.searchsorted(host.frames, frames)
    base = host.joints[rows[0], :, :3]
    z = base[:, 2].mean() + rng.uniform(-0.2, 0.5)
    x = base[:, 0].mean() + rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 1.2)
    # keep it in the depth camera's field of view (about +-35 degrees)
    centre = np.array([np.clip(x, -0.4 * z, 0.4 * z), base[:, 1].min() + rng.uniform(0.15, 0.7), z])
    n = len(frames)
    drift = 0.01 * np.sin(np.linspace(0.0, 3.0, n))[:, None, None]
    xyz = centre + lying[None] + drift + rng.normal(0.0, 0.01, (n, 25, 3))
    left = np.tile([-c, -s, 0.0], (n, 1))
    quat = orientations(bone_frames(xyz, left, np.tile([0.0, 0.0, -1.0], (n, 1))))
    info = host.info[rows].copy()
    info[:, 6:8] = 0.0  # no lean for a non-person
    return Track(body_id, slot, frames, _lines(rng, xyz, quat, 0.5), info)


def switch_frame(rng: np.random.Generator, host: Track) -> int | None:
    """A frame from which ``host`` gets a new ID, leaving > 11 frames on each side; or None."""
    n = len(host.frames)
    if n < 2 * (LENGTH_RULE + 1) + 2:
        return None
    k = int(rng.integers(LENGTH_RULE + 1, n - LENGTH_RULE))
    return int(host.frames[k])


def upright(tracks: list[Track]) -> bool:
    """True if every track is far from the spread rule's drop threshold."""
    return all(invalid_spread_ratio(t.joints[:, :, :3]) < SAFE_INVALID for t in tracks)
