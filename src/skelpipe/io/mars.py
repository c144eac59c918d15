"""MARS mmWave-radar pose labels (An & Ogras, "MARS: mmWave-based Assistive Rehabilitation System
for Smart Healthcare", ACM TECS 2021): Kinect V2 ground truth reduced to 19 joints.

The release has ``labels_train.npy``, ``labels_validate.npy`` and ``labels_test.npy``, each
(N, 57) float64 per frame: ``[x0..x18, y0..y18, z0..z18]`` in metres, y = depth, z = up. They are
kept as stored (layout ``mars19``, channels x, y, z) and cut into clips of ``clip_frames``
consecutive frames. MARS has no sequence boundaries in these files, so a clip can straddle two
recordings; the last, shorter clip of each file is kept (any length >= 1: no frame is lost; a
consumer that needs fixed lengths can drop it by ``num_frames``). MARS has no action labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from skelpipe.io.keypoints import KeypointSample, KeypointSource, SourceError
from skelpipe.io.raw_sources import Rejected

SPLIT_FILES = {
    "train": "labels_train.npy",
    "validate": "labels_validate.npy",
    "test": "labels_test.npy",
}
NUM_JOINTS = 19
LAYOUT = "mars19"


def _clip_name(split: str, index: int) -> str:
    """``mars_train_000123``: the split and the clip's 0-based index in that split's file."""
    return f"mars_{split}_{index:06d}"


def open_mars(path: str | Path, clip_frames: int) -> KeypointSource:
    """Open a MARS folder: clips with keypoint (1, T, 19, 3) float32, T = clip_frames (the last
    clip of each file may be shorter), label None.

    The files are memory-mapped, so only one clip at a time is in memory. Splits are
    ``train`` / ``validate`` / ``test`` for the files present, each listing every clip name.

    Raises:
        SourceError: not a folder, none of the three files there, a file that is not a numeric
            (N, 57) ``.npy``, or clip_frames < 1.
    """
    root = Path(path)
    if not isinstance(clip_frames, int) or clip_frames < 1:
        raise SourceError(f"{root}: clip_frames must be an integer >= 1, got {clip_frames!r}")
    if not root.is_dir():
        raise SourceError(f"{root}: not a folder")
    frames = {s: _open_frames(root / f) for s, f in SPLIT_FILES.items() if (root / f).is_file()}
    if not frames:
        raise SourceError(f"{root}: none of {sorted(SPLIT_FILES.values())} is there")
    splits = {
        split: [_clip_name(split, i) for i in range(-(-len(data) // clip_frames))]
        for split, data in frames.items()
    }
    samples = _samples(root, frames, clip_frames)
    return KeypointSource("mars", LAYOUT, ("x", "y", "z"), samples, splits)


def _open_frames(path: Path) -> np.ndarray:
    """The (N, 57) array, memory-mapped."""
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as err:  # untrusted bytes: any failure to read is a bad file
        raise SourceError(f"{path}: not a readable .npy ({type(err).__name__}: {err})") from None
    if not isinstance(data, np.ndarray):
        data.close()
        raise SourceError(f"{path}: an .npz archive, not an .npy array")
    if data.dtype.kind not in "fiu" or data.ndim != 2 or data.shape[1] != 3 * NUM_JOINTS:
        raise SourceError(
            f"{path}: {data.dtype} array of shape {data.shape}, expected numeric (N, 57) "
            "= [x0..x18, y0..y18, z0..z18] per frame"
        )
    return data


def _samples(
    root: Path, frames: dict[str, np.ndarray], clip_frames: int
) -> Iterator[KeypointSample | Rejected]:
    for split, data in frames.items():
        source = str(root / SPLIT_FILES[split])
        for index, start in enumerate(range(0, len(data), clip_frames)):
            rows = np.asarray(data[start : start + clip_frames], dtype=np.float32)  # (T, 57)
            keypoint = rows.reshape(len(rows), 3, NUM_JOINTS).transpose(0, 2, 1)  # (T, 19, 3)
            name = _clip_name(split, index)
            bad = int(np.count_nonzero(~np.isfinite(keypoint)))
            if bad:
                reason = f"{bad} NaN/inf values in frames {start}..{start + len(rows) - 1}"
                yield Rejected(name, source, None, reason, "ingest")
                continue
            yield KeypointSample(name, np.ascontiguousarray(keypoint[None]), None, None)
