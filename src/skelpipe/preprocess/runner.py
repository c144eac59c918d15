"""Per-part drivers of the data stages: read one part, apply the pure functions, write one part.

The stages split the name-sorted samples into fixed-size parts (``parse.part_files``) and map these
drivers over the parts with :func:`skelpipe.parallel.ordered_map`. Each driver holds one part in
flight, so memory is bounded by the part size, not the dataset size; outputs do not depend on the
number of workers.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from pathlib import Path

from skelpipe.io.h5store import (
    ParsedWriter,
    Sequence,
    SequenceWriter,
    iter_parsed,
    iter_sequences,
    part_path,
    read_coords,
    read_layout,
)
from skelpipe.io.raw_sources import RawFileRef, Rejected, iter_loaded
from skelpipe.params import AlignParams, DenoiseParams
from skelpipe.preprocess.align import align_sample
from skelpipe.preprocess.chain import denoise_records
from skelpipe.preprocess.denoise import DenoiseError
from skelpipe.skeleton import NTU25, get_layout


@dataclass
class PartResult:
    """What a driver reports back: rejected rows, counters, and (denoise) decision rows."""

    rejected: list[Rejected] = field(default_factory=list)
    counts: dict[str, float] = field(default_factory=dict)
    decisions: list[tuple] = field(default_factory=list)
    failed: bool = False

    def add(self, key: str, value: float) -> None:
        self.counts[key] = self.counts.get(key, 0) + value


def split_parts(items: Seq, size: int) -> list[list]:
    """Consecutive runs of ``size`` items (the last may be shorter)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def parse_part(task: tuple[int, list[RawFileRef], Path, bool]) -> PartResult:
    """Parse the files of part ``index`` into ``out/part-<index>.h5``.

    With ``stop_on_error`` the part stops at its first bad file and reports ``failed``.
    """
    index, refs, out, stop_on_error = task
    res = PartResult()
    writer = ParsedWriter(part_path(out, index))
    try:
        for raw in iter_loaded(refs):
            if isinstance(raw, Rejected):
                res.rejected.append(raw)
                if stop_on_error:
                    res.failed = True
                    break
                continue
            writer.append(raw)
            res.add("n_samples", 1)
            res.add("n_frames", raw.n_frames)
            res.add("n_body_records", len(raw.body_id))
    finally:
        writer.close()
    return res


def denoise_part(task: tuple[Path, Path, DenoiseParams]) -> PartResult:
    """Denoise one parsed part file into the denoised part of the same name (holding the
    coordinates ``params.coords``)."""
    src, out_dir, params = task
    coords = params.coords
    res = PartResult()
    writer = SequenceWriter(
        out_dir / src.name, NTU25.max_persons, NTU25.num_joints, NTU25.name, coords=coords
    )
    try:
        for raw in iter_parsed(src, xyz_only=coords == "xyz"):
            res.add("n_samples_in", 1)
            try:
                d = denoise_records(raw, params)
            except DenoiseError as err:
                res.rejected.append(Rejected(raw.name, str(src), None, str(err), "denoise"))
                if params.on_error == "fail":
                    res.failed = True
                    break
                continue
            writer.append(Sequence(raw.name, d.joints, d.n_actors))
            res.decisions.extend(d.decisions)
            for key, value in d.counts.items():
                res.add(key, value)
            res.add("n_samples_out", 1)
            res.add("n_frames_out", len(d.joints))
            res.add("n_samples_two_actors", int(d.n_actors == 2))
    finally:
        writer.close()
    return res


def align_part(task: tuple[Path, Path, AlignParams]) -> PartResult:
    """Align one sequence part file into the aligned part of the same name."""
    src, out_dir, params = task
    layout = get_layout(read_layout(src))
    coords, image_size = read_coords(src)
    res = PartResult()
    writer = SequenceWriter(
        out_dir / src.name, layout.max_persons, layout.num_joints, layout.name, coords=coords
    )
    try:
        for seq in iter_sequences(src):
            joints = align_sample(seq.joints, seq.n_actors, params, layout, image_size)
            writer.append(Sequence(seq.name, joints, seq.n_actors))
            res.add("n_samples", 1)
            res.add("n_frames", len(joints))
            copied = seq.n_actors < layout.max_persons and params.pad_second_actor == "copy"
            res.add("n_second_actor_copied", int(copied))
    finally:
        writer.close()
    return res


def merge(results: list[PartResult]) -> PartResult:
    """Concatenate the rejected and decision rows and add the counters of several parts."""
    total = PartResult()
    for r in results:
        total.rejected.extend(r.rejected)
        total.decisions.extend(r.decisions)
        total.failed = total.failed or r.failed
        for key, value in r.counts.items():
            total.add(key, value)
    return total
