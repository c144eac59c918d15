"""The sample store: zarr v3 with the sharding codec, ragged frames, metadata and splits.

Layout of ``store.zarr``::

    joints            (n_shards * shard_frames, M, V, 3) float32, sharded: one file per shard,
                      inner chunks of ``chunk_frames`` frames, blosc (lz4 or zstd, shuffle)
    samples/frame_start, n_frames (S,) int64 -- rows of each sample in ``joints`` (no padding;
                      a sample never straddles a shard, so reading one touches one shard file)
    samples/name      (S, 32) uint8 -- ASCII names, zero padded (portable, no unstable dtype)
    samples/label, action, subject, camera, setup, replication, n_actors (S,) int
    splits/<benchmark>/train|val|test  int64 sample indices (reference row order)

Group attributes: layout, dataset, num_classes, benchmarks, shard_frames, chunk_frames; a store of
imported keypoints (:mod:`skelpipe.store.ingest`) adds channels, source_format, source_dtype and
may have C = 2 channels and a ``scores`` array; a store of NTU image coordinates
(``denoise.coords``) adds channels (x, y), coords and image_size (height, width of the camera
image, before alignment scaled it to [-1, 1]). Without a ``channels`` attribute C is (x, y, z).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from skelpipe.datasets import get_dataset
from skelpipe.io.h5store import Sequence
from skelpipe.io.ntu_format import COORDS, IMAGE_SIZE
from skelpipe.params import ShardParams
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import Layout
from skelpipe.store.splits import BENCHMARKS, benchmark_split, validation_fold

if TYPE_CHECKING:
    from skelpipe.store.ingest import ImportedFormat

NAME_BYTES = 32
META_COLUMNS = ("label", "action", "subject", "camera", "setup", "replication", "n_actors")


class ShardError(ValueError):
    """A sample that cannot go into the store (label out of range, too long for a shard)."""


@dataclass
class _Pending:
    buffers: dict[str, np.ndarray]  # array name -> (shard_frames, *row shape)
    used: int = 0
    index: int = 0


class StoreWriter:
    """Append sequences shard by shard (a shard is written once, whole), then metadata.

    Two kinds of input: :meth:`append` takes a pipeline :class:`Sequence` whose name carries the
    metadata (NTU, NW-UCLA); :meth:`append_keypoints` an imported sample with explicit label,
    channels and optional per-keypoint scores (:mod:`skelpipe.store.ingest`).
    """

    def __init__(
        self,
        path: Path,
        layout: Layout,
        params: ShardParams,
        max_shards: int | None,
        imported: ImportedFormat | None = None,
        coords: str = "xyz",
    ) -> None:
        """``max_shards``: an upper bound on the shards needed (see :func:`shards_needed`), or
        None when it is unknown (a streamed import): the arrays then grow between shard writes;
        ``imported``: channels / scores of imported keypoints (None: a registered dataset, whose
        ``coords`` are x, y, z or a 2-D image frame, :data:`skelpipe.io.ntu_format.COORDS`).
        """
        if params.shard_frames % params.chunk_frames:
            raise ShardError("shard.shard_frames must be a multiple of shard.chunk_frames")
        self.params, self.layout, self.imported = params, layout, imported
        self.coords = coords
        self.root = zarr.open_group(str(path), mode="w")
        channels = len(COORDS[coords]) if imported is None else len(imported.channels)
        self.row_shape = (layout.max_persons, layout.num_joints, channels)
        shapes = {"joints": self.row_shape}
        if imported is not None and imported.scores:
            shapes["scores"] = self.row_shape[:2]
        # sized for the worst case up front, trimmed in close(): shard writes never race a resize
        self.arrays = {
            key: self.root.create_array(
                key,
                shape=((max_shards or 1) * params.shard_frames, *shape),
                dtype="float32",
                chunks=(params.chunk_frames, *shape),
                shards=(params.shard_frames, *shape),
                compressors=_compressors(params),
                fill_value=0.0,
            )
            for key, shape in shapes.items()
        }
        self.joints = self.arrays["joints"]
        self.pending = _Pending(
            {
                k: np.zeros((params.shard_frames, *a.shape[1:]), np.float32)
                for k, a in self.arrays.items()
            }
        )
        self.max_shards = max_shards
        self.writer = ThreadPoolExecutor(max_workers=1)  # compress + write while reading goes on
        self.in_flight: Future | None = None
        self.meta: dict[str, list[int]] = {
            k: [] for k in ("frame_start", "n_frames", *META_COLUMNS)
        }
        self.names: list[str] = []

    def append(self, seq: Sequence) -> None:
        """Add one sample. Raises ShardError for samples the store cannot hold."""
        sid = SampleId.from_name(seq.name)
        label = sid.label()
        if not 0 <= label < get_dataset(self.params.dataset).num_classes:
            raise ShardError(
                f"{seq.name}: action {sid.action} is not a {self.params.dataset} class"
            )
        columns = (label, sid.action, sid.subject, sid.camera, sid.setup, sid.replication)
        self._append(seq.name, {"joints": seq.joints}, (*columns, seq.n_actors))

    def append_keypoints(
        self,
        name: str,
        joints: np.ndarray,
        label: int,
        n_actors: int,
        scores: np.ndarray | None = None,
        columns: dict[str, int] | None = None,
    ) -> None:
        """Add one imported sample: joints (T, M, V, C) float32 (M = the layout's persons),
        scores (T, M, V) when the store keeps them; ``columns``: known metadata (subject, ...),
        the others are stored as -1."""
        rows = {"joints": joints}
        if "scores" in self.arrays:
            rows["scores"] = np.zeros(joints.shape[:3], np.float32) if scores is None else scores
        known = columns or {}
        values = [label] + [known.get(k, -1) for k in META_COLUMNS[1:-1]] + [n_actors]
        self._append(name, rows, tuple(values))

    def _append(self, name: str, rows: dict[str, np.ndarray], values: tuple[int, ...]) -> None:
        n = len(rows["joints"])
        sf = self.params.shard_frames
        if n > sf:
            raise ShardError(f"{name}: {n} frames exceed shard.shard_frames={sf}")
        if self.pending.used + n > sf:
            self._flush()
        p = self.pending
        for key, arr in rows.items():
            p.buffers[key][p.used : p.used + n] = arr
        start = p.index * sf + p.used
        p.used += n
        for key, value in zip(self.meta, (start, n, *values), strict=True):
            self.meta[key].append(value)
        self.names.append(name)

    def _flush(self) -> None:
        """Hand the full shard to the writer thread (one in flight) and start fresh buffers."""
        p, sf = self.pending, self.params.shard_frames
        if p.used == 0:
            return
        self._wait()
        if self.max_shards is None:  # grow while no shard write is in flight
            self._grow((p.index + 1) * sf)
        elif p.index >= self.max_shards:
            raise ShardError(f"more than max_shards={self.max_shards} shards needed")
        region = slice(p.index * sf, (p.index + 1) * sf)
        full = p.buffers
        self.in_flight = self.writer.submit(self._write_shard, region, full)
        p.buffers = {k: np.zeros_like(b) for k, b in full.items()}
        p.used, p.index = 0, p.index + 1

    def _grow(self, rows: int) -> None:
        for arr in self.arrays.values():
            if arr.shape[0] < rows:
                arr.resize((max(rows, 2 * arr.shape[0]), *arr.shape[1:]))

    def _write_shard(self, region: slice, buffers: dict[str, np.ndarray]) -> None:
        for key, buf in buffers.items():
            self.arrays[key][region] = buf

    def _wait(self) -> None:
        if self.in_flight is not None:
            self.in_flight.result()
            self.in_flight = None

    def close(self) -> dict[str, int]:
        """Write the last shard, metadata and splits; returns counts for metrics."""
        self._flush()
        self._wait()
        self.writer.shutdown()
        rows = self.pending.index * self.params.shard_frames
        for arr in self.arrays.values():
            arr.resize((rows, *arr.shape[1:]))
        g = self.root.create_group("samples")
        for key, values in self.meta.items():
            g.create_array(key, data=np.asarray(values, dtype=np.int64))
        g.create_array("name", data=encode_names(self.names))
        if self.imported is None:
            counts = self._write_splits()
            dataset = get_dataset(self.params.dataset)
            attrs = {
                "layout": self.layout.name,
                "dataset": self.params.dataset,
                "num_classes": dataset.num_classes,
                "benchmarks": list(dataset.benchmarks),
            }
            if self.coords != "xyz":
                size = IMAGE_SIZE[self.coords]
                attrs.update(channels=["x", "y"], coords=self.coords, image_size=list(size))
        else:
            counts, attrs = self._write_imported_splits(), self.imported.attrs(self.layout)
        self.root.attrs.update(
            {
                **attrs,
                "shard_frames": self.params.shard_frames,
                "chunk_frames": self.params.chunk_frames,
                "n_samples": len(self.names),
            }
        )
        counts.update(
            n_samples=len(self.names),
            n_shards=self.pending.index,
            n_frames=int(np.sum(self.meta["n_frames"], dtype=np.int64)),
        )
        return counts

    def _write_splits(self) -> dict[str, int]:
        cols = {k: np.asarray(self.meta[k]) for k in ("subject", "camera", "setup")}
        splits = self.root.create_group("splits")
        counts: dict[str, int] = {}
        v = self.params.validation
        for bname in get_dataset(self.params.dataset).benchmarks:
            train, test = benchmark_split(BENCHMARKS[bname], cols)
            train, val = validation_fold(train, cols["subject"], v.fraction, v.seed, v.group_by)
            counts.update(
                self._write_split(splits, bname, {"train": train, "val": val, "test": test})
            )
        return counts

    def _write_split(
        self, group: zarr.Group, name: str, parts: dict[str, np.ndarray]
    ) -> dict[str, int]:
        g = group.create_group(name)
        for part, idx in parts.items():
            g.create_array(part, data=np.asarray(idx, dtype=np.int64))
        return {f"n_{name}_{part}": int(np.size(idx)) for part, idx in parts.items()}

    def _write_imported_splits(self) -> dict[str, int]:
        """The source's own splits verbatim (``source_splits/<name>``, source order) and the
        train / val / test benchmarks derived from them (:meth:`ImportedFormat.benchmarks`)."""
        assert self.imported is not None
        index = {n: i for i, n in enumerate(self.names)}
        source = self.root.create_group("source_splits")
        kept: dict[str, np.ndarray] = {}
        for split, names in self.imported.splits.items():
            kept[split] = np.asarray([index[n] for n in names if n in index], dtype=np.int64)
            source.create_array(split, data=kept[split])
        splits = self.root.create_group("splits")
        counts: dict[str, int] = {}
        v = self.params.validation
        subjects = np.asarray(self.meta["subject"])
        for bname, parts in self.imported.benchmarks(kept).items():
            if "val" not in parts:
                group_by = v.group_by if (subjects[parts["train"]] >= 0).all() else "sample"
                parts["train"], parts["val"] = validation_fold(
                    parts["train"], subjects, v.fraction, v.seed, group_by
                )
            counts.update(self._write_split(splits, bname, parts))
        return counts


def shards_needed(n_frames: np.ndarray, shard_frames: int) -> int:
    """Upper bound on the shards the greedy packing uses for samples of ``n_frames`` frames."""
    if len(n_frames) == 0:
        return 1
    room = max(shard_frames - int(np.max(n_frames)) + 1, 1)  # each shard wastes < max length
    return int(np.ceil(np.sum(n_frames) / room)) + 1


def _compressors(params: ShardParams) -> list[BloscCodec]:
    if params.compressor == "none":
        return []
    return [BloscCodec(cname=params.compressor, clevel=params.compression_level, shuffle="shuffle")]


def encode_names(names: Iterable[str]) -> np.ndarray:
    """Names -> (S, 32) uint8, zero padded."""
    raw = [n.encode("ascii") for n in names]
    if any(len(b) > NAME_BYTES for b in raw):
        raise ShardError(f"sample names longer than {NAME_BYTES} bytes")
    return np.frombuffer(b"".join(b.ljust(NAME_BYTES, b"\0") for b in raw), dtype=np.uint8).reshape(
        -1, NAME_BYTES
    )


def decode_names(arr: np.ndarray) -> list[str]:
    """(S, 32) uint8 -> names."""
    return [bytes(row).rstrip(b"\0").decode("ascii") for row in np.asarray(arr, dtype=np.uint8)]
