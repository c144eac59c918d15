"""Read and write the NTU RGB+D ``.skeleton`` text format (Kinect v2), keeping every field.

Format (one item per line, values separated by white space; CRLF or LF):

* the frame count F;
* per frame: the body count B, then per body
  - a 10-value info line: bodyID (64-bit integer), clippedEdges, handLeftConfidence,
    handLeftState, handRightConfidence, handRightState, isRestricted, leanX, leanY, trackingState;
  - the joint count (25);
  - 25 joint lines of 12 values: x, y, z (camera space, metres), depthX, depthY, colorX, colorY,
    orientationW, orientationX, orientationY, orientationZ, trackingState.

Parsing is exact (the float32 values equal ``np.float32(float(token))`` as in the reference
scripts), body IDs are kept as uint64, and any violation raises :class:`SkeletonFormatError` naming
the file and 1-based line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_JOINTS = 25
JOINT_VALUES = 12
BODY_INFO_FIELDS = (
    "clipped_edges",
    "hand_left_confidence",
    "hand_left_state",
    "hand_right_confidence",
    "hand_right_state",
    "is_restricted",
    "lean_x",
    "lean_y",
    "tracking_state",
)
JOINT_FIELDS = (
    "x",
    "y",
    "z",
    "depth_x",
    "depth_y",
    "color_x",
    "color_y",
    "orientation_w",
    "orientation_x",
    "orientation_y",
    "orientation_z",
    "tracking_state",
)
# The coordinate frames a joint line carries: camera space (metres) and the two Kinect v2 image
# projections (pixels), as column indices into the 12 joint values.
COORDS = {"xyz": (0, 1, 2), "depth2d": (3, 4), "color2d": (5, 6)}
# (height, width) in pixels of the image each 2-D frame is projected into (Kinect v2).
IMAGE_SIZE = {"depth2d": (424, 512), "color2d": (1080, 1920)}


class SkeletonFormatError(ValueError):
    """A malformed raw file. ``str(err)`` is one line: ``source:line: reason``."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass
class RawSkeleton:
    """Every field of one ``.skeleton`` file. R = number of body records (body × frame).

    Attributes:
        name: sample name (file stem).
        bodies_per_frame: (F,) int64 declared body count of each frame.
        body_frame: (R,) int64 0-based frame index of each record.
        body_id: (R,) uint64 Kinect body tracking ID.
        body_info: (R, 9) float32, the info-line fields after the ID (:data:`BODY_INFO_FIELDS`).
        joints: (R, 25, 12) float32 (:data:`JOINT_FIELDS`).
    """

    name: str
    bodies_per_frame: np.ndarray
    body_frame: np.ndarray
    body_id: np.ndarray
    body_info: np.ndarray
    joints: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.bodies_per_frame.shape[0])


def _structure_message(status: int, value: int, n_frames: int) -> str:
    from skelpipe.io import _scan as s

    messages = {
        s.EMPTY: "empty file (no frame count)",
        s.BAD_FRAME_COUNT: "expected the frame count (one non-negative integer)",
        s.TRUNCATED: f"unexpected end of file in frame {value + 1} of {n_frames} (truncated file)",
        s.BAD_BODY_COUNT: "expected a body count (one non-negative integer)",
        s.BAD_BODY_LINE: (
            f"expected a 10-value body info line (the body count on line {value + 1} "
            "declares more bodies than the file gives?)"
        ),
        s.BAD_JOINT_COUNT_LINE: "expected the joint count (one integer)",
        s.WRONG_JOINT_COUNT: f"joint count {value}, expected {N_JOINTS}",
        s.BAD_JOINT_LINE: f"joint line has {value} values, expected {JOINT_VALUES}",
        s.TRAILING_CONTENT: f"content after the declared {n_frames} frames",
        s.BLANK_LINE: "blank line inside the data",
    }
    return messages[status]


