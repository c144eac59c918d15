"""The README's result tables are generated from the committed metrics files."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from skelpipe.report import ensemble_table, replace_section
from stages.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tables_match_metrics() -> None:
    result = CliRunner().invoke(app, ["results", "--readme", str(ROOT / "README.md"), "--check"])
    assert result.exit_code == 0, result.output


def test_table_and_section_replacement() -> None:
    metrics = {"weight_a_joint": 1.0, "a_joint_test_top1": 0.5, "ensemble_test_top1": 0.75}
    table = ensemble_table(metrics, ["a-joint"])
    assert "| a-joint | 1.0 | 50.0 % |" in table and "**75.0 %**" in table
    text = "x\n<!-- results:s:start -->\nold\n<!-- results:s:end -->\ny"
    assert replace_section(text, "s", "new") == (
        "x\n<!-- results:s:start -->\nnew\n<!-- results:s:end -->\ny"
    )
