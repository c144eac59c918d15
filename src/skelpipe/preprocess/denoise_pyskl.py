"""PYSKL's body denoising (``tools/data/ntu_preproc.py``), reproduced value for value.

PYSKL converts the raw ``.skeleton`` files with rules of its own, close to but not the same as
the SGN / CTR-GCN ones of :mod:`skelpipe.preprocess.denoise`:

* a body's records are kept in the order read and re-timed from its first frame (frames with no
  body are not counted); a body ID twice in one frame just adds a record;
* one body: its records are the sequence (``M = 1``), nothing else applies;
* bodies are ordered by motion (sum of the per-axis variances of all its joints); those with at
  most ``length_threshold`` records are dropped; if one is left it is the sequence;
* the spread rule is applied to *every* remaining body (CTR-GCN stops at one): a frame is valid if
  the x-spread is at most ``spread_ratio`` times the y-spread; a body is dropped if
  ``1 - valid / n >= spread_drop_ratio``, otherwise its motion becomes the smaller of its motion
  and that of its valid frames; the survivors are re-ordered by motion;
* two or more survivors give ``M = 2``: the first takes track 1; each next body goes to track 1
  if its half-open interval ``[start, start + n)`` does not overlap track 1's hull, else to track 2
  on the same test (whose hull starts as ``[0, 0)`` and keeps its start at 0), else it is dropped;
* leading and trailing frames whose absolute sum over both tracks is below 1e-3 are cut; the
  tracks are swapped if track 1's frame 0 has a zero SpineMid and track 2's does not.

Where the converter crashes (every body too short, every body spread out, all-zero data) or
writes ``None`` (no body at all), :class:`DenoiseError` names the sample instead. The rules are
written out with the reference mode's in ``docs/data.md``.
"""

from __future__ import annotations

import numpy as np

from skelpipe.params import DenoiseParams
from skelpipe.preprocess.denoise import (
    Body,
    Denoised,
    DenoiseError,
    body_motion,
    check_actor_count,
    group_bodies,
    spread_valid_frames,
    zero_counts,
)

# ntu_preproc.py: ``eps = 1e-3``, the absolute-sum threshold of an empty frame (float32 sums)
ZERO_EPS = 1e-3
SPINE_MID = 1  # the joint whose emptiness in frame 0 decides the track swap


def _spread(name: str, bodies: list[Body], params: DenoiseParams, out: Denoised) -> list[Body]:
    """``spread_denoising``: every body tested; survivors re-sorted by (updated) motion."""
    kept = []
    for b in bodies:
        valid = spread_valid_frames(b.xyz, params.spread_ratio)
        n_valid = int(valid.sum())
        if n_valid == len(b.xyz):
            kept.append(b)
            continue
        noise = 1 - n_valid / len(b.xyz)  # the converter's float arithmetic, not n_noise / n
        if noise >= params.spread_drop_ratio:
            out.decisions.append((name, str(b.body_id), "spread", noise, "dropped"))
            out.counts["n_bodies_dropped_spread"] += 1
            continue
        b.motion = min(b.motion, body_motion(b.xyz[valid]))
        out.decisions.append((name, str(b.body_id), "spread", noise, "motion_updated"))
        kept.append(b)
    if not kept:
        raise DenoiseError(f"{name}: the spread rule drops every body (PYSKL's converter fails)")
    return sorted(kept, key=lambda b: -b.motion)


def _tracks(name: str, bodies: list[Body], out: Denoised) -> np.ndarray:
    """Place the bodies in two tracks by PYSKL's interval tests: (2, T, 25, C) float32."""
    starts = [int(b.frames[0]) for b in bodies]
    length = max(s + len(b.xyz) for s, b in zip(starts, bodies, strict=True))
    keypoint = np.zeros((2, length, 25, bodies[0].xyz.shape[-1]), np.float32)
    hulls = [(starts[0], starts[0] + len(bodies[0].xyz)), (0, 0)]  # track 2's: [0, 0)
    keypoint[0, hulls[0][0] : hulls[0][1]] = bodies[0].xyz
    out.decisions.append((name, str(bodies[0].body_id), "assign", bodies[0].motion, "actor1"))
    for s, b in zip(starts[1:], bodies[1:], strict=True):
        e = s + len(b.xyz)
        slot = next((k for k, (hs, he) in enumerate(hulls) if max(hs, s) >= min(he, e)), -1)
        if slot < 0:
            out.counts["n_bodies_dropped_overlap"] += 1
        else:
            keypoint[slot, s:e] = b.xyz
            hulls[slot] = (min(s, hulls[slot][0]), max(e, hulls[slot][1]))
        decided = f"actor{slot + 1}" if slot >= 0 else "dropped_overlap"
        out.decisions.append((name, str(b.body_id), "assign", b.motion, decided))
    return keypoint


