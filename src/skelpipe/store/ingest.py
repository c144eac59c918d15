"""Imported keypoints -> the sample store (the same zarr layout the shard stage writes).

An importer (:mod:`skelpipe.io.pyskl`, :mod:`~skelpipe.io.npz_folder`, :mod:`~skelpipe.io.mars`,
:mod:`~skelpipe.io.mmfi`) yields :class:`~skelpipe.io.keypoints.KeypointSample` objects; this
module writes them as read (no alignment) with what a round trip needs: the channels, the source
dtype, per-keypoint scores, image shapes, the persons each sample really has and the source's
own splits verbatim (``source_splits/<name>``, source order). Training benchmarks are derived from
the split names: ``<b>_train`` / ``<b>_val`` / ``<b>_test`` (or bare ``train`` / ``val`` /
``test``, benchmark ``default``) become ``splits/<b>/train|val|test``; when a benchmark has no
validation part, one is carved from its training part as for NTU (``shard.validation``).

Layout of the extra arrays (beside those of :mod:`skelpipe.store.shards`)::

    scores            (rows, M, V) float32 -- only when the source has keypoint scores
    source_meta/img_height, img_width (S,) int64 -- the 2-D image size (-1: none)
    source_splits/<name>  int64 sample indices in the source's order
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zarr

from skelpipe.io.keypoints import KeypointSample, KeypointSource, SourceError
from skelpipe.io.raw_sources import Rejected
from skelpipe.params import ShardParams
from skelpipe.sample_id import SampleId, SampleNameError
from skelpipe.skeleton import Layout, get_layout
from skelpipe.store.reader import SampleStore, store_splits
from skelpipe.store.shards import NAME_BYTES, ShardError, StoreWriter

PARTS = {"train": "train", "val": "val", "validate": "val", "valid": "val", "test": "test"}
SHAPE_KEYS = ("img_height", "img_width")


@dataclass
class ImportedFormat:
    """What the store records about an imported source (see the module docstring)."""

    format: str
    channels: tuple[str, ...]
    scores: bool
    source_dtype: str
    splits: dict[str, list[str]]
    val_is_test: bool  # PYSKL evaluates on its "val" split: it is the test set
    num_classes: int = 0
    n_persons: list[int] = field(default_factory=list)

    def attrs(self, layout: Layout) -> dict:
        """Group attributes of the store."""
        return {
            "layout": layout.name,
            "dataset": f"imported:{self.format}",
            "num_classes": self.num_classes,
            "benchmarks": sorted(self.benchmark_parts()),
            "channels": list(self.channels),
            "source_format": self.format,
            "source_dtype": self.source_dtype,
        }

    def benchmark_parts(self) -> dict[str, dict[str, str]]:
        """benchmark -> part -> source split name, from the split names."""
        out: dict[str, dict[str, str]] = {}
        for split in self.splits:
            bench, _, part = split.rpartition("_")
            part = PARTS.get(part.lower(), "")
            if not part:
                continue
            if part == "val" and self.val_is_test:
                part = "test"
            out.setdefault(bench or "default", {})[part] = split
        return out

    def benchmarks(self, kept: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
        """benchmark -> part -> sample indices (``kept``: source split -> indices)."""
        empty = np.zeros(0, dtype=np.int64)
        return {
            bench: {
                p: kept.get(parts[p], empty) if p in parts else empty for p in ("train", "test")
            }
            | ({"val": kept[parts["val"]]} if "val" in parts else {})
            for bench, parts in self.benchmark_parts().items()
        }


def ingest_source(
    source: KeypointSource,
    out: Path,
    params: ShardParams,
    transform: Callable[[KeypointSample], KeypointSample] | None = None,
) -> tuple[dict[str, int], list[Rejected]]:
    """Write every good sample of ``source`` to the store ``out``, through ``transform`` when
    given (the align stage's: :func:`skelpipe.preprocess.align.align_keypoints`).

    Returns:
        (counts for metrics, rejected rows: the source's own and the samples the store refused).

    Raises:
        SourceError: the source holds no usable sample.
    """
    layout = get_layout(source.layout)
    rejected: list[Rejected] = []
    samples = _good(source.samples, rejected)
    if transform is not None:
        samples = _transformed(samples, transform, rejected, source.format)
    first = next(samples, None)
    if first is None:
        raise SourceError(f"{source.format} source: no usable sample ({len(rejected)} rejected)")
    fmt = ImportedFormat(
        format=source.format,
        channels=tuple(source.channels),
        scores=first.score is not None,
        source_dtype=source.dtype,
        splits=source.splits,
        val_is_test=source.format == "pyskl",
    )
    writer = StoreWriter(out, layout, params, None, imported=fmt)
    shapes: dict[str, list[int]] = {k: [] for k in SHAPE_KEYS}
    labels, dropped = [], 0
    for s in itertools.chain([first], samples):
        try:
            joints, scores, n_persons = _to_rows(s, layout, len(fmt.channels))
            writer.append_keypoints(
                s.name, joints, -1 if s.label is None else s.label, n_persons, scores, _columns(s)
            )
        except ShardError as err:
            rejected.append(Rejected(s.name, source.format, None, str(err), "ingest"))
            continue
        dropped += max(s.keypoint.shape[0] - layout.max_persons, 0)
        labels.append(-1 if s.label is None else s.label)
        for key, value in zip(SHAPE_KEYS, _shapes(s), strict=True):
            shapes[key].append(value)
    fmt.num_classes = max(labels, default=-1) + 1
    counts = writer.close()
    meta = zarr.open_group(str(out), mode="a").create_group("source_meta")
    for key, values in shapes.items():
        meta.create_array(key, data=np.asarray(values, dtype=np.int64))
    counts.update(n_rejected=len(rejected), n_persons_dropped=dropped)
    return counts, rejected


def mark_aligned(path: Path, img_shapes: set[tuple[int, int] | None]) -> None:
    """Record in an aligned store that its coordinates were aligned and, when every 2-D sample
    came from one image size, that size (``image_size``: errors are then reported in its
    pixels, :func:`skelpipe.tokenizer.metrics.store_units`)."""
    root = zarr.open_group(str(path), mode="a")
    attrs: dict = {"aligned": True}
    if len(img_shapes) == 1 and None not in img_shapes:
        attrs["image_size"] = list(next(iter(img_shapes)))
    root.attrs.update(attrs)


def store_source(store: SampleStore) -> KeypointSource:
    """A store written by :func:`ingest_source` read back as the source it came from: the same
    format, layout, channels, split lists and samples (persons as imported, labels, scores,
    image shapes), one sample at a time."""
    a = store.attrs
    if "source_format" not in a:
        raise SourceError(f"{store.path}: not a store of imported keypoints (no source_format)")

    def samples() -> Iterator[KeypointSample]:
        for i in range(len(store)):
            m = max(int(store.meta["n_actors"][i]), 1)
            score = store.scores(i)
            label = int(store.meta["label"][i])
            yield KeypointSample(
                name=store.names[i],
                keypoint=store.sample(i)[:, :m].transpose(1, 0, 2, 3),
                score=None if score is None else score[:, :m].transpose(1, 0, 2),
                label=None if label < 0 else label,
                img_shape=store.img_shape(i),
            )

    return KeypointSource(
        format=str(a["source_format"]),
        layout=str(a["layout"]),
        channels=tuple(a["channels"]),
        samples=samples(),
        splits=store_splits(store),
        dtype=str(a.get("source_dtype", "float32")),
    )


def _transformed(
    samples: Iterator[KeypointSample],
    transform: Callable[[KeypointSample], KeypointSample],
    rejected: list[Rejected],
    source: str,
) -> Iterator[KeypointSample]:
    for s in samples:
        try:
            yield transform(s)
        except ValueError as err:
            rejected.append(Rejected(s.name, source, None, str(err), "align"))


def _good(
    items: Iterator[KeypointSample | Rejected], rejected: list[Rejected]
) -> Iterator[KeypointSample]:
    for item in items:
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            yield item


def _to_rows(
    s: KeypointSample, layout: Layout, channels: int
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(M, T, V, C) sample -> (T, M', V, C) rows with M' = the layout's persons, the scores
    likewise, and the persons kept. Frames whose mask is False (padding) are dropped."""
    m, _, v, c = s.keypoint.shape
    if v != layout.num_joints or c != channels:
        raise ShardError(
            f"{s.name}: keypoints {s.keypoint.shape[2:]} do not match the source's "
            f"({layout.num_joints} joints of layout {layout.name}, {channels} channels)"
        )
    if not s.name.isascii() or len(s.name.encode()) > NAME_BYTES:
        raise ShardError(f"{s.name!r}: names must be ASCII of at most {NAME_BYTES} bytes")
    keep = slice(None) if s.mask is None else np.asarray(s.mask, dtype=bool)
    kp = np.asarray(s.keypoint, dtype=np.float32)[:, keep]
    if kp.shape[1] == 0:
        raise ShardError(f"{s.name}: no frame holds data")
    k = min(m, layout.max_persons)
    joints = np.zeros((kp.shape[1], layout.max_persons, v, c), np.float32)  # (T, M, V, C)
    joints[:, :k] = kp[:k].transpose(1, 0, 2, 3)
    scores = None
    if s.score is not None:
        sc = np.asarray(s.score, dtype=np.float32)[:, keep]
        scores = np.zeros(joints.shape[:3], np.float32)  # (T, M, V)
        scores[:, :k] = sc[:k].transpose(1, 0, 2)
    return joints, scores, k


def _columns(s: KeypointSample) -> dict[str, int]:
    """NTU metadata when the name is an NTU sample name (PYSKL's NTU pickles), else none."""
    try:
        sid = SampleId.from_name(s.name)
    except SampleNameError:
        return {}
    fields = ("action", "subject", "camera", "setup", "replication")
    return {k: int(getattr(sid, k)) for k in fields}


def _shapes(s: KeypointSample) -> tuple[int, int]:
    h, w = s.img_shape if s.img_shape is not None else (-1, -1)
    return int(h), int(w)
