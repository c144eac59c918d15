"""Markdown result tables generated from the metrics files (the README's tables come from here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

START = "<!-- results:{name}:start -->"
END = "<!-- results:{name}:end -->"

# Published test top-1 beside ours, per README section and row ("ensemble" = the ensemble row).
# Only figures the papers report for the same benchmark protocol; a row without one shows "-".
PUBLISHED: dict[str, dict[str, str]] = {
    "nw_ucla": {
        # Chen et al., "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based
        # Action Recognition", ICCV 2021, comparison on NW-UCLA: the 4-stream CTR-GCN (joint,
        # bone, joint motion, bone motion), full-size model, GPU recipe
        "ensemble": "96.5 % (CTR-GCN, ICCV 2021)",
    },
}


def ensemble_table(
    metrics: dict, members: list[str], published: dict[str, str] | None = None
) -> str:
    """One row per stream and one for the ensemble: test top-1 / top-5 / mean class accuracy,
    and, when the ensemble stage computed it, the ensemble's top-1 without that stream; with
    ``published`` (row -> text), a last column of published figures."""
    loo = any(k.startswith("ensemble_without_") for k in metrics)
    head = "| stream | weight | test top-1 | test top-5 | mean class acc |"
    head += " ensemble without it |" if loo else ""
    head += " published top-1 |" if published is not None else ""
    lines = [head, "|---" * head.count(" |") + "|"]

    def tail(row: str, loo_cell: str) -> str:
        cells = (f" {loo_cell} |" if loo_cell else " |") if loo else ""
        return cells + (f" {published.get(row, '-')} |" if published is not None else "")

    for m in members:
        key = m.replace("-", "_")
        lines.append(
            f"| {m} | {metrics.get(f'weight_{key}', '')} | "
            f"{_pct(metrics, f'{key}_test_top1')} | {_pct(metrics, f'{key}_test_top5')} | "
            f"{_pct(metrics, f'{key}_test_mean_class_acc')} |"
            + tail(key, _pct(metrics, f"ensemble_without_{key}_test_top1"))
        )
    lines.append(
        f"| **ensemble** | | **{_pct(metrics, 'ensemble_test_top1')}** | "
        f"{_pct(metrics, 'ensemble_test_top5')} | "
        f"{_pct(metrics, 'ensemble_test_mean_class_acc')} |" + tail("ensemble", "")
    )
    return "\n".join(lines)


def models_table(
    runs: dict[str, dict], n_params: dict[str, int], timings: dict[str, dict] | None = None
) -> str:
    """One row per training run ``<model>-<stream>`` (its metrics), best first: parameters (of
    the model as trained), test top-1 / top-5 / mean class accuracy, epochs; with ``timings``
    (run -> ``{"cpu_minutes": ...}``, measured and recorded beside the page), a CPU-minutes
    column ("-" for a run without one)."""
    head = "| model | stream | parameters | test top-1 | test top-5 | mean class acc | epochs |"
    head += " CPU minutes |" if timings is not None else ""
    lines = [head, "|---" * head.count(" |") + "|"]
    for run in sorted(runs, key=lambda r: (-runs[r].get("test_top1", 0.0), r)):
        m = runs[run]
        model, _, stream = run.partition("-")
        n = n_params.get(run)
        row = (
            f"| {model} | {stream} | {'n/a' if n is None else f'{n:,}'} | "
            f"{_pct(m, 'test_top1')} | {_pct(m, 'test_top5')} | {_pct(m, 'test_mean_class_acc')} | "
            f"{m.get('epochs', 'n/a')} |"
        )
        if timings is not None:
            minutes = timings.get(run, {}).get("cpu_minutes")
            row += f" {'-' if minutes is None else f'{minutes:.0f}'} |"
        lines.append(row)
    return "\n".join(lines)


def tokenizer_table(metrics: dict) -> str:
    """The tokenizer's reconstruction and codebook figures, one row: test MPJPE beside the
    validation (held-out samples like the training ones) and training MPJPE, the gap."""
    levels = sorted(k for k in metrics if k.startswith("train_utilisation_") and k[-1].isdigit())
    util = " / ".join(f"{100 * metrics[k]:.0f} %" for k in levels)
    return "\n".join(
        [
            "| quantizer | bits / frame | compression | test MPJPE | val / train MPJPE "
            "| PA-MPJPE | accel. error | PCK@50 mm | codebook use (train, per level) |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {metrics.get('quantizer', '?')} | {metrics.get('bits_per_frame', 0):g} | "
            f"{metrics.get('compression_ratio', 0):.0f}x | {_mm(metrics, 'test_mpjpe_mm')} | "
            f"{_mm(metrics, 'val_mpjpe_mm')} / {_mm(metrics, 'train_mpjpe_mm')} | "
            f"{_mm(metrics, 'test_pa_mpjpe_mm')} | {_mm(metrics, 'test_accel_error_mm')} | "
            f"{_pct(metrics, 'test_pck_50mm')} | {util} |",
        ]
    )


def _mm(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "n/a" if value is None else f"{value:.1f} mm"


def _pct(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "n/a" if value is None else f"{100 * value:.1f} %"


def members_of(metrics: dict) -> list[str]:
    """Stream names in the order of their weight keys (``weight_<model>_<stream>``)."""
    return [k[len("weight_") :] for k in metrics if k.startswith("weight_")]


def render(metrics_file: Path, published: dict[str, str] | None = None) -> str:
    metrics = json.loads(metrics_file.read_text())
    if "bits_per_frame" in metrics:
        return tokenizer_table(metrics)
    return ensemble_table(metrics, members_of(metrics), published)


def replace_section(text: str, name: str, body: str) -> str:
    """Replace the text between the ``results:<name>`` markers (markers must exist)."""
    start, end = START.format(name=name), END.format(name=name)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no {start} ... {end} section")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)
