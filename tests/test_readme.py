"""The README: result tables generated from the committed metrics files; every `skelpipe`
command it names exists; its marked example blocks run (``<!-- readme-test: models -->`` here,
``<!-- readme-test: dvc -->`` in tests/test_pipeline.py)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skelpipe.apps.report import ensemble_table, models_table, replace_section, tokenizer_table
from skelpipe.cli.main import app
from tests.helpers import ROOT, readme_commands, trained_outputs


def test_readme_tables_match_metrics() -> None:
    result = CliRunner().invoke(app, ["results", "--root", str(ROOT), "--check"])
    assert result.exit_code == 0, result.output


def test_models_table_rows_best_first_with_timings() -> None:
    runs = {
        "a-joint": {"test_top1": 0.5, "test_top5": 0.9, "test_mean_class_acc": 0.45, "epochs": 3},
        "b-joint": {"test_top1": 0.75, "test_top5": 1.0, "test_mean_class_acc": 0.7, "epochs": 3},
    }
    table = models_table(runs, {"a-joint": 1234, "b-joint": 56}, {"b-joint": {"cpu_minutes": 41.6}})
    lines = table.splitlines()
    assert lines[0].endswith("| epochs | CPU minutes |") and lines[1].count("|---") == 8
    assert lines[2] == "| b | joint | 56 | 75.0 % | 100.0 % | 70.0 % | 3 | 42 |"
    assert lines[3] == "| a | joint | 1,234 | 50.0 % | 90.0 % | 45.0 % | 3 | - |"
    assert "CPU minutes" not in models_table(runs, {})


def test_table_and_section_replacement() -> None:
    metrics = {"weight_a_joint": 1.0, "a_joint_test_top1": 0.5, "ensemble_test_top1": 0.75}
    table = ensemble_table(metrics, ["a-joint"])
    assert "| a-joint | 1.0 | 50.0 % |" in table and "**75.0 %**" in table
    published = ensemble_table(metrics, ["a-joint"], {"ensemble": "80.0 % (paper)"})
    assert published.splitlines()[0].endswith("| published top-1 |")
    assert "| a-joint | 1.0 | 50.0 % |" in published and published.count("|---") == 6
    assert published.splitlines()[-1].endswith("| 80.0 % (paper) |")
    assert published.splitlines()[2].endswith("| - |")
    text = "x\n<!-- results:s:start -->\nold\n<!-- results:s:end -->\ny"
    assert replace_section(text, "s", "new") == (
        "x\n<!-- results:s:start -->\nnew\n<!-- results:s:end -->\ny"
    )


def test_tokenizer_table_shows_the_generalisation_gap() -> None:
    metrics = {"quantizer": "rvq", "bits_per_frame": 10.0, "compression_ratio": 192.0}
    metrics |= {"test_mpjpe_mm": 70.04, "val_mpjpe_mm": 60.0, "train_mpjpe_mm": 55.55}
    metrics |= {"train_utilisation_0": 0.9, "train_utilisation_1": 0.85}
    row = tokenizer_table(metrics).splitlines()[-1]
    assert row.startswith("| rvq | 10 | 192x | 70.0 mm | 60.0 mm / 55.5 mm | n/a |")
    assert row.endswith("| 90 % / 85 % |")


def test_every_skelpipe_command_in_the_readme_exists() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"skelpipe ([a-z][a-z-]*)(?: [a-z]+)?", text))
    assert {"predict", "show", "export-model", "validate", "export", "results"} <= used
    for sub in sorted(used):
        result = CliRunner().invoke(app, [sub, "--help"])
        assert result.exit_code == 0, f"README uses `skelpipe {sub}`: {result.output}"


def _place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(src, dest)


@pytest.mark.usefixtures("single_thread")
def test_readme_model_commands_run(tmp_path, monkeypatch, shared_data) -> None:
    """The README's predict / show / export-model block, verbatim, in a folder laid out as after
    `dvc repro` of both pipelines (tiny trained-format models; /data/... = ../shared/data)."""
    root = tmp_path / "repo"
    (root / "pipelines" / "nw_ucla").mkdir(parents=True)
    for rel in ("params.yaml", "pipelines/nw_ucla/params.yaml"):
        shutil.copy(ROOT / rel, root / rel)
    weights = {"ctrgcn-joint": 0.6, "ctrgcn-bone": 0.4, "tokens": 0.2}
    ntu = trained_outputs(tmp_path / "ntu", "ntu60", weights)
    ucla = trained_outputs(tmp_path / "ucla", "nw_ucla", {"ctrgcn-joint": 1.0})
    for made, ntu_dest, ucla_dest in (
        ("--model", "models/ntu", "models/nw_ucla"),
        ("--ensemble", "data/ensemble", "data/nw_ucla/ensemble"),
    ):
        _place(ntu[made], root / ntu_dest)
        _place(ucla[made], root / ucla_dest)
    _place(ntu["--tokenizer"], root / "models" / "tokenizer" / "ntu")
    monkeypatch.chdir(root)
    commands = readme_commands("models")
    assert len(commands) >= 5 and all(c.startswith("skelpipe ") for c in commands)
    for line in commands:
        line = line.replace("/data/ntu/", f"{shared_data}/ntu_raw_samples/")
        line = line.replace("/data/nw_ucla/", f"{shared_data}/nw_ucla/")
        result = CliRunner().invoke(app, shlex.split(line)[1:])
        assert result.exit_code == 0, f"README example failed: {line}\n{result.output}"
        if "--json" in line:
            assert len(json.loads(result.stdout)["top"]) == 3
    for png in ("sample.png", "recon.png"):
        assert (root / png).read_bytes()[:4] == b"\x89PNG"
    assert (root / "exports" / "ctrgcn-joint" / "model.onnx").stat().st_size > 0
    assert sorted(p.name for p in (root / "exports" / "tokenizer").iterdir()) == [
        "decoder.pt",
        "encoder.pt",
    ]
