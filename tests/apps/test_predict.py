"""`skelpipe predict`: real NTU / NW-UCLA files through the stage functions and tiny trained-format
models; the ensemble equals the stage path's member scores; bad files give validate's reasons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from skelpipe.apps.predict import EnsemblePredictor, load_sample
from skelpipe.classify.features import make_input
from skelpipe.cli._pipeline_params import pipeline_params
from skelpipe.cli.main import app
from skelpipe.datasets import class_names
from skelpipe.io.h5store import iter_sequences
from skelpipe.io.raw_sources import list_raw_files
from skelpipe.preprocess.runner import align_part, denoise_part, parse_part
from skelpipe.skeleton import NTU25
from skelpipe.training.loop import input_config
from tests.helpers import NTU_PARAMS, ROOT, trained_outputs

UCLA_PARAMS = ROOT / "pipelines" / "nw_ucla" / "params.yaml"


pytestmark = pytest.mark.usefixtures("single_thread")


def _args(paths: dict[str, Path], params: Path) -> list[str]:
    return [*(str(x) for kv in paths.items() for x in kv), "--params", str(params)]


def test_predict_real_ntu_file_ranks_named_classes(tmp_path, shared_data) -> None:
    src = shared_data / "ntu_raw_samples" / "S001C001P001R001A050.skeleton"
    weights = {"ctrgcn-joint": 0.6, "ctrgcn-bone_motion": 0.4, "tokens": 0.0}
    paths = trained_outputs(tmp_path, "ntu60", weights)
    args = ["predict", str(src), "--json", "--top", "5", *_args(paths, NTU_PARAMS)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["sample"] == "S001C001P001R001A050"
    top = out["top"]
    names = class_names("ntu60")
    assert len(top) == 5 and len({r["label"] for r in top}) == 5
    assert all(
        names[r["label"]] == r["name"] and r["code"] == f"A{r['label'] + 1:03d}" for r in top
    )
    scores = [r["score"] for r in top]
    probs = [r["probability"] for r in top]
    assert scores == sorted(scores, reverse=True) and probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1 + 1e-9
    text = CliRunner().invoke(app, ["predict", str(src), *_args(paths, NTU_PARAMS)]).stdout
    assert top[0]["name"] in text and "members: ctrgcn-joint, ctrgcn-bone_motion" in text


def test_predict_equals_the_stage_path_and_weights_combine(tmp_path, shared_data) -> None:
    """Member scores = the models on the aligned part the parse/denoise/align drivers write; the
    ensemble score is their weighted sum; a token member loads and scores."""
    src = shared_data / "ntu_raw_samples" / "S001C001P001R001A050.skeleton"
    weights = {"ctrgcn-joint": 0.6, "ctrgcn-bone": 0.4, "tokens": 0.5}
    paths = trained_outputs(tmp_path, "ntu60", weights)
    p, _ = pipeline_params(NTU_PARAMS)
    net = EnsemblePredictor(paths["--model"], weights, p, paths["--tokenizer"])
    name, sample = load_sample(src, p)
    for stage in ("parse", "denoise", "align"):
        (tmp_path / stage).mkdir()
    files, _, _ = list_raw_files([src])
    parse_part((0, files, tmp_path / "parse", True))
    denoise_part((tmp_path / "parse" / "part-00000.h5", tmp_path / "denoise", p.denoise))
    align_part((tmp_path / "denoise" / "part-00000.h5", tmp_path / "align", p.align))
    (seq,) = list(iter_sequences(tmp_path / "align" / "part-00000.h5"))
    assert seq.name == name and np.array_equal(seq.joints, sample)
    member = net.member_scores(sample)  # (3, 1, 60)
    assert member.shape == (3, 1, 60)
    for k, m in enumerate(("ctrgcn-joint", "ctrgcn-bone")):
        x = make_input(seq.joints, input_config(p.train, m.split("-")[1], False), NTU25, None)
        with torch.no_grad():
            direct = net.nets[m](torch.from_numpy(x)[None]).numpy()
        np.testing.assert_allclose(member[k], direct, rtol=1e-6, atol=1e-6)
    best = net.predict(sample, top=60)
    assert sorted(r.label for r in best) == list(range(60))
    combined = np.tensordot(np.array([0.6, 0.4, 0.5]), member, axes=1)[0]
    np.testing.assert_allclose([r.score for r in best], np.sort(combined)[::-1], rtol=1e-6)
    assert sum(r.probability for r in best) == pytest.approx(1.0)


def test_predict_real_nw_ucla_file(tmp_path, shared_data) -> None:
    src = shared_data / "nw_ucla" / "all_sqe" / "a08_s01_e00_v03.json"
    paths = trained_outputs(tmp_path, "nw_ucla", {"ctrgcn-joint": 1.0})
    args = ["predict", str(src), "--json", "--top", "3", *_args(paths, UCLA_PARAMS)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    top = json.loads(result.stdout)["top"]
    assert len(top) == 3
    assert all(r["name"] == class_names("nw_ucla")[r["label"]] for r in top)
    assert all(r["code"][0] == "a" for r in top)


def test_bad_files_fail_cleanly_with_validates_reason(tmp_path, shared_data) -> None:
    paths = trained_outputs(tmp_path, "ntu60", {"ctrgcn-joint": 1.0})
    bad = tmp_path / "S001C001P001R001A002.skeleton"
    bad.write_text("2\n1\n")  # two frames declared, the first says one body, then nothing
    good = shared_data / "ntu_raw_samples" / "S001C001P001R001A001.skeleton"
    validate = CliRunner().invoke(app, ["validate", str(bad)])
    reason = validate.stdout.strip()
    assert validate.exit_code == 1 and reason.startswith(f"{bad}:")
    result = CliRunner().invoke(app, ["predict", str(bad), str(good), *_args(paths, NTU_PARAMS)])
    assert result.exit_code == 1
    assert f"error: {reason}" in result.stderr
    assert "A001" in result.stdout and "Traceback" not in result.output  # the good file still ran
    for what, message in (
        (tmp_path / "missing.skeleton", "not a folder, a zip archive or a .skeleton file"),
        (tmp_path / "notes.skeleton", "is not an NTU sample name"),
        (shared_data / "ntu_raw_samples", "raw files; predict takes .skeleton files"),
    ):
        if what.name == "notes.skeleton":
            what.write_text("1\n")
        result = CliRunner().invoke(app, ["predict", str(what), *_args(paths, NTU_PARAMS)])
        assert result.exit_code == 1 and message in result.stderr, result.output
    ucla = shared_data / "nw_ucla" / "all_sqe" / "a01_s01_e00_v01.json"
    result = CliRunner().invoke(app, ["predict", str(ucla), *_args(paths, NTU_PARAMS)])
    assert result.exit_code == 1 and "the ntu60 models take ntu25" in result.stderr


def test_missing_or_mismatched_models_fail_cleanly(tmp_path, shared_data) -> None:
    src = shared_data / "ntu_raw_samples" / "S001C001P001R001A001.skeleton"
    paths = trained_outputs(tmp_path, "nw_ucla", {"ctrgcn-joint": 1.0})  # wrong dataset
    result = CliRunner().invoke(app, ["predict", str(src), *_args(paths, NTU_PARAMS)])
    assert result.exit_code == 1 and "does not fit the params' model" in result.stderr
    paths["--ensemble"] = tmp_path / "nowhere"
    result = CliRunner().invoke(app, ["predict", str(src), *_args(paths, NTU_PARAMS)])
    assert result.exit_code == 1 and "weights.json: missing" in result.stderr
    assert "Traceback" not in result.output