def parse_skeleton(data: bytes, name: str, source: str | None = None) -> RawSkeleton:
    """Parse the bytes of one ``.skeleton`` file.

    Args:
        data: file content (LF or CRLF, any white space between values, trailing blank lines ok).
        name: sample name stored in the result.
        source: file name used in error messages (defaults to ``name``).

    Raises:
        SkeletonFormatError: on any deviation from the format, NaN/inf values, or no body at all.
    """
    from skelpipe.io import _scan  # numba: imported only by the stages that parse

    source = source or name
    buf = np.frombuffer(data, dtype=np.uint8)
    vals, tok_start, tok_end, slow, line_tok0 = _scan.scan_tokens(buf)
    for t in np.flatnonzero(slow).tolist():
        token = data[tok_start[t] : tok_end[t]]
        try:
            vals[t] = float(token)
        except ValueError:
            line = int(np.searchsorted(line_tok0, t, side="right"))
            shown = token.decode("utf-8", "replace")[:40]
            raise SkeletonFormatError(source, line, f"non-numeric value {shown!r}") from None
    status, err_line, err_value, n_frames, bodies, rec_frame, rec_info, rec_joint0 = (
        _scan.walk_structure(line_tok0, vals, N_JOINTS, JOINT_VALUES)
    )
    if status != _scan.OK:
        msg = _structure_message(int(status), int(err_value), int(n_frames))
        raise SkeletonFormatError(source, int(err_line) + 1, msg)

    joints = _scan.gather_rows(vals, line_tok0, rec_joint0, N_JOINTS, JOINT_VALUES)  # (R, 25, 12)
    info_tok = line_tok0[rec_info]  # (R,) first token = body ID
    body_info = vals[info_tok[:, None] + np.arange(1, 10)].astype(np.float32)  # (R, 9)
    _check_finite(joints, body_info, rec_joint0, rec_info, source)
    body_id = _parse_body_ids(data, tok_start[info_tok], tok_end[info_tok], rec_info, source)
    if body_id.shape[0] == 0:
        raise SkeletonFormatError(source, 1, f"no body in any of the {n_frames} frames")
    return RawSkeleton(
        name=name,
        bodies_per_frame=bodies,
        body_frame=rec_frame,
        body_id=body_id,
        body_info=body_info,
        joints=joints,
    )


def _check_finite(
    joints: np.ndarray,
    body_info: np.ndarray,
    joint_line0: np.ndarray,
    info_lines: np.ndarray,
    source: str,
) -> None:
    if not np.isfinite(joints).all():
        r, j = np.argwhere(~np.isfinite(joints).all(axis=2))[0]
        raise SkeletonFormatError(source, int(joint_line0[r] + j) + 1, "NaN or infinite value")
    bad_info = ~np.isfinite(body_info).all(axis=1)
    if bad_info.any():
        r = int(np.flatnonzero(bad_info)[0])
        raise SkeletonFormatError(source, int(info_lines[r]) + 1, "NaN or infinite value")


def _parse_body_ids(
    data: bytes, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray, source: str
) -> np.ndarray:
    ids = np.empty(starts.shape[0], dtype=np.uint64)
    cache: dict[bytes, int] = {}
    for k, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        tok = data[s:e]
        v = cache.get(tok)
        if v is None:
            try:
                v = int(tok)
            except ValueError:
                v = -1
            if not 0 <= v < 2**64:
                raise SkeletonFormatError(
                    source,
                    int(lines[k]) + 1,
                    f"body ID {tok.decode(errors='replace')!r} is not a 64-bit unsigned integer",
                )
            cache[tok] = v
        ids[k] = v
    return ids


_JOINT_FMT = " ".join(["%.7g"] * 7 + ["%.7g"] * 4 + ["%d"])
_INFO_FMT = "%d %d %d %d %d %d %d %.7g %.7g %d"


def format_skeleton(raw: RawSkeleton, newline: str = "\r\n") -> bytes:
    """Write a :class:`RawSkeleton` in the official text format (inverse of :func:`parse_skeleton`).

    Values are written with 7 significant digits, as the Kinect SDK export does.
    """
    body_fmt = newline.join([_INFO_FMT, str(N_JOINTS)] + [_JOINT_FMT] * N_JOINTS) + newline
    parts = [f"{raw.n_frames}{newline}"]
    counts = raw.bodies_per_frame.tolist()
    order = np.argsort(raw.body_frame, kind="stable")
    rec_frames = raw.body_frame[order].tolist()
    r = 0
    joints = raw.joints.reshape(raw.joints.shape[0], -1).astype(np.float64)
    info = raw.body_info.astype(np.float64)
    ids = raw.body_id.tolist()
    for f, nb in enumerate(counts):
        parts.append(f"{nb}{newline}")
        for _ in range(nb):
            k = int(order[r])
            if rec_frames[r] != f:
                raise ValueError(f"{raw.name}: record {k} is not in frame {f}")
            parts.append(body_fmt % (ids[k], *info[k].tolist(), *joints[k].tolist()))
            r += 1
    return "".join(parts).encode("ascii")
