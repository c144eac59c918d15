"""HDF5 intermediates between the data stages, written and read in bounded memory.

Both files hold ragged data as concatenated rows plus a per-sample table of offsets:

``parsed.h5`` (parse stage, every raw field)::

    samples/name (S,) bytes   samples/frame_start, n_frames, record_start, n_records (S,) int64
    frames/bodies (sum F,) int16          records/frame (R,) int32 (frame within its sample)
    records/body_id (R,) uint64           records/body_info (R, 9) float32
    records/xyz (R, 25, 3) float32        records/joint_extra (R, 25, 9) float32
    (xyz apart from the 9 other joint fields, so stages that need only xyz read a quarter)

sequence parts (denoise / align output, one sequence per sample)::

    samples/name (S,) bytes   samples/row_start, n_frames, n_persons, n_actors (S,) int64
    joints (sum T * P, V, C) float32 -- only the P person slots that hold data
    attrs: layout, max_persons; for 2-D image coordinates also coords (``color2d`` or
    ``depth2d``) and image_size (height, width); C = 3 (x, y, z) without them, 2 (x, y) with

A stage output is a folder of such files, ``part-00000.h5``, ``part-00001.h5`` ..., each holding a
consecutive run of the name-sorted samples, so the data stages can work on parts in parallel.
Writers buffer rows and flush every ``flush_rows`` rows; readers yield samples block by block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from skelpipe.io.ntu_format import BODY_INFO_FIELDS, COORDS, IMAGE_SIZE, JOINT_FIELDS, RawSkeleton

NAME_DTYPE = "S32"


def part_path(folder: Path, index: int) -> Path:
    """The file of part ``index`` in a stage output folder."""
    return Path(folder) / f"part-{index:05d}.h5"


def list_parts(folder: Path) -> list[Path]:
    """The part files of a stage output folder, in sample order."""
    return sorted(Path(folder).glob("part-*.h5"))


class _Appender:
    """Resizable HDF5 datasets filled by appending row blocks."""

    def __init__(
        self,
        group: h5py.Group,
        specs: dict[str, tuple[tuple[int, ...], str]],
        chunk_rows: int,
        flush_rows: int,
    ) -> None:
        self.datasets = {
            key: group.create_dataset(
                key,
                shape=(0, *shape),
                maxshape=(None, *shape),
                dtype=dtype,
                chunks=(chunk_rows, *shape),
            )
            for key, (shape, dtype) in specs.items()
        }
        self.buffers: dict[str, list[np.ndarray]] = {k: [] for k in specs}
        self.buffered = 0
        self.flush_rows = flush_rows
        self.total = 0

    def append(self, **rows: np.ndarray) -> int:
        """Append equally long row blocks; returns the start row of this block."""
        start = self.total
        n = len(next(iter(rows.values())))
        for key, arr in rows.items():
            self.buffers[key].append(arr)
        self.total += n
        self.buffered += n
        if self.buffered >= self.flush_rows:
            self.flush()
        return start

    def flush(self) -> None:
        if not self.buffered:
            return
        for key, ds in self.datasets.items():
            block = np.concatenate(self.buffers[key])
            old = ds.shape[0]
            ds.resize(old + len(block), axis=0)
            ds[old:] = block
            self.buffers[key] = []
        self.buffered = 0


def _write_table(group: h5py.Group, table: dict[str, list]) -> None:
    for key, values in table.items():
        dtype = NAME_DTYPE if key == "name" else np.int64
        group.create_dataset(key, data=np.asarray(values, dtype=dtype))


class ParsedWriter:
    """Write :class:`RawSkeleton` samples to ``parsed.h5``."""

    def __init__(self, path: Path, chunk_rows: int = 4096, flush_rows: int = 16384) -> None:
        self.file = h5py.File(path, "w")
        self.file.attrs["body_info_fields"] = list(BODY_INFO_FIELDS)
        self.file.attrs["joint_fields"] = list(JOINT_FIELDS)
        self.frames = _Appender(
            self.file.create_group("frames"), {"bodies": ((), "i2")}, chunk_rows * 8, flush_rows * 8
        )
        self.records = _Appender(
            self.file.create_group("records"),
            {
                "frame": ((), "i4"),
                "body_id": ((), "u8"),
                "body_info": ((9,), "f4"),
                "xyz": ((25, 3), "f4"),
                "joint_extra": ((25, 9), "f4"),
            },
            chunk_rows,
            flush_rows,
        )
        self.table: dict[str, list] = {
            k: [] for k in ("name", "frame_start", "n_frames", "record_start", "n_records")
        }

    def append(self, raw: RawSkeleton) -> None:
        f0 = self.frames.append(bodies=raw.bodies_per_frame.astype(np.int16))
        r0 = self.records.append(
            frame=raw.body_frame.astype(np.int32),
            body_id=raw.body_id,
            body_info=raw.body_info,
            xyz=raw.joints[:, :, :3],
            joint_extra=raw.joints[:, :, 3:],
        )
        for key, value in (
            ("name", raw.name),
            ("frame_start", f0),
            ("n_frames", raw.n_frames),
            ("record_start", r0),
            ("n_records", len(raw.body_id)),
        ):
            self.table[key].append(value)

    def close(self) -> None:
        self.frames.flush()
        self.records.flush()
        _write_table(self.file.create_group("samples"), self.table)
        self.file.close()


def _blocks(starts: np.ndarray, counts: np.ndarray, block_rows: int) -> Iterator[tuple[int, int]]:
    """Consecutive sample ranges [i, j) whose rows add up to about ``block_rows``."""
    i, n = 0, len(starts)
    while i < n:
        j = int(np.searchsorted(starts + counts, starts[i] + block_rows, side="right"))
        j = max(j, i + 1)
        yield i, min(j, n)
        i = j


def iter_parsed(
    path: Path, xyz_only: bool = False, block_rows: int = 65536
) -> Iterator[RawSkeleton]:
    """Yield the samples of a parsed part file (or of every part of a folder), in order.

    With ``xyz_only`` the joints are (R, 25, 3) (x, y, z) and the other 9 fields are not read.
    """
    if Path(path).is_dir():
        for part in list_parts(path):
            yield from iter_parsed(part, xyz_only, block_rows)
        return
    yield from _iter_parsed_file(path, xyz_only, block_rows)


def _iter_parsed_file(path: Path, xyz_only: bool, block_rows: int) -> Iterator[RawSkeleton]:
    """Yield the samples of ``parsed.h5`` in order, about ``block_rows`` records at a time."""
    with h5py.File(path, "r") as f:
        s = {k: f["samples"][k][()] for k in f["samples"]}
        rec, frames = f["records"], f["frames/bodies"]
        for i, j in _blocks(s["record_start"], s["n_records"], block_rows):
            r0, r1 = s["record_start"][i], s["record_start"][j - 1] + s["n_records"][j - 1]
            f0, f1 = s["frame_start"][i], s["frame_start"][j - 1] + s["n_frames"][j - 1]
            keys = ("frame", "body_id", "body_info", "xyz") + (() if xyz_only else ("joint_extra",))
            block = {k: rec[k][r0:r1] for k in keys}
            if not xyz_only:
                block["xyz"] = np.concatenate([block["xyz"], block.pop("joint_extra")], axis=2)
            bodies = frames[f0:f1]
            for k in range(i, j):
                a, b = s["record_start"][k] - r0, s["record_start"][k] + s["n_records"][k] - r0
                fa, fb = s["frame_start"][k] - f0, s["frame_start"][k] + s["n_frames"][k] - f0
                yield RawSkeleton(
                    name=s["name"][k].decode(),
                    bodies_per_frame=bodies[fa:fb].astype(np.int64),
                    body_frame=block["frame"][a:b].astype(np.int64),
                    body_id=block["body_id"][a:b],
                    body_info=block["body_info"][a:b],
                    joints=block["xyz"][a:b],
                )


@dataclass
class Sequence:
    """One sample's sequence. joints: (T, M, V, C) float32 (C = 3, or 2 for image coordinates)."""

    name: str
    joints: np.ndarray
    n_actors: int


