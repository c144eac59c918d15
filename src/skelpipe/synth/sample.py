"""One camera's file of one performance: render the bodies, plant the noise, build the records."""

from __future__ import annotations

from typing import Any

import numpy as np

from skelpipe.io.ntu_format import RawSkeleton
from skelpipe.params import SynthParams
from skelpipe.synth.camera import Camera
from skelpipe.synth.noise import (
    BASE_ID,
    Track,
    short_track,
    sideways_track,
    switch_frame,
    upright,
    zero_frame_mask,
)
from skelpipe.synth.render import render_body
from skelpipe.synth.scene import Performance, Scene, derive_rng, rest_pose


def render_sample(
    p: SynthParams, perf: Performance, camera: int, cam: Camera, scene: Scene
) -> tuple[RawSkeleton, dict[str, Any]]:
    """The raw records of ``perf`` seen by camera number ``camera`` and its manifest row."""
    name = perf.sample_name(camera)
    rng = derive_rng(p.seed, name)
    draws = rng.random(4)  # zero frames, short body, sideways body, ID switch
    ids = BASE_ID + int(rng.integers(3000, 20000)) + np.cumsum(rng.integers(1, 60, 6))
    slots = rng.permutation(4)  # Kinect body index of performer, partner, short, sideways
    n = scene.n_frames
    present = ~zero_frame_mask(rng, n) if draws[0] < p.p_zero_frames else np.ones(n, bool)
    tracks = []
    for k, (kin, front) in enumerate(zip(scene.bodies, scene.fronts, strict=True)):
        jitter = p.jitter_mm / 1000.0
        joints, info = render_body(rng, cam, kin.pos, scene.frames[k], front, jitter,
                                   p.inferred_rate)  # fmt: skip
        tracks.append(Track(int(ids[k]), int(slots[k]), np.arange(n), joints, info).take(present))
    row: dict[str, Any] = {
        "name": name, "setup": perf.setup, "camera": camera, "subject": perf.subject,
        "replication": perf.replication, "action": perf.action, "partner": perf.partner,
        "n_persons": len(tracks), "n_frames": n,
        "actor_ids": ";".join(str(t.body_id) for t in tracks),
        "noise": [], "short_ids": "", "sideways_ids": "", "switch_id": "", "switch_frame": "",
        "zero_frames": int(n - present.sum()),
    }  # fmt: skip
    if row["zero_frames"]:
        row["noise"].append("zero_frames")
    tracks = _plant(p, perf, rng, draws, tracks, ids, slots, row)
    row["noise"] = ";".join(row["noise"])
    raw = assemble(name, n, tracks)
    row["n_records"] = int(raw.body_id.shape[0])
    return raw, row


def _plant(
    p: SynthParams, perf: Performance, rng: np.random.Generator, draws: np.ndarray,
    tracks: list[Track], ids: np.ndarray, slots: np.ndarray, row: dict[str, Any],
) -> list[Track]:  # fmt: skip
    """Add the ID switch, short and sideways bodies the draws ask for; record them in ``row``."""
    host = tracks[0]
    if draws[3] < p.p_id_switch and len(tracks) == 1:
        frame = switch_frame(rng, host)
        before = host.take(host.frames < frame) if frame is not None else host
        after = host.take(host.frames >= frame) if frame is not None else host
        if frame is not None and upright([before, after]):
            after.body_id = int(ids[3])
            tracks = [before, after]
            row.update(switch_id=str(after.body_id), switch_frame=frame)
            row["noise"].append("id_switch")
    if draws[1] < p.p_spurious_short:
        tracks.append(short_track(rng, host, int(ids[4]), int(slots[2])))
        row["short_ids"] = str(ids[4])
        row["noise"].append("spurious_short")
    if draws[2] < p.p_sideways and upright(tracks):
        rest = rest_pose(p.seed, perf.subject)
        tracks.append(sideways_track(rng, host, rest, int(ids[5]), int(slots[3])))
        row["sideways_ids"] = str(ids[5])
        row["noise"].append("sideways")
    return tracks


def assemble(name: str, n_frames: int, tracks: list[Track]) -> RawSkeleton:
    """Records of all tracks in file order (frame, then Kinect body index)."""
    frame = np.concatenate([t.frames for t in tracks])
    slot = np.concatenate([np.full(len(t.frames), t.slot) for t in tracks])
    order = np.lexsort((slot, frame))
    body_id = np.concatenate([np.full(len(t.frames), t.body_id, np.uint64) for t in tracks])
    return RawSkeleton(
        name=name,
        bodies_per_frame=np.bincount(frame, minlength=n_frames).astype(np.int64),
        body_frame=frame[order].astype(np.int64),
        body_id=body_id[order],
        body_info=np.concatenate([t.info for t in tracks])[order].astype(np.float32),
        joints=np.concatenate([t.joints for t in tracks])[order].astype(np.float32),
    )
