"""Markdown result tables generated from the metrics files (the README's tables come from here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

START = "<!-- results:{name}:start -->"
END = "<!-- results:{name}:end -->"


def ensemble_table(metrics: dict, members: list[str]) -> str:
    """One row per stream and one for the ensemble: test top-1 / top-5 / mean class accuracy."""
    lines = [
        "| stream | weight | test top-1 | test top-5 | mean class acc |",
        "|---|---|---|---|---|",
    ]
    for m in members:
        key = m.replace("-", "_")
        lines.append(
            f"| {m} | {metrics.get(f'weight_{key}', '')} | "
            f"{_pct(metrics, f'{key}_test_top1')} | {_pct(metrics, f'{key}_test_top5')} | "
            f"{_pct(metrics, f'{key}_test_mean_class_acc')} |"
        )
    lines.append(
        f"| **ensemble** | | **{_pct(metrics, 'ensemble_test_top1')}** | "
        f"{_pct(metrics, 'ensemble_test_top5')} | "
        f"{_pct(metrics, 'ensemble_test_mean_class_acc')} |"
    )
    return "\n".join(lines)


def _pct(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "n/a" if value is None else f"{100 * value:.1f} %"


def members_of(metrics: dict) -> list[str]:
    """Stream names in the order of their weight keys (``weight_<model>_<stream>``)."""
    return [k[len("weight_") :] for k in metrics if k.startswith("weight_")]


def render(metrics_file: Path) -> str:
    metrics = json.loads(metrics_file.read_text())
    return ensemble_table(metrics, members_of(metrics))


def replace_section(text: str, name: str, body: str) -> str:
    """Replace the text between the ``results:<name>`` markers (markers must exist)."""
    start, end = START.format(name=name), END.format(name=name)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no {start} ... {end} section")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)
