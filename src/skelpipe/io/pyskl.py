"""PYSKL annotation pickles (``ntu60_hrnet.pkl``, ``ntu60_3danno.pkl``, ...), read safely.

The pickle is ``{"split": {name: [frame_dir, ...]}, "annotations": [ann, ...]}`` where each ``ann``
holds ``frame_dir``, ``label``, ``keypoint`` (M, T, V, C) with C = 2 or 3, optionally
``keypoint_score`` (M, T, V), ``img_shape`` (h, w), ``original_shape`` and ``total_frames``
(PYSKL ``tools/data/README.md``). It is loaded with :func:`~skelpipe.io.safe_pickle.load_pickle`,
so it can hold numpy data only, never code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from skelpipe.io.keypoints import KeypointSample, KeypointSource, SourceError, resolve_layout
from skelpipe.io.raw_sources import Rejected
from skelpipe.io.safe_pickle import load_pickle

# (V, C) -> layout of the pickles PYSKL publishes: NTU Kinect 3-D, HRNet COCO 2-D, OpenPose 2-D,
# COCO-WholeBody 2-D; 17 joints in 3-D are the Human3.6M skeleton (as in the npz importer).
_CHANNELS = {2: ("x", "y"), 3: ("x", "y", "z")}
_REQUIRED = ("frame_dir", "label", "keypoint")


def open_pyskl(path: str | Path, layout: str | None = None) -> KeypointSource:
    """Open a PYSKL pickle: samples with keypoint (M, T, V, C) float32, score (M, T, V) or None.

    Args:
        path: the ``.pkl`` file (read whole; see :func:`load_pickle`).
        layout: layout name; None infers it from the first annotation's (V, C).

    Raises:
        SourceError: unsafe or unreadable pickle, not the PYSKL structure, no annotation with a
            usable keypoint array, or a layout that cannot be inferred / does not fit V.
    """
    source = str(path)
    annotations, splits = _structure(load_pickle(path), source)
    num_joints, dims = _first_shape(annotations, source)
    layout = resolve_layout(layout, num_joints, dims, source)
    samples = _samples(annotations, source, (num_joints, dims))
    dtype = str(_first_dtype(annotations))
    return KeypointSource("pyskl", layout, _CHANNELS[dims], samples, splits, dtype=dtype)


def _structure(data: Any, source: str) -> tuple[list[Any], dict[str, list[str]]]:
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise SourceError(f"{source}: not a PYSKL pickle (no dict with an annotations list)")
    split = data.get("split", {})
    if not isinstance(split, dict) or not all(
        isinstance(names, list | tuple) and all(isinstance(n, str) for n in names)
        for names in split.values()
    ):
        raise SourceError(f"{source}: 'split' is not a dict of split name -> list of frame_dir")
    return data["annotations"], {str(k): list(v) for k, v in split.items()}


def _first_shape(annotations: list[Any], source: str) -> tuple[int, int]:
    """(V, C) of the first annotation whose keypoint is a (M, T, V, 2 | 3) array."""
    for ann in annotations:
        kp = ann.get("keypoint") if isinstance(ann, dict) else None
        if isinstance(kp, np.ndarray) and kp.ndim == 4 and kp.shape[3] in _CHANNELS:
            return int(kp.shape[2]), int(kp.shape[3])
    raise SourceError(f"{source}: no annotation has a keypoint array of shape (M, T, V, 2 | 3)")


def _first_dtype(annotations: list[Any]) -> np.dtype:
    """dtype of the first keypoint array (PYSKL writes float16): exports cast back to it."""
    for ann in annotations:
        kp = ann.get("keypoint") if isinstance(ann, dict) else None
        if isinstance(kp, np.ndarray):
            return kp.dtype
    return np.dtype(np.float32)


def _samples(
    annotations: list[Any], source: str, shape: tuple[int, int]
) -> Iterator[KeypointSample | Rejected]:
    first_at: dict[str, int] = {}
    for i, ann in enumerate(annotations):
        where = f"{source} annotation {i}"
        name = ann.get("frame_dir") if isinstance(ann, dict) else None
        result = _to_sample(ann, shape)
        if isinstance(result, KeypointSample) and result.name in first_at:
            result = f"duplicate frame_dir (first at annotation {first_at[result.name]})"
        if isinstance(result, str):
            known = isinstance(name, str) and name
            reason = f"frame_dir {name!r}: {result}" if known else result
            yield Rejected(name if known else f"annotation_{i}", where, None, reason, "ingest")
            continue
        first_at[result.name] = i
        yield result


def _to_sample(ann: Any, shape: tuple[int, int]) -> KeypointSample | str:
    """The sample, or the reason it is rejected."""
    if not isinstance(ann, dict):
        return f"annotation is a {type(ann).__name__}, not a dict"
    missing = [k for k in _REQUIRED if k not in ann]
    if missing:
        return f"missing keys {missing}"
    name, label = ann["frame_dir"], ann["label"]
    if not isinstance(name, str) or not name:
        return f"frame_dir {name!r} is not a non-empty string"
    if isinstance(label, bool) or not isinstance(label, int | np.integer) or label < 0:
        return f"label {label!r} is not an integer >= 0"
    arrays = _arrays(ann, shape)
    if isinstance(arrays, str):
        return arrays
    keypoint, score = arrays
    total = ann.get("total_frames")
    if total is not None and total != keypoint.shape[1]:
        return f"total_frames {total!r} but keypoint has {keypoint.shape[1]} frames"
    img_shape = _img_shape(ann.get("img_shape"))
    if isinstance(img_shape, str):
        return img_shape
    return KeypointSample(name, keypoint, score, int(label), None, img_shape)


def _arrays(ann: dict, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None] | str:
    """keypoint (M, T, V, C) and score (M, T, V) | None as finite float32, or the problem."""
    keypoint = _finite(ann["keypoint"], "keypoint")
    if isinstance(keypoint, str):
        return keypoint
    if keypoint.ndim != 4 or keypoint.shape[2:] != shape or 0 in keypoint.shape:
        return f"keypoint shape {keypoint.shape}, expected (M, T, {shape[0]}, {shape[1]})"
    if ann.get("keypoint_score") is None:
        return keypoint, None
    score = _finite(ann["keypoint_score"], "keypoint_score")
    if isinstance(score, str):
        return score
    if score.shape != keypoint.shape[:3]:
        return f"keypoint_score shape {score.shape}, expected {keypoint.shape[:3]}"
    return keypoint, score


def _finite(value: Any, key: str) -> np.ndarray | str:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
        return f"{key} is not a numeric array"
    out = value.astype(np.float32)
    bad = int(np.count_nonzero(~np.isfinite(out)))
    return f"{key} has {bad} NaN/inf values" if bad else out


def _img_shape(value: Any) -> tuple[int, int] | None | str:
    if value is None:
        return None
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        return f"img_shape {value!r} is not (height, width)"
    return (h, w)
