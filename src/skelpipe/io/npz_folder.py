"""A folder of per-sample ``.npz`` files, the form most pose estimators' users already have.

Each ``<name>.npz`` holds ``poses`` (T, N, D) for one body or (T, M, N, D) for M bodies and an
optional ``mask`` (T,) of frames that hold data. The folder is either flat or has ``train/``,
``val/``, ``test/`` subfolders (then those are the splits; anything else at the top is not read).
Labels come from ``labels.csv`` (``name,label`` rows, header optional) at the top, else from class
subfolders (``<split>/<class>/<name>.npz``): folder names that are all integers are the labels,
otherwise the sorted folder names are numbered 0, 1, ... (torchvision ``ImageFolder``); else None.
Files are read one at a time with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelpipe.io.keypoints import KeypointSample, KeypointSource, SourceError, resolve_layout
from skelpipe.io.raw_sources import Rejected

SPLITS = ("train", "val", "test")
LABELS_CSV = "labels.csv"
# joint count -> layout; 17 joints are COCO in 2-D and Human3.6M in 3-D.
_Arrays = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]  # keypoint, score, mask


@dataclass(frozen=True)
class _Entry:
    name: str
    path: Path
    split: str
    label: int | None


def open_npz_folder(
    path: str | Path, layout: str | None = None, score_channel: bool = False
) -> KeypointSource:
    """Open a folder of npz files: keypoint (M, T, N, D) float32 (D without the score channel).

    Args:
        path: the folder.
        layout: layout name; None infers it from the first readable file's N (and D for 17).
        score_channel: the last of the D channels is a confidence: it becomes ``score``
            (M, T, N) and the coordinates keep the first D - 1 channels.

    Raises:
        SourceError: not a folder, no npz file readable, a bad labels.csv, or a layout that
            cannot be inferred or does not fit N.
    """
    root = Path(path)
    if not root.is_dir():
        raise SourceError(f"{root}: not a folder")
    split_names = [s for s in SPLITS if (root / s).is_dir()]
    entries = _list_entries(root, split_names)
    csv_path = root / LABELS_CSV
    labels = _read_labels(csv_path) if csv_path.is_file() else None
    num_joints, dims = _first_shape(root, entries, score_channel)
    layout = resolve_layout(layout, num_joints, dims, str(root))
    splits = {s: [e.name for e in entries if e.split == s] for s in split_names}
    samples = _samples(entries, labels, (num_joints, dims), score_channel)
    return KeypointSource("npz", layout, ("x", "y", "z")[:dims], samples, splits)


def _list_entries(root: Path, split_names: list[str]) -> list[_Entry]:
    """Every file of each split folder (or of the root) and of its class subfolders."""
    found: list[tuple[Path, str, str | None]] = []
    for split in split_names or [""]:
        folder = root / split
        for child in sorted(folder.iterdir()):
            if child.name.startswith(".") or (folder == root and child.name == LABELS_CSV):
                continue
            if child.is_dir():
                found += [(f, split, child.name) for f in sorted(child.iterdir()) if f.is_file()]
            else:
                found.append((child, split, None))
    classes = sorted({c for _, _, c in found if c is not None})
    numeric = all(c.isdigit() for c in classes)
    index = {c: int(c) if numeric else i for i, c in enumerate(classes)}
    return [
        _Entry(f.stem, f, split, None if c is None else index[c])
        for f, split, c in found
        if not f.name.startswith(".")
    ]


def _read_labels(path: Path) -> dict[str, int]:
    """labels.csv -> {name: label}; a bad row is a SourceError naming its line."""
    labels: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.reader(fh), start=1):
            cells = [c.strip() for c in row]
            if not any(cells) or (line == 1 and [c.lower() for c in cells] == ["name", "label"]):
                continue
            if len(cells) != 2 or not cells[1].isdigit():
                raise SourceError(f"{path}:{line}: expected 'name,label' with label >= 0: {row}")
            name = cells[0].removesuffix(".npz")
            if name in labels:
                raise SourceError(f"{path}:{line}: {name!r} is listed twice")
            labels[name] = int(cells[1])
    return labels


def _first_shape(root: Path, entries: list[_Entry], score_channel: bool) -> tuple[int, int]:
    """(N, D) of the first readable file, D without the score channel."""
    problem = "no files"
    for entry in entries:
        arrays = _read(entry.path, score_channel)
        if not isinstance(arrays, str):
            return int(arrays[0].shape[2]), int(arrays[0].shape[3])
        problem = f"{entry.path}: {arrays}"
    raise SourceError(f"{root}: no readable npz file with poses (last problem: {problem})")


def _samples(
    entries: list[_Entry],
    labels: dict[str, int] | None,
    shape: tuple[int, int],
    score_channel: bool,
) -> Iterator[KeypointSample | Rejected]:
    seen: set[str] = set()
    for entry in entries:
        label = entry.label if labels is None else labels.get(entry.name)
        result = _read(entry.path, score_channel)
        if not isinstance(result, str) and result[0].shape[2:] != shape:
            got = result[0].shape[2:]
            result = f"{got[0]} joints x {got[1]} channels, the first file has {shape}"
        if entry.name in seen or not entry.name.isascii():
            result = "duplicate sample name" if entry.name in seen else "name is not ASCII"
        if labels is not None and label is None:
            result = f"no label in {LABELS_CSV}"
        if isinstance(result, str):
            yield Rejected(entry.name, str(entry.path), None, result, "ingest")
            continue
        seen.add(entry.name)
        keypoint, score, mask = result
        yield KeypointSample(entry.name, keypoint, score, label, mask)


def _read(path: Path, score_channel: bool) -> _Arrays | str:
    """keypoint (M, T, N, D), score (M, T, N) | None and mask (T,) | None, or the problem."""
    if path.suffix != ".npz":
        return "not an .npz file"
    if not zipfile.is_zipfile(path):
        return "not an npz (zip) archive"
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "poses" not in npz.files:
                return f"no 'poses' array (has {sorted(npz.files)})"
            poses = npz["poses"]
            mask = npz["mask"] if "mask" in npz.files else None
    except Exception as err:  # untrusted bytes: any failure to read is a bad file
        return f"unreadable npz ({type(err).__name__}: {err})"
    if poses.dtype.kind not in "fiu" or poses.ndim not in (3, 4) or 0 in poses.shape:
        return f"poses {poses.dtype} {poses.shape}, expected numeric (T, N, D) or (T, M, N, D)"
    keypoint = (poses[None] if poses.ndim == 3 else poses.transpose(1, 0, 2, 3)).astype(np.float32)
    score = None
    if score_channel:
        keypoint, score = keypoint[..., :-1], np.ascontiguousarray(keypoint[..., -1])
    if keypoint.shape[3] not in (2, 3):
        return f"{keypoint.shape[3]} coordinate channels, expected 2 or 3 (poses {poses.shape})"
    bad = np.count_nonzero(~np.isfinite(keypoint)) + (
        0 if score is None else np.count_nonzero(~np.isfinite(score))
    )
    if bad:
        return f"poses has {bad} NaN/inf values"
    if mask is not None:
        if mask.shape != (keypoint.shape[1],) or not np.isin(mask, (0, 1)).all():
            return f"mask {mask.dtype} {mask.shape}, expected (T,) = ({keypoint.shape[1]},) of 0/1"
        mask = mask.astype(bool)
    return np.ascontiguousarray(keypoint), score, mask
