"""THE raw -> sample chain: one ``.skeleton`` file's body records -> denoised actors -> aligned.

The data stages (through :mod:`skelpipe.preprocess.runner`, one step per stage), the reference
exports, ``skelpipe predict`` and ``skelpipe show`` all go through these functions, so a sample
gets the same numbers whichever door it comes in by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from skelpipe.io.raw_sources import RawFileRef, Rejected, load_raw
from skelpipe.params import AlignParams, DenoiseParams
from skelpipe.preprocess.align import align_sample
from skelpipe.preprocess.denoise import Denoised, DenoiseError, denoise_sample
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import NTU25, Layout


class BodyRecords(Protocol):
    """What denoising reads of a parsed file (a RawSkeleton or a parsed store row)."""

    name: str
    bodies_per_frame: np.ndarray  # (F,)
    body_frame: np.ndarray  # (R,)
    body_id: np.ndarray  # (R,)
    joints: np.ndarray  # (R, 25, >= 3): x, y, z first


@dataclass
class Sample:
    """One sample after the chain: joints (T, M, V, 3) float32 and its actor count."""

    name: str
    joints: np.ndarray
    n_actors: int


def denoise_records(raw: BodyRecords, params: DenoiseParams) -> Denoised:
    """Denoise one file's body records (the action code, which some rules read, from its name).

    Raises:
        DenoiseError: the rules leave no body, or the file breaks a reference invariant.
    """
    action = SampleId.from_name(raw.name).action
    xyz = raw.joints[:, :, :3]  # (R, 25, 3)
    return denoise_sample(
        raw.name, action, raw.body_frame, raw.body_id, xyz, raw.bodies_per_frame, params
    )


def process_records(
    raw: BodyRecords, denoise: DenoiseParams, align: AlignParams | None, layout: Layout = NTU25
) -> Sample:
    """Denoise, then (unless ``align`` is None) align one file's body records.

    Raises:
        DenoiseError: as :func:`denoise_records`.
    """
    d = denoise_records(raw, denoise)
    joints = d.joints if align is None else align_sample(d.joints, d.n_actors, align, layout)
    return Sample(raw.name, joints, d.n_actors)


def process_file(
    ref: RawFileRef, denoise: DenoiseParams, align: AlignParams | None = None
) -> Sample | Rejected:
    """Read one raw file and run :func:`process_records` on it (never raises on bad input)."""
    raw = load_raw(ref)
    if isinstance(raw, Rejected):
        return raw
    try:
        return process_records(raw, denoise, align)
    except DenoiseError as err:
        return Rejected(raw.name, ref.source, None, str(err), "denoise")