def _trim(name: str, keypoint: np.ndarray, out: Denoised) -> np.ndarray:
    """``non_zero``: cut leading and trailing frames whose absolute sum is below 1e-3."""
    xyz = keypoint[..., :3]
    empty = [bool(np.sum(np.abs(xyz[:, t])) < ZERO_EPS) for t in range(keypoint.shape[1])]
    if all(empty):
        raise DenoiseError(f"{name}: every frame is empty (PYSKL's converter fails)")
    s = empty.index(False)
    e = len(empty) - empty[::-1].index(False)
    out.counts["n_frames_removed_missing"] += len(empty) - (e - s)
    return keypoint[:, s:e]


def denoise_pyskl(
    name: str,
    action: int,
    body_frame: np.ndarray,
    body_id: np.ndarray,
    xyz: np.ndarray,
    bodies_per_frame: np.ndarray,
    params: DenoiseParams,
) -> Denoised:
    """One sample's raw body records -> PYSKL's keypoints, as ``joints`` (T, 2, 25, C) float32
    (track 2 zeros when ``n_actors`` = M = 1); the rules read x, y, z (the first three of the C
    channels of ``xyz``), further channels are carried.

    Raises:
        DenoiseError: no body, or a case where PYSKL's converter stops (named in the message).
    """
    bodies, _ = group_bodies(body_frame, body_id, xyz, bodies_per_frame)
    if not bodies:
        raise DenoiseError(f"{name}: no body in any frame (PYSKL's converter writes None)")
    out = Denoised(np.zeros(0), 1, counts={**zero_counts(), "n_tracks_swapped": 0})
    for b in bodies:
        b.motion = body_motion(b.xyz)
    bodies = sorted(bodies, key=lambda b: -b.motion)
    if len(bodies) == 1:
        out.counts["n_single_body"] = 1
        out.decisions.append(
            (name, str(bodies[0].body_id), "single_body", len(bodies[0].xyz), "actor1")
        )
        keypoint = bodies[0].xyz[None]
    else:
        out.counts["n_multi_body"] = 1
        kept = []
        for b in bodies:
            if len(b.xyz) > params.length_threshold:
                kept.append(b)
            else:
                out.decisions.append((name, str(b.body_id), "length", len(b.xyz), "dropped"))
                out.counts["n_bodies_dropped_length"] += 1
        if not kept:
            raise DenoiseError(
                f"{name}: every body is shorter than the length threshold (PYSKL's converter fails)"
            )
        if len(kept) > 1:
            kept = _spread(name, kept, params, out)
        if len(kept) == 1:
            out.decisions.append((name, str(kept[0].body_id), "assign", kept[0].motion, "actor1"))
            keypoint = kept[0].xyz[None]
        else:
            keypoint = _trim(name, _tracks(name, kept, out), out)
            if (
                np.sum(np.abs(keypoint[0, 0, SPINE_MID, :3])) < ZERO_EPS
                and np.sum(np.abs(keypoint[1, 0, SPINE_MID, :3])) > ZERO_EPS
            ):
                keypoint = keypoint[::-1]
                out.counts["n_tracks_swapped"] = 1
    out.n_actors = keypoint.shape[0]
    check_actor_count(action, out, False, name)  # counted on the real two-person classes
    joints = np.zeros((keypoint.shape[1], 2, 25, keypoint.shape[-1]), np.float32)
    joints[:, : out.n_actors] = keypoint.transpose(1, 0, 2, 3)
    out.joints = joints
    return out