class SequenceWriter:
    """Write :class:`Sequence` samples to a sequence part file.

    Only the person slots that hold data are stored (an empty second actor costs nothing): a
    sample's rows are its (T, P, V, C) joints flattened to (T * P, V, C), P = ``n_persons``.
    ``coords``: the coordinate frame (:data:`skelpipe.io.ntu_format.COORDS`); a 2-D one is
    recorded in the attributes with its image size.
    """

    def __init__(
        self,
        path: Path,
        persons: int,
        joints: int,
        layout: str,
        chunk_rows: int = 8192,
        flush_rows: int = 65536,
        coords: str = "xyz",
    ) -> None:
        self.file = h5py.File(path, "w")
        self.file.attrs["layout"] = layout
        self.file.attrs["max_persons"] = persons
        if coords != "xyz":
            self.file.attrs["coords"] = coords
            self.file.attrs["image_size"] = np.asarray(IMAGE_SIZE[coords], dtype=np.int64)
        channels = len(COORDS[coords])
        self.rows = _Appender(
            self.file, {"joints": ((joints, channels), "f4")}, chunk_rows, flush_rows
        )
        self.table: dict[str, list] = {
            k: [] for k in ("name", "row_start", "n_frames", "n_persons", "n_actors")
        }

    def append(self, seq: Sequence) -> None:
        t, m = seq.joints.shape[:2]
        used = np.flatnonzero(np.any(seq.joints.reshape(t, m, -1) != 0, axis=(0, 2)))
        p = int(used[-1]) + 1 if used.size else 1
        start = self.rows.append(joints=seq.joints[:, :p].reshape(t * p, *seq.joints.shape[2:]))
        values = (seq.name, start, t, p, seq.n_actors)
        for key, value in zip(self.table, values, strict=True):
            self.table[key].append(value)

    def close(self) -> None:
        self.rows.flush()
        _write_table(self.file.create_group("samples"), self.table)
        self.file.close()


