"""The synthetic raw NTU dataset: plan coverage, exact format, determinism, planted noise,
kinematic consistency and multi-view geometry."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from skelpipe.io.ntu_format import format_skeleton, parse_skeleton
from skelpipe.params import DenoiseParams, SynthParams, from_mapping
from skelpipe.preprocess.denoise import denoise_sample
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import NTU25
from skelpipe.store.splits import NTU60_XSUB_TRAIN
from skelpipe.synth import ACTIONS, MANIFEST, check_params, generate_sample, plan, write_dataset
from skelpipe.synth.generate import sample_names, setup_subjects
from stages.synth import app
from tests.helpers import ROOT

CS_TRAIN = set(NTU60_XSUB_TRAIN)

TINY = SynthParams(
    seed=7, subjects=3, setups=2, setups_per_subject=1, actions=(10, 23, 43, 58),
    camera_yaw_deg=(0.0, 45.0, -45.0), facing_yaw_deg=(45.0, -45.0), camera_height_m=(0.8, 1.5),
    camera_distance_m=(2.8, 3.4), frames=(30, 60), jitter_mm=6.0, inferred_rate=0.08,
    p_spurious_short=0.3, p_sideways=0.3, p_zero_frames=0.3, p_id_switch=0.4, newline="crlf",
    workers=1,
)  # fmt: skip
CLEAN = dataclasses.replace(
    TINY, jitter_mm=0.0, p_spurious_short=0.0, p_sideways=0.0, p_zero_frames=0.0, p_id_switch=0.0
)


def default_params() -> SynthParams:
    """The ``synth`` section of params.yaml (or of the snippet proposed for it)."""
    for name in ("params.yaml", "params_synth_snippet.yaml"):
        path = ROOT / name
        section = (yaml.safe_load(path.read_text()) or {}).get("synth") if path.exists() else None
        if section:
            return from_mapping(SynthParams, section, "synth")
    pytest.skip("no synth section in params.yaml")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("synth")
    write_dataset(TINY, out)
    with open(out / MANIFEST, newline="") as fh:
        return out, list(csv.DictReader(fh))


def _load(out: Path, name: str):
    return parse_skeleton((out / f"{name}.skeleton").read_bytes(), name)


def _bodies(raw) -> dict[str, np.ndarray]:
    """Body ID (as text) -> boolean record mask."""
    return {str(b): raw.body_id == b for b in np.unique(raw.body_id)}


def test_default_plan_covers_the_benchmarks() -> None:
    p = default_params()
    check_params(p)
    names = sample_names(p)
    ids = [SampleId.from_ntu_name(n) for n in names]
    assert [i.name for i in ids] == names
    actions = {i.action for i in ids}
    assert len([a for a in actions if ACTIONS[a].persons == 1]) >= 12
    assert len([a for a in actions if ACTIONS[a].persons == 2 and a >= 50]) >= 3
    subjects = {i.subject for i in ids}
    assert len(subjects) >= 10
    assert subjects & CS_TRAIN and subjects - CS_TRAIN  # NTU60 cross-subject train and test
    assert {i.camera for i in ids} == {1, 2, 3}  # cross-view: train C002, C003, test C001
    setups = {i.setup for i in ids}
    assert {s % 2 for s in setups} == {0, 1}  # NTU120 cross-setup: even train, odd test
    assert {i.replication for i in ids} == {1, 2}
    for s in setups:  # each setup records a subset of the subjects, as in NTU
        assert 0 < len(setup_subjects(p, s)) < len(subjects)
    assert 700 <= len(names) <= 1200


def test_actions_are_real_two_person_codes() -> None:
    for code, action in ACTIONS.items():
        assert 1 <= code <= 60 and action.name
        assert (action.persons == 2) == (code >= 50)


def test_same_seed_same_bytes_any_workers_and_subset(tiny, tmp_path) -> None:
    out, rows = tiny
    again = tmp_path / "again"
    again.mkdir()
    write_dataset(dataclasses.replace(TINY, workers=2), again)
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(p.name for p in again.iterdir())
    for name in files:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    name = rows[len(rows) // 2]["name"]
    raw, _ = generate_sample(TINY, name)  # alone, not as part of the dataset
    assert format_skeleton(raw, "\r\n") == (out / f"{name}.skeleton").read_bytes()
    other, _ = generate_sample(dataclasses.replace(TINY, seed=8), name)
    assert format_skeleton(other, "\r\n") != (out / f"{name}.skeleton").read_bytes()


def test_every_file_parses_and_round_trips(tiny) -> None:
    out, rows = tiny
    assert sorted(r["name"] for r in rows) == sample_names(TINY)
    for r in rows:
        data = (out / f"{r['name']}.skeleton").read_bytes()
        assert data.count(b"\r\n") == data.count(b"\n")  # CRLF, as the official zip
        raw = parse_skeleton(data, r["name"])
        assert format_skeleton(raw, "\r\n") == data
        assert raw.n_frames == int(r["n_frames"]) and len(raw.body_id) == int(r["n_records"])


def test_field_values_are_kinect_like(tiny) -> None:
    out, rows = tiny
    for r in rows[::3]:
        raw = _load(out, r["name"])
        genuine = np.isin(raw.body_id.astype(str), r["actor_ids"].split(";"))
        j = raw.joints[genuine]
        assert np.all((raw.body_id >= 2**56) & (raw.body_id < 2**56 + 10**5))
        assert j[..., 2].min() > 2.0 and j[..., 2].max() < 4.6  # z, metres
        depth_x, color_x = j[..., 3], j[..., 5]  # pixels; slightly outside = clipped edges
        assert np.all((depth_x > -20) & (depth_x < 532) & (color_x > -60) & (color_x < 1980))
        q = np.linalg.norm(raw.joints[..., 7:11], axis=-1)
        leaves = [3, 15, 19, 21, 22, 23, 24]  # Kinect writes 0 0 0 0 for joints without a child
        assert np.allclose(q[:, leaves], 0) and np.allclose(np.delete(q, leaves, 1), 1, atol=1e-5)
        state = raw.joints[..., 11]
        assert set(np.unique(state)) <= {1.0, 2.0} and (state == 2).mean() > 0.7
        info = raw.body_info
        assert np.all(info[:, 5] == 0) and np.all(info[:, 8] == 2)  # isRestricted, tracking
        assert np.all(np.abs(info[:, 6:8]) <= 1)  # lean


def test_planted_noise_is_in_the_files(tiny) -> None:
    out, rows = tiny
    kinds = {k for r in rows for k in r["noise"].split(";") if k}
    assert kinds == {"spurious_short", "sideways", "zero_frames", "id_switch"}
    for r in rows:
        raw = _load(out, r["name"])
        bodies = _bodies(raw)
        assert int(r["zero_frames"]) == int((raw.bodies_per_frame == 0).sum())
        if r["short_ids"]:
            assert 1 <= bodies[r["short_ids"]].sum() <= 11
        if r["sideways_ids"]:
            xyz = raw.joints[bodies[r["sideways_ids"]], :, :3]
            assert len(xyz) > 11
            wide = np.ptp(xyz[..., 0], axis=1) > 0.8 * np.ptp(xyz[..., 1], axis=1)
            assert wide.mean() > 0.9
        if r["switch_id"]:
            (first,) = r["actor_ids"].split(";")
            frame = int(r["switch_frame"])
            assert np.all(raw.body_frame[bodies[first]] < frame)
            assert np.all(raw.body_frame[bodies[r["switch_id"]]] >= frame)
            assert bodies[first].sum() > 11 and bodies[r["switch_id"]].sum() > 11
        expected = set(r["actor_ids"].split(";")) | {
            r[k] for k in ("short_ids", "sideways_ids", "switch_id") if r[k]
        }
        assert set(bodies) == expected


def test_denoiser_drops_exactly_the_planted_bodies(tiny) -> None:
    out, rows = tiny
    params = DenoiseParams("reference", 11, 0.8, 0.69754, "fail", "xyz", 1)
    for r in rows:
        raw = _load(out, r["name"])
        d = denoise_sample(r["name"], int(r["action"]), raw.body_frame, raw.body_id,
                           raw.joints[..., :3], raw.bodies_per_frame, params)  # fmt: skip
        dropped = {row[1] for row in d.decisions if row[4] == "dropped"}
        assert dropped == {r[k] for k in ("short_ids", "sideways_ids") if r[k]}, r["name"]


def _bone_lengths(xyz: np.ndarray) -> np.ndarray:
    child, parent = NTU25.bone_index()
    return np.linalg.norm(xyz[:, child] - xyz[:, parent], axis=-1)  # (n, 25)


def test_bone_lengths_constant_in_time_and_differ_between_subjects() -> None:
    per_subject = {}
    for subject in (1, 2, 3):
        name = f"S{2 - subject % 2:03d}C002P{subject:03d}R001A043"  # falling: the most motion
        raw, _ = generate_sample(CLEAN, name)
        lengths = _bone_lengths(raw.joints[..., :3])
        assert np.abs(lengths - lengths[0]).max() < 1e-4  # float32 file precision
        per_subject[subject] = lengths[0]
    for a, b in ((1, 2), (1, 3), (2, 3)):
        assert np.abs(per_subject[a] - per_subject[b]).max() > 0.01


def _kabsch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """Rotation R minimising |(a - mean) R^T - (b - mean)|; returns R and the max residual."""
    a0, b0 = a - a.mean(0), b - b.mean(0)
    u, _, vt = np.linalg.svd(a0.T @ b0)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, float(np.abs(a0 @ r.T - b0).max())


@pytest.mark.parametrize("action", [23, 58])
def test_camera_views_are_rotations_of_one_performance(action: int) -> None:
    views = []
    for cam in (1, 2, 3):
        raw, _ = generate_sample(CLEAN, f"S001C{cam:03d}P001R001A{action:03d}")
        order = np.lexsort((raw.body_id, raw.body_frame))  # same body order in every view
        views.append(raw.joints[order, :, :3].reshape(-1, 3).astype(np.float64))
    angles = []
    for a, b in ((0, 1), (0, 2), (1, 2)):
        r, residual = _kabsch(views[a], views[b])
        assert residual < 1e-4
        angles.append(np.degrees(np.arccos((np.trace(r) - 1) / 2)))
    assert np.allclose(angles, [45, 45, 90], atol=3.0)


def test_two_person_hands_meet_and_actors_face_each_other() -> None:
    raw, row = generate_sample(CLEAN, "S001C001P001R001A058")
    a, b = (raw.joints[raw.body_id == int(i), :, :3] for i in row["actor_ids"].split(";"))
    right_hand = 11
    assert np.linalg.norm(a[:, right_hand] - b[:, right_hand], axis=-1).min() < 0.05
    hips_a, hips_b = a[0, 16] - a[0, 12], b[0, 16] - b[0, 12]  # right hip - left hip
    assert np.dot(hips_a, hips_b) / np.linalg.norm(hips_a) / np.linalg.norm(hips_b) < -0.8


def test_bad_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="synth.actions"):
        check_params(dataclasses.replace(TINY, actions=(10, 99)))
    with pytest.raises(ValueError, match="synth.frames"):
        check_params(dataclasses.replace(TINY, frames=(60, 30)))
    assert len(plan(TINY)) == 3 * 2 * 4


def test_stage_writes_files_manifest_and_metrics(tmp_path) -> None:
    params = tmp_path / "params.yaml"
    section = dataclasses.asdict(dataclasses.replace(TINY, subjects=2, setups=1, actions=(10,)))
    params.write_text(yaml.safe_dump({"synth": section}))
    out, metrics = tmp_path / "synthetic", tmp_path / "metrics" / "synth.json"
    args = ["--params", str(params), "--out", str(out), "--metrics", str(metrics)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    m = json.loads(metrics.read_text())
    assert m["n_samples"] == 2 * 2 * 3 == len(list(out.glob("*.skeleton")))
    assert (out / MANIFEST).exists() and m["n_frames"] > 0
