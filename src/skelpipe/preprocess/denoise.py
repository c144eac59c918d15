"""Body denoising and actor selection (SGN / CTR-GCN / InfoGCN ``get_raw_denoised_data.py``).

Two modes (``params.denoise.mode``; the third, ``pyskl``, is PYSKL's converter, in
:mod:`skelpipe.preprocess.denoise_pyskl`):

``reference``
    Reproduces the reference scripts number for number, quirks included: a returning body is
    re-timed as if it never left (its interval is ``[first, first + n - 1]``), actor 2's interval
    starts as ``[0, 0]`` so later bodies starting before its end are dropped, intervals touching in
    one frame count as disjoint (the later body overwrites that frame), a body overlapping both
    actors is dropped, and missing frames are found with ``row.sum() == 0``. Arithmetic follows the
    reference dtypes (float32 data, float64 thresholds), so orderings and threshold decisions match.

``fixed``
    The same rules with the quirks corrected (each named in the README):
    ``retime`` a returning body keeps its true frames (gaps stay empty);
    ``actor2_interval`` actor slots are tested on the frames they really occupy, so no spurious
    overlap and no overwritten frame; ``no_silent_drop`` a body overlapping both actors is recorded
    in the decision table and counted; ``all_zero_test`` missing frames are all-zero rows;
    ``two_person_classes`` the "denoising failed" checks use the real two-person classes
    (A050-A060, A106-A120) rather than ``int(name[-2:]) >= 50``; ``actor_count`` a sample counts
    as two-actor only if the second slot holds a body (a body-ID switch stays one actor).

Every decision is reported as a row ``(sample, body, rule, value, decision)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skelpipe.params import DenoiseParams

# The reference scripts' thresholds (get_raw_denoised_data.py: noise_len_thres = 11,
# noise_spr_thres1 = 0.8, noise_spr_thres2 = 0.69754), as the exports and `skelpipe show` apply
# them; params.yaml's denoise section spells the same values (a test holds them equal).
REFERENCE_DENOISE = DenoiseParams(
    mode="reference",
    length_threshold=11,
    spread_ratio=0.8,
    spread_drop_ratio=0.69754,
    on_error="skip",
    coords="xyz",
    workers=1,
)
TWO_PERSON_ACTIONS = frozenset(range(50, 61)) | frozenset(range(106, 121))


class DenoiseError(ValueError):
    """A sample the rules cannot turn into a sequence (e.g. every body filtered out)."""


@dataclass
class Body:
    """One tracked body ID: its records in frame order. n = records."""

    body_id: int
    frames: np.ndarray  # (n,) int64 valid-frame index of each record (true timing)
    xyz: np.ndarray  # (n, 25, C) float32, x y z first (the rules read those; the rest is carried)
    motion: float = 0.0

    def interval(self, reference: bool) -> tuple[int, int]:
        first = int(self.frames[0])
        if reference:  # the reference appends interval[-1] + 1 for each new record
            return first, first + len(self.frames) - 1
        return first, int(self.frames[-1])


@dataclass
class Denoised:
    """Output of :func:`denoise_sample`.

    Attributes:
        joints: (T, 2, 25, C) float32 (the channels given, x y z first); actor 2 is zeros when
            ``n_actors == 1``.
        n_actors: 1 or 2 (the reference's 75 or 150 columns).
        decisions: rows (sample, body, rule, value, decision).
        counts: per-rule counters for metrics.
    """

    joints: np.ndarray
    n_actors: int
    decisions: list[tuple[str, str, str, float, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def group_bodies(
    body_frame: np.ndarray, body_id: np.ndarray, xyz: np.ndarray, bodies_per_frame: np.ndarray
) -> tuple[list[Body], int]:
    """Group records by body ID in order of first appearance; drop frames with no body.

    Args:
        body_frame: (R,) frame of each record; body_id: (R,) uint64; xyz: (R, 25, C) float32;
        bodies_per_frame: (F,) declared body counts.

    Returns:
        bodies, and the number of frames with at least one body (the reference's num_frames).
    """
    has_body = bodies_per_frame > 0
    valid_index = np.cumsum(has_body) - 1  # frames with 0 bodies are dropped and re-indexed
    vframe = valid_index[body_frame]
    uniq, first, inverse = np.unique(body_id, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    bodies = []
    for k in order:
        rows = np.flatnonzero(inverse == k)
        bodies.append(Body(int(uniq[k]), vframe[rows], xyz[rows]))
    return bodies, int(has_body.sum())


def body_motion(xyz: np.ndarray) -> float:
    """Sum over x, y, z of the variance over all frames x joints (float32, as the reference)."""
    return float(np.sum(np.var(xyz[..., :3].reshape(-1, 3), axis=0)))


def spread_valid_frames(xyz: np.ndarray, ratio: float) -> np.ndarray:
    """Frames where the body is taller than wide: x-spread <= ratio * y-spread.

    Spreads are float32 (as the reference computes them); the comparison is float64, as
    ``np.float32 * python float`` was under NumPy 1.x.
    """
    x, y = xyz[:, :, 0], xyz[:, :, 1]  # (n, 25)
    xs = (x.max(axis=1) - x.min(axis=1)).astype(np.float64)
    ys = (y.max(axis=1) - y.min(axis=1)).astype(np.float64)
    return xs <= ratio * ys


def denoise_sample(
    name: str,
    action: int,
    body_frame: np.ndarray,
    body_id: np.ndarray,
    xyz: np.ndarray,
    bodies_per_frame: np.ndarray,
    params: DenoiseParams,
) -> Denoised:
    """Select up to two actors from the raw body records of one sample.

    ``xyz`` (R, 25, C): x, y, z first; the rules read only those, and any further channels (a
    joint's image coordinates) travel with them into ``joints``.

    Raises:
        DenoiseError: the rules leave no body, or a body ID occurs twice in one frame (reference).
    """
    ref = params.mode == "reference"
    bodies, n_frames = group_bodies(body_frame, body_id, xyz, bodies_per_frame)
    for b in bodies:
        if np.any(np.diff(b.frames) <= 0):
            if ref:
                raise DenoiseError(f"{name}: body {b.body_id} occurs twice in one frame")
            keep = np.concatenate([[True], np.diff(b.frames) > 0])
            b.frames, b.xyz = b.frames[keep], b.xyz[keep]
    out = Denoised(np.zeros(0), 1, counts=zero_counts())
    if len(bodies) == 1:
        out.decisions.append(
            (name, str(bodies[0].body_id), "single_body", len(bodies[0].frames), "actor1")
        )
        out.joints = _place_one(bodies[0], n_frames, ref)
        out.counts["n_single_body"] = 1
        return out
    out.counts["n_multi_body"] = 1
    for b in bodies:
        b.motion = body_motion(b.xyz)
    survivors = _filter_bodies(name, bodies, params, out)
    if len(survivors) == 1:
        out.joints = _place_one(survivors[0], n_frames, ref)
        out.decisions.append(
            (name, str(survivors[0].body_id), "assign", survivors[0].motion, "actor1")
        )
    else:
        out.joints = _place_two(name, survivors, n_frames, ref, out)
        # reference: two survivors always give the 150-column layout, even when every other
        # body went into actor 1's slot; fixed: two actors only if the second slot is used
        out.n_actors = 2 if ref or np.any(out.joints[:, 1, :, :3] != 0) else 1
    check_actor_count(action, out, ref, name)
    out.joints = _remove_missing_frames(out.joints, out.n_actors, ref, out)
    if out.joints.shape[0] == 0:
        raise DenoiseError(f"{name}: no frame left after removing empty frames")
    return out


def zero_counts() -> dict[str, int]:
    """The per-rule counters every mode reports (metrics keys, in this order), all zero."""
    keys = (
        "n_single_body",
        "n_multi_body",
        "n_bodies_dropped_length",
        "n_bodies_dropped_spread",
        "n_bodies_dropped_overlap",
        "n_frames_removed_missing",
        "n_two_person_action_one_actor",
        "n_one_person_action_two_actors",
    )
    return dict.fromkeys(keys, 0)


def _filter_bodies(
    name: str, bodies: list[Body], params: DenoiseParams, out: Denoised
) -> list[Body]:
    """Length rule, then spread rule (stopping at one body); returns survivors by motion."""
    kept = []
    for b in bodies:
        n = len(b.frames)
        if n <= params.length_threshold:
            out.decisions.append((name, str(b.body_id), "length", n, "dropped"))
            out.counts["n_bodies_dropped_length"] += 1
        else:
            kept.append(b)
    if not kept:
        raise DenoiseError(f"{name}: every body is shorter than the length threshold")
    if len(kept) > 1:
        for b in list(kept):
            if len(kept) == 1:
                break
            valid = spread_valid_frames(b.xyz, params.spread_ratio)
            n_noise = int((~valid).sum())
            if n_noise == 0:
                continue
            ratio = n_noise / float(len(b.frames))
            if ratio >= params.spread_drop_ratio:
                kept.remove(b)
                out.decisions.append((name, str(b.body_id), "spread", ratio, "dropped"))
                out.counts["n_bodies_dropped_spread"] += 1
            else:
                b.motion = min(b.motion, body_motion(b.xyz[valid]))
                out.decisions.append((name, str(b.body_id), "spread", ratio, "motion_updated"))
    return sorted(kept, key=lambda b: b.motion, reverse=True)  # stable, as the reference


def _place_one(body: Body, n_frames: int, ref: bool) -> np.ndarray:
    joints = np.zeros((n_frames, 2, 25, body.xyz.shape[-1]), dtype=np.float32)
    if ref:
        start, end = body.interval(True)
        joints[start : end + 1, 0] = body.xyz
    else:
        joints[body.frames, 0] = body.xyz
    return joints


def _place_two(
    name: str, bodies: list[Body], n_frames: int, ref: bool, out: Denoised
) -> np.ndarray:
    joints = np.zeros((n_frames, 2, 25, bodies[0].xyz.shape[-1]), dtype=np.float32)
    actor1 = bodies[0]
    s1, e1 = actor1.interval(ref)
    _put(joints, 0, actor1, ref)
    out.decisions.append((name, str(actor1.body_id), "assign", actor1.motion, "actor1"))
    s2, e2 = 0, 0  # reference: the virtual initial interval of actor 2
    occupied = [np.zeros(n_frames, bool), np.zeros(n_frames, bool)]
    occupied[0][actor1.frames] = True
    for b in bodies[1:]:
        s, e = b.interval(ref)
        if ref:
            slot = 0 if min(e1, e) - max(s1, s) <= 0 else 1 if min(e2, e) - max(s2, s) <= 0 else -1
        else:
            slot = next((k for k in (0, 1) if not occupied[k][b.frames].any()), -1)
        if slot < 0:
            out.decisions.append((name, str(b.body_id), "assign", b.motion, "dropped_overlap"))
            out.counts["n_bodies_dropped_overlap"] += 1
            continue
        _put(joints, slot, b, ref)
        occupied[slot][b.frames] = True
        out.decisions.append((name, str(b.body_id), "assign", b.motion, f"actor{slot + 1}"))
        if slot == 0:
            s1, e1 = min(s, s1), max(e, e1)
        else:
            s2, e2 = min(s, s2), max(e, e2)
    return joints


def _put(joints: np.ndarray, slot: int, body: Body, ref: bool) -> None:
    if ref:
        start, end = body.interval(True)
        joints[start : end + 1, slot] = body.xyz
    else:
        joints[body.frames, slot] = body.xyz


def check_actor_count(action: int, out: Denoised, ref: bool, name: str) -> None:
    """The reference's "denoising failed" logs; ``int(name[-2:])`` there, the real classes here."""
    two_person = (int(name[-2:]) >= 50) if ref else (action in TWO_PERSON_ACTIONS)
    if two_person and out.n_actors == 1:
        out.counts["n_two_person_action_one_actor"] += 1
    elif not two_person and out.n_actors == 2:
        out.counts["n_one_person_action_two_actors"] += 1


def _remove_missing_frames(
    joints: np.ndarray, n_actors: int, ref: bool, out: Denoised
) -> np.ndarray:
    """Drop frames with no data: reference ``row.sum() == 0`` (float32, over 75 or 150 values)."""
    flat = joints[..., :3].reshape(joints.shape[0], -1)  # (T, 150): x, y, z only
    if ref:
        width = 75 * n_actors
        keep = flat[:, :width].sum(axis=1) != 0
    else:
        keep = np.any(flat != 0, axis=1)
    out.counts["n_frames_removed_missing"] += int((~keep).sum())
    return joints[keep] if not keep.all() else joints
