"""NW-UCLA skeletons (the ``all_sqe`` JSON release used by CTR-GCN / InfoGCN).

Each file: ``{"file_name": "aAA_sSS_eEE_vVV", "skeletons": [[[x, y, z] x 20] x T]}``, Kinect v1
camera coordinates in metres, one person.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from skelpipe.io.raw_sources import Rejected
from skelpipe.sample_id import SampleId, SampleNameError
from skelpipe.skeleton import UCLA20


def list_ucla_files(folder: Path) -> list[Path]:
    """Every ``*.json`` under ``folder``, sorted by name."""
    return sorted(folder.rglob("*.json"), key=lambda p: p.name)


def read_ucla_sample(path: Path) -> tuple[str, np.ndarray] | Rejected:
    """Read one file -> (name, joints (T, 1, 20, 3) float32), or a Rejected row with the reason."""
    name = path.stem
    try:
        SampleId.from_name(name).label()
    except SampleNameError as err:
        return Rejected(name, str(path), None, str(err), "ingest")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        frames = doc["skeletons"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return Rejected(
            name, str(path), getattr(err, "lineno", None), f"invalid JSON: {err}", "ingest"
        )
    except (KeyError, TypeError):
        return Rejected(name, str(path), None, "no 'skeletons' list", "ingest")
    try:
        joints = np.asarray(frames, dtype=np.float32)
    except (ValueError, TypeError):
        return Rejected(name, str(path), None, "frames are not all 20 x 3 numbers", "ingest")
    v = UCLA20.num_joints
    if joints.ndim != 3 or joints.shape[1:] != (v, 3) or joints.shape[0] == 0:
        return Rejected(
            name,
            str(path),
            None,
            f"expected (T>0, {v}, 3) joints, got shape {joints.shape}",
            "ingest",
        )
    if not np.isfinite(joints).all():
        return Rejected(name, str(path), None, "NaN or infinite coordinate", "ingest")
    return name, joints[:, None]
