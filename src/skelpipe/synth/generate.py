"""The synthetic dataset: which samples exist, how each file is made, writing them in parallel.

Determinism: the subject (bones, style) derives from ``(seed, "Pppp")``, the setup's cameras from
``(seed, "Ssss")``, the performance from ``(seed, "SsssPpppRrrrAaaa")`` and everything one camera
adds (jitter, tracking states, body IDs, planted noise) from ``(seed, sample name)``. So a sample's
bytes do not depend on which other samples are generated, in which order or in which process.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from pathlib import Path

from skelpipe.io.ntu_format import RawSkeleton, format_skeleton
from skelpipe.parallel import ordered_map
from skelpipe.params import SynthParams
from skelpipe.progress import track
from skelpipe.sample_id import SampleId
from skelpipe.synth.actions import ACTIONS
from skelpipe.synth.camera import Camera, setup_cameras
from skelpipe.synth.sample import render_sample
from skelpipe.synth.scene import Performance, Scene, derive_rng, perform

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = (
    "name", "setup", "camera", "subject", "replication", "action", "partner", "n_persons",
    "n_frames", "n_records", "actor_ids", "noise", "short_ids", "sideways_ids", "switch_id",
    "switch_frame", "zero_frames",
)  # fmt: skip


def check_params(p: SynthParams) -> None:
    """Raise ValueError naming the ``synth.*`` key that cannot work."""
    pairs = {"camera_height_m": p.camera_height_m, "camera_distance_m": p.camera_distance_m,
             "frames": p.frames}  # fmt: skip
    for key, v in pairs.items():
        if len(v) != 2 or not 0 < v[0] <= v[1]:
            raise ValueError(f"synth.{key} must be [low, high] with 0 < low <= high, got {v}")
    unknown = sorted(set(p.actions) - set(ACTIONS))
    if unknown or not p.actions:
        raise ValueError(f"synth.actions: unknown or empty {unknown}; known: {sorted(ACTIONS)}")
    if p.frames[0] < 2 * 12 + 2:
        raise ValueError("synth.frames: the minimum must be >= 26 (room for the noise rules)")
    if p.seed < 0 or p.subjects < 1 or p.setups < 1 or not p.camera_yaw_deg:
        raise ValueError("synth: seed >= 0, subjects >= 1, setups >= 1, cameras >= 1 needed")
    if not 1 <= p.setups_per_subject <= p.setups or not p.facing_yaw_deg:
        raise ValueError("synth.setups_per_subject must be in [1, setups]; facing_yaw_deg >= 1")


def setup_subjects(p: SynthParams, setup: int) -> list[int]:
    """Subjects recorded in ``setup``: subject k visits setups k, k+1, ... (round robin)."""
    return [
        s for s in range(1, p.subjects + 1)
        if (setup - s) % p.setups < p.setups_per_subject
    ]  # fmt: skip


def partner_of(p: SynthParams, setup: int, subject: int, replication: int, action: int) -> int:
    """Actor B of a two-person action: another subject of the setup (else of the dataset)."""
    if ACTIONS[action].persons == 1:
        return 0
    others = [s for s in setup_subjects(p, setup) if s != subject]
    others = others or [s for s in range(1, p.subjects + 1) if s != subject] or [subject + 1]
    key = f"S{setup:03d}P{subject:03d}R{replication:03d}A{action:03d}/partner"
    return int(derive_rng(p.seed, key).choice(others))


def plan(p: SynthParams) -> list[Performance]:
    """Every performance of the dataset, ordered by setup, subject, replication, action."""
    out = []
    for setup in range(1, p.setups + 1):
        for subject in setup_subjects(p, setup):
            for rep in range(1, len(p.facing_yaw_deg) + 1):
                for action in sorted(set(p.actions)):
                    partner = partner_of(p, setup, subject, rep, action)
                    out.append(Performance(setup, subject, rep, action, partner))
    return out


def sample_names(p: SynthParams) -> list[str]:
    """All sample names of the dataset, sorted."""
    cams = range(1, len(p.camera_yaw_deg) + 1)
    return sorted(perf.sample_name(c) for perf in plan(p) for c in cams)


@functools.lru_cache(maxsize=256)
def _cameras(p: SynthParams, setup: int) -> list[Camera]:
    rng = derive_rng(p.seed, f"S{setup:03d}")
    return setup_cameras(rng, p.camera_yaw_deg, p.camera_height_m, p.camera_distance_m)


def _scene(p: SynthParams, perf: Performance) -> Scene:
    facing = p.facing_yaw_deg[perf.replication - 1]
    return perform(p.seed, perf, facing, (p.frames[0], p.frames[1]))


def generate_performance(p: SynthParams, perf: Performance) -> list[tuple[RawSkeleton, dict]]:
    """The raw file of every camera of ``perf`` and its manifest row."""
    scene = _scene(p, perf)
    cams = _cameras(p, perf.setup)
    return [render_sample(p, perf, c + 1, cam, scene) for c, cam in enumerate(cams)]


def generate_sample(p: SynthParams, name: str) -> tuple[RawSkeleton, dict]:
    """One sample by name, identical to the same sample generated with the whole dataset."""
    sid = SampleId.from_ntu_name(name)
    if sid.action not in ACTIONS or not 1 <= sid.camera <= len(p.camera_yaw_deg):
        raise ValueError(f"{name}: action or camera not generated by these params")
    partner = partner_of(p, sid.setup, sid.subject, sid.replication, sid.action)
    perf = Performance(sid.setup, sid.subject, sid.replication, sid.action, partner)
    cam = _cameras(p, sid.setup)[sid.camera - 1]
    return render_sample(p, perf, sid.camera, cam, _scene(p, perf))


def newline_of(p: SynthParams) -> str:
    return "\r\n" if p.newline == "crlf" else "\n"


def _write_performance(perf: Performance, p: SynthParams, out: Path) -> list[dict]:
    rows = []
    for raw, row in generate_performance(p, perf):
        data = format_skeleton(raw, newline_of(p))
        (out / f"{raw.name}.skeleton").write_bytes(data)
        rows.append({**row, "n_bytes": len(data)})
    return rows


def write_dataset(
    p: SynthParams, out: Path, performances: Iterable[Performance] | None = None
) -> list[dict]:
    """Write ``<out>/<name>.skeleton`` for every sample (or those of ``performances``) and
    ``<out>/manifest.csv``, using ``p.workers`` processes.

    Returns:
        The manifest rows (plus ``n_bytes``), sorted by sample name.
    """
    check_params(p)
    perfs = plan(p) if performances is None else list(performances)
    work = functools.partial(_write_performance, p=p, out=Path(out))
    batches = ordered_map(work, perfs, p.workers, chunksize=4)
    rows = [r for batch in track(batches, len(perfs), "synth", "performance") for r in batch]
    rows.sort(key=lambda r: r["name"])
    with open(Path(out) / MANIFEST, "w", newline="", encoding="ascii") as fh:
        writer = csv.DictWriter(fh, MANIFEST_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def summarize(rows: list[dict]) -> dict[str, int]:
    """Flat counts for the stage metrics."""
    noise = [set(filter(None, r["noise"].split(";"))) for r in rows]
    return {
        "n_samples": len(rows),
        "n_frames": sum(r["n_frames"] for r in rows),
        "n_body_records": sum(r["n_records"] for r in rows),
        "n_bytes": sum(r.get("n_bytes", 0) for r in rows),
        "n_two_person_samples": sum(r["n_persons"] == 2 for r in rows),
        "n_actions": len({r["action"] for r in rows}),
        "n_subjects": len({r["subject"] for r in rows}),
        "n_setups": len({r["setup"] for r in rows}),
        "n_cameras": len({r["camera"] for r in rows}),
        "n_noisy_samples": sum(bool(k) for k in noise),
        "n_spurious_short": sum("spurious_short" in k for k in noise),
        "n_sideways": sum("sideways" in k for k in noise),
        "n_zero_body_samples": sum("zero_frames" in k for k in noise),
        "n_zero_body_frames": sum(r["zero_frames"] for r in rows),
        "n_id_switch": sum("id_switch" in k for k in noise),
    }
