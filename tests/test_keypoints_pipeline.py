"""End to end: the keypoints pipeline (``pipelines/keypoints``) on a tiny copy of the repository,
on its default source (the synthetic set as PYSKL's converter writes it: 3-D NTU) and on a 2-D
COCO-17 pickle of "your own" keypoints: ingest -> align -> classifiers, tokenizer, ensemble."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skelpipe.store.reader import SampleStore
from tests.helpers import (
    TINY_TOKEN_STREAM,
    TINY_TOKENIZER,
    TINY_TRAIN,
    coco_pickle,
    copy_repository,
)

pytestmark = pytest.mark.slow
PIPELINE = "pipelines/keypoints/dvc.yaml"
PARAMS = Path("pipelines/keypoints/params.yaml")


def _dvc(cwd: Path, *args: str) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "dvc", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _set(repo: Path, **sections: dict) -> None:
    doc = yaml.safe_load((repo / PARAMS).read_text())
    for name, values in sections.items():
        doc[name].update(values)
    (repo / PARAMS).write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = copy_repository(tmp_path_factory.mktemp("keypoints") / "repo")
    one_stream = {**TINY_TRAIN, "streams": ["joint"]}
    _set(
        repo,
        train=one_stream,
        tokenizer=TINY_TOKENIZER,
        token_stream=TINY_TOKEN_STREAM,
        ensemble={"members": ["ctrgcn-joint", "tokens"]},
    )
    return repo


def _metrics(repo: Path, name: str) -> dict:
    return json.loads((repo / "metrics" / "keypoints" / name).read_text())


def test_default_source_runs_end_to_end_then_nothing(repo: Path) -> None:
    _dvc(repo, "repro", PIPELINE)
    store = SampleStore(repo / "data/keypoints/store.zarr")
    assert store.attrs["layout"] == "ntu25" and store.channels == ("x", "y", "z")
    assert store.attrs["source_format"] == "pyskl" and store.attrs["aligned"]
    assert _metrics(repo, "example.json")["n_samples"] == len(store)
    ens = _metrics(repo, "ensemble.json")
    assert ens["ensemble_test_n"] == len(store.split("xsub", "test")) > 0
    assert "test_mpjpe_mm" in _metrics(repo, "tokenizer.json")
    assert "up to date" in _dvc(repo, "status", PIPELINE).lower()


def test_own_2d_keypoints_need_only_the_format_and_the_path(repo: Path) -> None:
    coco_pickle(repo / "mine.pkl")  # 2-D COCO-17 with scores; splits train / val (-> default)
    bench = {"benchmark": "default"}
    _set(
        repo,
        paths={"raw": "mine.pkl"},
        ingest={"format": "pyskl"},
        train=bench,
        tokenizer=bench,
        token_stream=bench,
    )
    _dvc(repo, "repro", PIPELINE)
    store = SampleStore(repo / "data/keypoints/store.zarr")
    assert store.attrs["layout"] == "coco17" and store.channels == ("x", "y")
    assert store.attrs["image_size"] == [720, 1280]
    x = store.sample(0)
    assert x.shape[1:] == (2, 17, 2) and abs(x).max() <= 1.0  # PreNormalize2D by the image
    ens = _metrics(repo, "ensemble.json")
    assert ens["ensemble_test_n"] == 12 and 0.0 <= ens["ensemble_test_top1"] <= 1.0
    tok = _metrics(repo, "tokenizer.json")
    assert "test_mpjpe_px" in tok and "test_mpjpe_mm" not in tok
