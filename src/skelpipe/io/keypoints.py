"""The common form every keypoint importer returns (PYSKL pickles, npz folders, MARS, MM-Fi).

An importer reads coordinates as they are in the file (alignment is the align stage's job) and
hands back one :class:`KeypointSource`: the layout, the channel names, the benchmark splits the
source defines, and an iterator of samples and rejected rows in source order. A source that is
unusable as a whole (missing folder, not a pickle, no annotations) raises
:class:`SourceError`; a bad sample becomes a :class:`~skelpipe.io.raw_sources.Rejected` row and
every good sample is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from skelpipe.io.raw_sources import Rejected


class SourceError(ValueError):
    """A source that cannot be imported at all; the message names the file and the reason."""


@dataclass
class KeypointSample:
    """One imported sample.

    Attributes:
        name: unique ASCII name (PYSKL's ``frame_dir``, an npz file's stem, ...).
        keypoint: (M, T, V, C) float32 coordinates as read (C = 2 or 3).
        score: (M, T, V) float32 keypoint confidences, or None when the source has none.
        label: 0-based class, or None for unlabelled data (a tokenizer needs no labels).
        mask: (T,) bool frames that hold data, or None when every frame does.
        img_shape: (height, width) of the image the 2-D coordinates refer to, or None.
    """

    name: str
    keypoint: np.ndarray
    score: np.ndarray | None = None
    label: int | None = None
    mask: np.ndarray | None = None
    img_shape: tuple[int, int] | None = None

    @property
    def num_frames(self) -> int:
        return int(self.keypoint.shape[1])


@dataclass
class KeypointSource:
    """An opened source: its metadata and the lazily read samples.

    Attributes:
        format: importer name (``pyskl``, ``npz``, ``mars``, ``mmfi``).
        layout: :data:`skelpipe.skeleton.LAYOUTS` key.
        channels: coordinate names, e.g. ``("x", "y")`` or ``("x", "y", "z")``.
        splits: split name -> sample names, in the source's own naming (PYSKL's ``xsub_train``,
            an npz folder's ``train`` / ``val`` / ``test``); empty when the source has none.
        samples: yields each sample or the Rejected row that replaced it, in source order.
        dtype: the coordinates' dtype in the source (PYSKL writes float16): exports cast back.
    """

    format: str
    layout: str
    channels: tuple[str, ...]
    samples: Iterator[KeypointSample | Rejected]
    splits: dict[str, list[str]] = field(default_factory=dict)
    dtype: str = "float32"


# Layouts a source's joint count identifies; 17 joints are COCO in 2-D and Human3.6M in 3-D.
_LAYOUT_BY_SHAPE = {(17, 2): "coco17", (17, 3): "h36m17"}
_LAYOUT_BY_JOINTS = {
    25: "ntu25",
    20: "ucla20",
    18: "openpose18",
    19: "mars19",
    133: "coco_wholebody133",
}


def resolve_layout(layout: str | None, num_joints: int, dims: int, source: str) -> str:
    """The layout named by the user (checked against the file's joint count), or the one its
    ``num_joints`` (and, for 17 joints, ``dims``) identifies.

    Raises:
        SourceError: unknown layout, a joint count that does not match it, or none to infer.
    """
    if layout is None:
        inferred = _LAYOUT_BY_SHAPE.get((num_joints, dims), _LAYOUT_BY_JOINTS.get(num_joints))
        if inferred is None:
            known = sorted({*_LAYOUT_BY_JOINTS, *(v for v, _ in _LAYOUT_BY_SHAPE)})
            raise SourceError(
                f"{source}: cannot infer the layout of {num_joints} joints in {dims}-D (known "
                f"joint counts: {known}); pass layout="
            )
        return inferred
    from skelpipe.skeleton import get_layout

    try:
        expected = get_layout(layout).num_joints
    except ValueError as err:
        raise SourceError(f"{source}: {err}") from None
    if expected != num_joints:
        raise SourceError(f"{source}: layout {layout!r} has {expected} joints, data {num_joints}")
    return layout
