"""`skelpipe ingest`, `info`, `export pyskl --store`, `export npz`: the round trip."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import yaml
from typer.testing import CliRunner

from skelpipe.cli.main import app

SHARD = {
    "dataset": "ntu60",
    "shard_frames": 512,
    "chunk_frames": 64,
    "compressor": "lz4",
    "compression_level": 5,
    "validation": {"fraction": 0.2, "seed": 0, "group_by": "subject"},
}


class _Hostile:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _params(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"shard": SHARD}))
    return str(path)


def _pyskl(tmp_path, n: int = 10) -> tuple[dict, str]:
    """A PYSKL NTU 3-D pickle (names are NTU sample names, keypoints float16)."""
    rng = np.random.default_rng(1)
    anns = []
    for k in range(n):
        m, t = 1 + k % 2, int(rng.integers(8, 60))
        name = f"S001C00{1 + k % 3}P00{1 + k % 4}R001A00{1 + k % 5}"
        kp = rng.normal(size=(m, t, 25, 3)).astype(np.float16)
        anns.append({"frame_dir": name, "label": k % 5, "keypoint": kp, "total_frames": t})
    names = [a["frame_dir"] for a in anns]
    data = {"split": {"xsub_train": names[:7], "xsub_val": names[7:]}, "annotations": anns}
    path = tmp_path / "ntu60_3danno.pkl"
    path.write_bytes(pickle.dumps(data, protocol=4))
    return data, str(path)


def test_ingest_info_export_round_trip(tmp_path) -> None:
    data, pkl = _pyskl(tmp_path)
    store = str(tmp_path / "s.zarr")
    run = CliRunner().invoke
    res = run(app, ["ingest", "pyskl", pkl, "--out", store, "--params", _params(tmp_path)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.splitlines()[-1])["n_samples"] == 10
    info = json.loads(run(app, ["info", store, "--json"]).stdout)
    assert info["layout"] == "ntu25" and info["channels"] == ["x", "y", "z"]
    assert info["benchmarks"]["xsub"]["test"] == 3
    assert info["benchmarks"]["xsub"]["train"] + info["benchmarks"]["xsub"]["val"] == 7
    out = tmp_path / "back.pkl"
    assert run(app, ["export", "pyskl", "--store", store, "--out", str(out)]).exit_code == 0
    back = pickle.loads(out.read_bytes())
    assert back["split"] == data["split"]
    for a, b in zip(data["annotations"], back["annotations"], strict=True):
        assert a["frame_dir"] == b["frame_dir"] and a["label"] == b["label"]
        assert b["keypoint"].dtype == np.float16 and np.array_equal(a["keypoint"], b["keypoint"])
    npz = tmp_path / "npz"
    assert run(app, ["export", "npz", "--store", store, "--out", str(npz)]).exit_code == 0
    res = run(app, ["ingest", "npz", str(npz), "--out", str(tmp_path / "n.zarr"),
                    "--params", _params(tmp_path)])  # fmt: skip
    assert res.exit_code == 0, res.output
    again = json.loads(run(app, ["info", str(tmp_path / "n.zarr"), "--json"]).stdout)
    assert again["n_samples"] == 10 and again["n_frames"] == info["n_frames"]


def test_hostile_pickle_is_refused_and_never_runs(tmp_path) -> None:
    marker = tmp_path / "pwned"
    pkl = tmp_path / "evil.pkl"
    pkl.write_bytes(pickle.dumps({"split": {}, "annotations": [_Hostile(str(marker))]}))
    res = CliRunner().invoke(
        app, ["ingest", "pyskl", str(pkl), "--out", str(tmp_path / "s.zarr"),
              "--params", _params(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 1
    assert "evil.pkl" in res.output and "refused" in res.output
    assert "Traceback" not in res.output
    assert not marker.exists() and not (tmp_path / "s.zarr").exists()


def test_truncated_pickle_is_a_clean_failure(tmp_path) -> None:
    _, pkl = _pyskl(tmp_path)
    with open(pkl, "r+b") as fh:
        fh.truncate(os.path.getsize(pkl) // 2)
    res = CliRunner().invoke(
        app, ["ingest", "pyskl", pkl, "--out", str(tmp_path / "s.zarr"),
              "--params", _params(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 1 and "ntu60_3danno.pkl" in res.output
    assert "Traceback" not in res.output
