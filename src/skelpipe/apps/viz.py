"""Skeleton pictures: PNG strips of a few frames, every actor, bones from :mod:`skelpipe.skeleton`.

Used by the tokenizer evaluation (original vs reconstruction, a DVC image plot) and by
``skelpipe show``. Matplotlib's Agg backend only: no display needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skelpipe.classify.features import valid_length
from skelpipe.skeleton import Layout

ACTOR_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red")


def frame_picks(sample: np.ndarray, n: int) -> np.ndarray:
    """``n`` frame indices spread evenly over the valid frames of ``sample`` (T, M, V, 3)."""
    t = max(valid_length(sample), 1)
    return np.unique(np.linspace(0, t - 1, n).round().astype(np.int64))


def _limits(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pts = np.concatenate([r.reshape(-1, r.shape[-1]) for r in rows])
    pts = pts[np.any(pts != 0, axis=1)]
    if len(pts) == 0:
        return np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    pad = 0.05 * float(max(hi - lo)) + 1e-3
    return lo - pad, hi + pad


def draw_frame(ax, joints: np.ndarray, layout: Layout, style: str = "-") -> None:
    """One frame (M, V, 3) onto ``ax``: x right, y up (the camera's front view)."""
    edges = layout.edges()
    for m, person in enumerate(joints):
        if not np.any(person != 0):
            continue
        colour = ACTOR_COLOURS[m % len(ACTOR_COLOURS)]
        for a, b in edges:
            ax.plot(person[[a, b], 0], person[[a, b], 1], style, color=colour, lw=1.2)
        ax.scatter(person[:, 0], person[:, 1], s=4, color=colour)


def save_strips(
    path: Path,
    rows: list[np.ndarray],
    titles: list[str],
    layout: Layout,
    n_frames: int = 6,
    styles: list[str] | None = None,
) -> None:
    """Write a PNG with one row per sample (T, M, V, C), ``n_frames`` frames across.

    Rows share frame picks in groups of equal length (e.g. original and reconstruction) and one
    set of axis limits, so differences are visible. Image coordinates (C = 2) are drawn with y
    down, as in the image.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = frame_picks(rows[0], n_frames)
    lo, hi = _limits([r[picks[picks < len(r)]] for r in rows])
    fig, axes = plt.subplots(
        len(rows), len(picks), figsize=(1.6 * len(picks), 1.9 * len(rows)), squeeze=False
    )
    for r, (sample, title) in enumerate(zip(rows, titles, strict=True)):
        if r and len(sample) != len(rows[r - 1]):
            picks = frame_picks(sample, n_frames)
        for c, t in enumerate(picks):
            ax = axes[r, c]
            if t < len(sample):
                draw_frame(ax, sample[t], layout, (styles or ["-"] * len(rows))[r])
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim((hi[1], lo[1]) if sample.shape[-1] == 2 else (lo[1], hi[1]))
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{title}  t={t}" if c == 0 else f"t={t}", fontsize=6)
    fig.tight_layout()
    from skelpipe.atomic import atomic_file

    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
