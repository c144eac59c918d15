"""`skelpipe pipelines render`: benchmark dvc.yaml files rendered from the root dvc.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from skelpipe.cli.main import app
from skelpipe.cli.pipelines import render

ROOT = Path(__file__).resolve().parents[2]
UCLA = Path("pipelines/nw_ucla")


def _copy_sources(tmp_path: Path) -> Path:
    """A repository root holding only what rendering reads: dvc.yaml and the NW-UCLA spec."""
    (tmp_path / UCLA).mkdir(parents=True)
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copy(ROOT / UCLA / "pipeline.yaml", tmp_path / UCLA / "pipeline.yaml")
    return tmp_path


def _stages(text: str) -> dict:
    return yaml.safe_load(text)["stages"]


def test_committed_nw_ucla_dvc_yaml_is_the_rendering() -> None:
    committed = (ROOT / UCLA / "dvc.yaml").read_text(encoding="utf-8")
    assert render(ROOT, ROOT / UCLA / "pipeline.yaml") == committed, (
        "pipelines/nw_ucla/dvc.yaml is stale: run `skelpipe pipelines render`"
    )
    assert committed.startswith("# GENERATED from dvc.yaml and pipelines/nw_ucla/pipeline.yaml")


def test_every_stage_runs_from_the_root_on_its_own_params_file() -> None:
    stages = _stages(render(ROOT, ROOT / UCLA / "pipeline.yaml"))
    assert list(stages)[0] == "ingest"
    assert not {"synth", "parse", "denoise"} & set(stages)
    for name, stage in stages.items():
        assert stage["wdir"] == "../..", name
        assert " params.yaml" not in stage["cmd"], name  # only pipelines/nw_ucla/params.yaml
        for entry in stage.get("params", []):
            assert list(entry) == ["pipelines/nw_ucla/params.yaml"], name


def test_a_root_stage_change_reaches_the_rendered_pipeline(tmp_path: Path) -> None:
    root = _copy_sources(tmp_path)
    spec = root / UCLA / "pipeline.yaml"
    before = _stages(render(root, spec))
    base = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    base["stages"]["train"]["deps"].append("src/skelpipe/new_module.py")
    base["stages"]["train"]["params"].append("train.new_key")
    (root / "dvc.yaml").write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")
    after = _stages(render(root, spec))

    assert after["train"]["deps"] == [*before["train"]["deps"], "src/skelpipe/new_module.py"]
    keys = after["train"]["params"][0]["pipelines/nw_ucla/params.yaml"]
    assert keys == [*before["train"]["params"][0]["pipelines/nw_ucla/params.yaml"], "train.new_key"]
    follows = {"train", "train_zoo"}  # train_zoo extends train: the change reaches it too
    assert {k: v for k, v in after.items() if k not in follows} == {
        k: v for k, v in before.items() if k not in follows
    }
    zoo = after["train_zoo"]
    assert {k: v for k, v in zoo.items() if k != "matrix"} == {
        k: v for k, v in after["train"].items() if k != "matrix"
    }
    assert zoo["matrix"] == {"model": "${train.zoo}", "stream": ["joint"]}


def test_extend_needs_a_kept_matrix_stage_with_the_same_axes(tmp_path: Path) -> None:
    root = _copy_sources(tmp_path)
    spec = root / UCLA / "pipeline.yaml"
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    for bad, message in (
        ({"from": "parse", "matrix": {"model": ["x"]}}, "needs `from`"),  # a dropped stage
        ({"from": "train", "matrix": {"model": ["x"]}}, "axes differ"),
        ({"from": "train"}, "needs `from`"),
    ):
        doc["extend"] = {"zoo": bad}
        spec.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            render(root, spec)


def test_check_fails_on_a_stale_file_and_passes_once_rendered(tmp_path: Path) -> None:
    root = _copy_sources(tmp_path)
    target = root / UCLA / "dvc.yaml"
    target.write_text((ROOT / UCLA / "dvc.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    runner = CliRunner()
    check = ["pipelines", "render", "--check", "--root", str(root)]
    assert runner.invoke(app, check).exit_code == 0

    base = (root / "dvc.yaml").read_text(encoding="utf-8")
    (root / "dvc.yaml").write_text(
        base.replace("--metrics metrics/ensemble.json", "--metrics m.json")
    )
    stale = target.read_text(encoding="utf-8")
    result = runner.invoke(app, check)
    assert result.exit_code == 1
    assert "-      --out ${paths.ensemble} --metrics metrics/nw_ucla/ensemble.json" in result.stdout
    assert target.read_text(encoding="utf-8") == stale  # --check writes nothing

    assert runner.invoke(app, ["pipelines", "render", "--root", str(root)]).exit_code == 0
    assert "--metrics m.json" in _stages(target.read_text(encoding="utf-8"))["ensemble"]["cmd"]
    assert runner.invoke(app, check).exit_code == 0


def test_a_rewrite_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    root = _copy_sources(tmp_path)
    spec = root / UCLA / "pipeline.yaml"
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    doc["rewrite"]["no/such/prefix/"] = "elsewhere/"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["pipelines", "render", "--root", str(root)])
    assert result.exit_code == 2
    assert "no/such/prefix/" in result.stderr
