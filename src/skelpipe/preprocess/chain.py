"""THE raw -> sample chain: one ``.skeleton`` file's body records -> denoised actors.

The denoise stage (through :mod:`skelpipe.preprocess.runner`), the reference exports,
``skelpipe predict`` and ``skelpipe show`` all denoise through these functions, so a sample gets
the same numbers whichever door it comes in by; alignment, the next step, is
:func:`skelpipe.preprocess.align.align_sample` for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from skelpipe.io.ntu_format import COORDS
from skelpipe.io.raw_sources import RawFileRef, Rejected, load_raw
from skelpipe.params import DenoiseParams
from skelpipe.preprocess.denoise import Denoised, DenoiseError, denoise_sample
from skelpipe.preprocess.denoise_pyskl import denoise_pyskl
from skelpipe.sample_id import SampleId


class BodyRecords(Protocol):
    """What denoising reads of a parsed file (a RawSkeleton or a parsed store row)."""

    name: str
    bodies_per_frame: np.ndarray  # (F,)
    body_frame: np.ndarray  # (R,)
    body_id: np.ndarray  # (R,)
    joints: np.ndarray  # (R, 25, 3 or 12): x, y, z first, then the other joint fields


@dataclass
class Sample:
    """One denoised sample: joints (T, M, V, C) float32 and its actor count."""

    name: str
    joints: np.ndarray
    n_actors: int


def denoise_records(raw: BodyRecords, params: DenoiseParams) -> Denoised:
    """Denoise one file's body records by ``params.mode``: the SGN / CTR-GCN rules (``reference``,
    ``fixed``; the action code, which some of them read, from the name) or PYSKL's (``pyskl``).

    The rules always read x, y, z; ``params.coords`` (:data:`skelpipe.io.ntu_format.COORDS`)
    chooses the coordinates the result holds: ``xyz`` (camera space, metres; C = 3) or a joint's
    pixel position in the depth or colour image (``depth2d``, ``color2d``; C = 2; needs the 12
    joint fields in ``raw.joints``).

    Raises:
        DenoiseError: the rules leave no body, or the file breaks a reference invariant.
    """
    coords = params.coords
    values = raw.joints[:, :, :3]  # (R, 25, 3)
    if coords != "xyz":  # the image coordinates ride along with x, y, z through the rules
        values = np.concatenate([values, raw.joints[:, :, list(COORDS[coords])]], axis=2)
    action = SampleId.from_name(raw.name).action
    denoise = denoise_pyskl if params.mode == "pyskl" else denoise_sample
    out = denoise(
        raw.name, action, raw.body_frame, raw.body_id, values, raw.bodies_per_frame, params
    )
    if coords != "xyz":
        out.joints = np.ascontiguousarray(out.joints[..., 3:])
    return out


def process_file(ref: RawFileRef, denoise: DenoiseParams) -> Sample | Rejected:
    """Read and denoise one raw file (never raises on bad input: a Rejected row instead)."""
    raw = load_raw(ref)
    if isinstance(raw, Rejected):
        return raw
    try:
        d = denoise_records(raw, denoise)
        return Sample(raw.name, d.joints, d.n_actors)
    except DenoiseError as err:
        return Rejected(raw.name, ref.source, None, str(err), "denoise")
