"""Where raw ``.skeleton`` files come from: folders, or the official zip archives read in place.

The NTU archives (``nturgbd_skeletons_s001_to_s017.zip``, ``nturgbd_skeletons_s018_to_s032.zip``)
are read member by member without extracting. Member names with absolute paths or ``..`` are
rejected (never opened), as are names that are not NTU sample names and duplicates.
"""

from __future__ import annotations

import itertools
import os
import zipfile
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from skelpipe.io.ntu_format import RawSkeleton, SkeletonFormatError, parse_skeleton
from skelpipe.sample_id import SampleId, SampleNameError

SUFFIX = ".skeleton"


@dataclass(frozen=True)
class RawFileRef:
    """One raw file: ``archive`` is the zip path or None for a plain file at ``path``."""

    name: str
    path: str
    archive: str | None = None

    @property
    def source(self) -> str:
        return f"{self.archive}:{self.path}" if self.archive else self.path


@dataclass(frozen=True)
class Rejected:
    """A file or sample left out, with the reason (one row of the rejected table)."""

    name: str
    source: str
    line: int | None
    reason: str
    stage: str = "parse"

    def message(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.reason}"


def _unsafe_member(member: str) -> bool:
    p = PurePosixPath(member.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(member) > 1 and member[1] == ":")


def _from_zip(archive: Path) -> Iterator[RawFileRef | Rejected]:
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as err:
        yield Rejected(archive.name, str(archive), None, f"unreadable zip archive: {err}")
        return
    with zf:
        for info in zf.infolist():
            member = info.filename
            if info.is_dir() or not member.endswith(SUFFIX):
                continue
            if _unsafe_member(member):
                reason = "unsafe member path in archive (absolute or '..'); not read"
                yield Rejected(member, f"{archive}:{member}", None, reason)
                continue
            yield RawFileRef(PurePosixPath(member).name[: -len(SUFFIX)], member, str(archive))


def _from_dir(folder: Path) -> Iterator[RawFileRef | Rejected]:
    """Every ``.skeleton`` file below ``folder``, and the members of every zip archive there."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(SUFFIX):
                yield RawFileRef(f[: -len(SUFFIX)], str(Path(root) / f))
            elif f.endswith(".zip"):
                yield from _from_zip(Path(root) / f)


def list_raw_files(
    paths: Iterable[str | Path], skip_names: Iterable[str] = ()
) -> tuple[list[RawFileRef], list[Rejected], int]:
    """List every raw file under ``paths`` (folders, zip archives or single files), sorted by name.

    Returns:
        (files, rejected, n_skipped): valid NTU-named files; files rejected for their name or
        location; the number left out because they are in ``skip_names`` (missing-skeleton list).
    """
    skip = set(skip_names)
    found: dict[str, RawFileRef] = {}
    rejected: list[Rejected] = []
    n_skipped = 0
    for raw in paths:
        p = Path(raw)
        items: Iterable[RawFileRef | Rejected]
        if p.is_dir():
            items = _from_dir(p)
        elif p.suffix == ".zip" or zipfile.is_zipfile(p):
            items = _from_zip(p)
        elif p.is_file() and p.name.endswith(SUFFIX):
            items = [RawFileRef(p.name[: -len(SUFFIX)], str(p))]
        else:
            raise FileNotFoundError(f"{p}: not a folder, a zip archive or a .skeleton file")
        for item in items:
            if isinstance(item, Rejected):
                rejected.append(item)
                continue
            try:
                SampleId.from_ntu_name(item.name)
            except SampleNameError as err:
                rejected.append(Rejected(item.name, item.source, None, str(err)))
                continue
            if item.name in skip:
                n_skipped += 1
            elif item.name in found:
                rejected.append(
                    Rejected(
                        item.name,
                        item.source,
                        None,
                        f"duplicate sample (also {found[item.name].source})",
                    )
                )
            else:
                found[item.name] = item
    files = [found[k] for k in sorted(found)]
    return files, rejected, n_skipped


_ZIP_HANDLES: dict[str, zipfile.ZipFile] = {}


def read_raw_bytes(ref: RawFileRef) -> bytes:
    """Read one file's bytes; zip handles are cached per process (one per worker)."""
    if ref.archive is None:
        with open(ref.path, "rb") as fh:
            return fh.read()
    zf = _ZIP_HANDLES.get(ref.archive)
    if zf is None:
        zf = _ZIP_HANDLES[ref.archive] = zipfile.ZipFile(ref.archive)
    return zf.read(ref.path)


def try_read(ref: RawFileRef) -> bytes | Rejected:
    """The file's bytes, or a :class:`Rejected` row when it cannot be read."""
    try:
        return read_raw_bytes(ref)
    except (OSError, zipfile.BadZipFile, KeyError, zlib.error, EOFError) as err:
        return Rejected(ref.name, ref.source, None, f"cannot read: {err}")


def parse_bytes(ref: RawFileRef, data: bytes | Rejected) -> RawSkeleton | Rejected:
    """Parse what :func:`try_read` returned; a format error becomes a :class:`Rejected` row."""
    if isinstance(data, Rejected):
        return data
    try:
        return parse_skeleton(data, ref.name, ref.source)
    except SkeletonFormatError as err:
        return Rejected(ref.name, ref.source, err.line, err.reason)


def load_raw(ref: RawFileRef) -> RawSkeleton | Rejected:
    """Read and parse one file; any problem becomes a :class:`Rejected` row (never raises)."""
    return parse_bytes(ref, try_read(ref))


def iter_loaded(refs: list[RawFileRef], prefetch: int = 16) -> Iterator[RawSkeleton | Rejected]:
    """:func:`load_raw` over ``refs`` in order, reading ahead in a background thread.

    Reading (I/O) overlaps parsing (compiled, GIL released), so one process keeps its core busy
    while the disk works; at most ``prefetch`` files are held in memory.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:  # several reads in flight: disks like it
        pending: deque = deque()
        it = iter(refs)
        for ref in itertools.islice(it, prefetch):
            pending.append((ref, pool.submit(try_read, ref)))
        while pending:
            ref, future = pending.popleft()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(try_read, nxt)))
            yield parse_bytes(ref, future.result())


def read_name_list(path: str | Path) -> list[str]:
    """Read a list of sample names, one per line (the official missing-skeleton lists)."""
    with open(path, encoding="utf-8") as fh:
        return [s for s in fh.read().split() if s]
