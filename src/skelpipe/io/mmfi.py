"""MM-Fi (Yang et al., "MM-Fi: Multi-Modal Non-Intrusive 4D Human Dataset", NeurIPS 2023 D&B):
the 3-D pose ground truth of each sequence, ``E<env>/S<subject>/A<action>/ground_truth.npy``.

Each file is (T, 17, 3) (T = 297 in the release; any T >= 1 is read) in the Human3.6M 17-joint
order, kept as stored (layout ``h36m17``, channels x, y, z). The sample name carries environment,
subject and action (``E01_S01_A01``); the label is the action number - 1. MM-Fi's protocols
and splits are defined by the user (by subject, environment, ...), so ``splits`` is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from skelpipe.io.keypoints import KeypointSample, KeypointSource, SourceError
from skelpipe.io.raw_sources import Rejected

GROUND_TRUTH = "ground_truth.npy"
LAYOUT = "h36m17"
NUM_JOINTS = 17
_PARTS = (re.compile(r"E(\d+)"), re.compile(r"S(\d+)"), re.compile(r"A(\d+)"))


def open_mmfi(path: str | Path) -> KeypointSource:
    """Open an MM-Fi root: one sample per sequence, keypoint (1, T, 17, 3) float32.

    Files are read one at a time while iterating, with ``allow_pickle=False``.

    Raises:
        SourceError: not a folder, or no ``E*/S*/A*/ground_truth.npy`` below it.
    """
    root = Path(path)
    if not root.is_dir():
        raise SourceError(f"{root}: not a folder")
    files = sorted(root.glob(f"E*/S*/A*/{GROUND_TRUTH}"), key=_sort_key)
    if not files:
        raise SourceError(f"{root}: no E*/S*/A*/{GROUND_TRUTH} below it (is it the MM-Fi root?)")
    return KeypointSource("mmfi", LAYOUT, ("x", "y", "z"), _samples(files), {})


def _parse(file: Path) -> tuple[int, int, int] | None:
    """(environment, subject, action) numbers from ``E01/S01/A01/ground_truth.npy``."""
    dirs = file.parts[-4:-1]
    matches = [pattern.fullmatch(d) for pattern, d in zip(_PARTS, dirs, strict=True)]
    if not all(matches):
        return None
    e, s, a = (int(m.group(1)) for m in matches if m)
    return e, s, a


def _sort_key(file: Path) -> tuple[int, tuple[int, int, int], str]:
    parsed = _parse(file)
    return (0, parsed, str(file)) if parsed else (1, (0, 0, 0), str(file))


def _samples(files: list[Path]) -> Iterator[KeypointSample | Rejected]:
    seen: set[str] = set()
    for file in files:
        name, result = _to_sample(file, seen)
        if isinstance(result, str):
            yield Rejected(name, str(file), None, result, "ingest")
            continue
        seen.add(name)
        yield result


def _to_sample(file: Path, seen: set[str]) -> tuple[str, KeypointSample | str]:
    """(name, the sample or the reason it is rejected)."""
    parsed = _parse(file)
    if parsed is None:
        return "_".join(file.parts[-4:-1]), "folders are not E<number>/S<number>/A<number>"
    env, subject, action = parsed
    name = f"E{env:02d}_S{subject:02d}_A{action:02d}"
    if action < 1:
        return name, f"action number {action} < 1 (A01 is label 0)"
    if name in seen:
        return name, "duplicate sequence (two folders with the same numbers, e.g. A1 and A01)"
    poses = _read(file)
    if isinstance(poses, str):
        return name, poses
    return name, KeypointSample(name, poses[None], None, action - 1)  # (1, T, 17, 3)


def _read(file: Path) -> np.ndarray | str:
    """The (T, 17, 3) float32 poses, or the problem."""
    try:
        poses = np.load(file, allow_pickle=False)
    except Exception as err:  # untrusted bytes: any failure to read is a bad file
        return f"not a readable .npy ({type(err).__name__}: {err})"
    if not isinstance(poses, np.ndarray):
        poses.close()
        return "an .npz archive, not an .npy array"
    if poses.dtype.kind not in "fiu" or poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3):
        return f"{poses.dtype} array of shape {poses.shape}, expected numeric (T, 17, 3)"
    if poses.shape[0] == 0:
        return "no frames (T = 0)"
    out = poses.astype(np.float32)
    bad = int(np.count_nonzero(~np.isfinite(out)))
    return f"{bad} NaN/inf values" if bad else out
