"""The sample store: zarr v3 with the sharding codec, ragged frames, metadata and splits.

Layout of ``store.zarr``::

    joints            (n_shards * shard_frames, M, V, 3) float32, sharded: one file per shard,
                      inner chunks of ``chunk_frames`` frames, blosc (lz4 or zstd, shuffle)
    samples/frame_start, n_frames (S,) int64 -- rows of each sample in ``joints`` (no padding;
                      a sample never straddles a shard, so reading one touches one shard file)
    samples/name      (S, 32) uint8 -- ASCII names, zero padded (portable, no unstable dtype)
    samples/label, action, subject, camera, setup, replication, n_actors (S,) int
    splits/<benchmark>/train|val|test  int64 sample indices (reference row order)

Group attributes: layout, dataset, num_classes, benchmarks, shard_frames, chunk_frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from skelpipe.datasets import get_dataset
from skelpipe.io.h5store import Sequence
from skelpipe.params import ShardParams
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import Layout
from skelpipe.store.splits import BENCHMARKS, benchmark_split, validation_fold

NAME_BYTES = 32
META_COLUMNS = ("label", "action", "subject", "camera", "setup", "replication", "n_actors")


class ShardError(ValueError):
    """A sample that cannot go into the store (label out of range, too long for a shard)."""


@dataclass
class _Pending:
    buffer: np.ndarray  # (shard_frames, M, V, 3)
    used: int = 0
    index: int = 0


class StoreWriter:
    """Append sequences shard by shard (a shard is written once, whole), then metadata."""

    def __init__(self, path: Path, layout: Layout, params: ShardParams, max_shards: int) -> None:
        """``max_shards``: an upper bound on the shards needed (see :func:`shards_needed`)."""
        if params.shard_frames % params.chunk_frames:
            raise ShardError("shard.shard_frames must be a multiple of shard.chunk_frames")
        self.params, self.layout = params, layout
        self.root = zarr.open_group(str(path), mode="w")
        self.row_shape = (layout.max_persons, layout.num_joints, 3)
        # sized for the worst case up front, trimmed in close(): shard writes never race a resize
        self.joints = self.root.create_array(
            "joints",
            shape=(max_shards * params.shard_frames, *self.row_shape),
            dtype="float32",
            chunks=(params.chunk_frames, *self.row_shape),
            shards=(params.shard_frames, *self.row_shape),
            compressors=_compressors(params),
            fill_value=0.0,
        )
        self.pending = _Pending(np.zeros((params.shard_frames, *self.row_shape), np.float32))
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
        n = len(seq.joints)
        sf = self.params.shard_frames
        if n > sf:
            raise ShardError(f"{seq.name}: {n} frames exceed shard.shard_frames={sf}")
        if self.pending.used + n > sf:
            self._flush()
        p = self.pending
        p.buffer[p.used : p.used + n] = seq.joints
        start = p.index * sf + p.used
        p.used += n
        values = (
            start,
            n,
            label,
            sid.action,
            sid.subject,
            sid.camera,
            sid.setup,
            sid.replication,
            seq.n_actors,
        )
        for key, value in zip(self.meta, values, strict=True):
            self.meta[key].append(value)
        self.names.append(seq.name)

    def _flush(self) -> None:
        """Hand the full shard to the writer thread (one in flight) and start a fresh buffer."""
        p, sf = self.pending, self.params.shard_frames
        if p.used == 0:
            return
        if p.index >= self.max_shards:
            raise ShardError(f"more than max_shards={self.max_shards} shards needed")
        self._wait()
        region = slice(p.index * sf, (p.index + 1) * sf)
        self.in_flight = self.writer.submit(self.joints.__setitem__, region, p.buffer)
        p.buffer = np.zeros_like(p.buffer)
        p.used, p.index = 0, p.index + 1

    def _wait(self) -> None:
        if self.in_flight is not None:
            self.in_flight.result()
            self.in_flight = None

    def close(self) -> dict[str, int]:
        """Write the last shard, metadata and splits; returns counts for metrics."""
        self._flush()
        self._wait()
        self.writer.shutdown()
        self.joints.resize((self.pending.index * self.params.shard_frames, *self.row_shape))
        g = self.root.create_group("samples")
        for key, values in self.meta.items():
            g.create_array(key, data=np.asarray(values, dtype=np.int64))
        g.create_array("name", data=encode_names(self.names))
        counts = self._write_splits()
        self.root.attrs.update(
            {
                "layout": self.layout.name,
                "dataset": self.params.dataset,
                "num_classes": get_dataset(self.params.dataset).num_classes,
                "benchmarks": list(get_dataset(self.params.dataset).benchmarks),
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
            g = splits.create_group(bname)
            for part, idx in (("train", train), ("val", val), ("test", test)):
                g.create_array(part, data=idx.astype(np.int64))
                counts[f"n_{bname}_{part}"] = int(idx.size)
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