def read_layout(path: Path) -> str:
    """The skeleton layout name of a sequence file or folder of parts."""
    if Path(path).is_dir():
        path = list_parts(path)[0]
    with h5py.File(path, "r") as f:
        return str(f.attrs["layout"])


def read_coords(path: Path) -> tuple[str, tuple[int, int] | None]:
    """The coordinate frame of a sequence file or folder of parts and its image (height, width)
    (None for camera-space x, y, z)."""
    if Path(path).is_dir():
        path = list_parts(path)[0]
    with h5py.File(path, "r") as f:
        coords = str(f.attrs.get("coords", "xyz"))
        size = f.attrs.get("image_size")
        return coords, None if size is None else (int(size[0]), int(size[1]))


def iter_sequences(path: Path, block_rows: int = 65536) -> Iterator[Sequence]:
    """Yield the samples of a sequence file (or folder of parts) in order, block by block.

    Joints come back as (T, M, V, 3), empty person slots as zeros.
    """
    if Path(path).is_dir():
        for part in list_parts(path):
            yield from iter_sequences(part, block_rows)
        return
    with h5py.File(path, "r") as f:
        s = {k: f["samples"][k][()] for k in f["samples"]}
        m = int(f.attrs["max_persons"])
        ds = f["joints"]
        rows = s["n_frames"] * s["n_persons"]
        for i, j in _blocks(s["row_start"], rows, block_rows):
            r0 = s["row_start"][i]
            block = ds[r0 : s["row_start"][j - 1] + rows[j - 1]]
            for k in range(i, j):
                t, p = int(s["n_frames"][k]), int(s["n_persons"][k])
                a = s["row_start"][k] - r0
                joints = np.zeros((t, m, *block.shape[1:]), dtype=np.float32)
                joints[:, :p] = block[a : a + t * p].reshape(t, p, *block.shape[1:])
                yield Sequence(s["name"][k].decode(), joints, int(s["n_actors"][k]))


def frame_counts(path: Path) -> np.ndarray:
    """(S,) frames of every sample of a sequence file or folder of parts (tables only)."""
    files = list_parts(path) if Path(path).is_dir() else [Path(path)]
    counts = [np.zeros(0, dtype=np.int64)]
    for f in files:
        with h5py.File(f, "r") as h:
            counts.append(h["samples/n_frames"][()])
    return np.concatenate(counts)
