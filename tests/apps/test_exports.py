"""`skelpipe export`: the reference npz files and PYSKL pickle, checked against the reference."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from skelpipe.cli.main import app

FILES60 = ["NTU60_CS.npz", "NTU60_CV.npz", "NTU60_CS_aligned.npz", "NTU60_CV_aligned.npz"]
FILES120 = ["NTU120_CSub.npz", "NTU120_CSet.npz"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("export")
    raw = shared_data / "ntu_raw_samples"
    runner = CliRunner()
    for dataset, extra in (("ntu60", ["--aligned"]), ("ntu120", [])):
        args = ["export", "ctrgcn", "--raw", str(raw), "--dataset", dataset, "--out", str(out)]
        result = runner.invoke(app, [*args, *extra, "--workers", "2"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "export",
            "pyskl",
            "--raw",
            str(raw),
            "--dataset",
            "ntu60",
            "--out",
            str(out / "ntu60_3danno.pkl"),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("fname", FILES60 + FILES120)
def test_npz_equals_reference(exported, shared_data, fname) -> None:
    ours = np.load(exported / fname, allow_pickle=False)
    ref = np.load(shared_data / "ntu_reference_outputs" / fname, allow_pickle=False)
    assert set(ours.files) == {
        "x_train",
        "y_train",
        "x_test",
        "y_test",
        "names_train",
        "names_test",
    }
    for key in ("x_train", "x_test", "y_train", "y_test"):
        assert ours[key].shape == ref[key].shape and ours[key].dtype == ref[key].dtype, key
        np.testing.assert_allclose(ours[key], ref[key], atol=1e-4, rtol=0, err_msg=key)
    for key in ("names_train", "names_test"):
        assert ours[key].dtype.kind == "U"
        np.testing.assert_array_equal(ours[key], ref[key])


def test_plain_npz_are_bit_identical(exported, shared_data) -> None:
    for fname in ("NTU60_CS.npz", "NTU120_CSet.npz"):
        ours = np.load(exported / fname)
        ref = np.load(shared_data / "ntu_reference_outputs" / fname)
        assert np.array_equal(ours["x_train"], ref["x_train"])
        assert np.array_equal(ours["x_test"], ref["x_test"])


def test_pyskl_annotations(exported) -> None:
    with open(exported / "ntu60_3danno.pkl", "rb") as fh:
        data = pickle.load(fh)
    assert set(data["split"]) == {"xsub_train", "xsub_val", "xview_train", "xview_val"}
    assert len(data["annotations"]) == 21
    by_name = {a["frame_dir"]: a for a in data["annotations"]}
    hug = by_name["S017C003P020R002A055"]
    assert hug["label"] == 54 and hug["keypoint"].shape == (2, hug["total_frames"], 25, 3)
    drink = by_name["S001C001P001R001A001"]
    assert drink["keypoint"].shape == (1, 103, 25, 3) and drink["keypoint"].dtype == np.float16
    assert sorted(data["split"]["xsub_train"] + data["split"]["xsub_val"]) == sorted(by_name)
