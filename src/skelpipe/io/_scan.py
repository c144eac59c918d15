"""Compiled kernels for the NTU ``.skeleton`` text format (numba, cached on disk).

Two passes, both linear in the file size:

1. :func:`scan_tokens` splits the bytes into lines and whitespace-separated tokens and converts
   every token to float64. Conversion is exact: a decimal with at most 15 significant digits and a
   small exponent is ``mantissa / 10**k`` (or ``* 10**k``), one correctly rounded IEEE operation on
   exact operands, i.e. the same double Python's ``float()`` returns. Other tokens are flagged and
   converted (or rejected) by ``float()`` in Python.
2. :func:`walk_structure` follows the format (frame count, per frame a body count, per body a
   10-value info line, a joint count and one 12-value line per joint) over the per-line token counts
   and reports the first violation with its line.
"""

from __future__ import annotations

import numba
import numpy as np

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)

# Status codes of walk_structure; messages live in ntu_format.py.
OK = 0
EMPTY = 1
BAD_FRAME_COUNT = 2
TRUNCATED = 4
BAD_BODY_COUNT = 5
BAD_BODY_LINE = 6
BAD_JOINT_COUNT_LINE = 7
WRONG_JOINT_COUNT = 8
BAD_JOINT_LINE = 9
TRAILING_CONTENT = 10
BLANK_LINE = 11


@numba.njit(cache=True, nogil=True)
def scan_tokens(buf):  # pragma: no cover - compiled
    """Tokenise ``buf`` (uint8 array) and convert every token to float64.

    Returns:
        vals: float64 (n_tokens,) token values (undefined where ``slow``).
        tok_start, tok_end: int64 (n_tokens,) byte offsets of each token.
        slow: bool (n_tokens,) tokens left to Python ``float()``: more than 15 significant digits
            (e.g. 64-bit body IDs), large exponents, ``nan`` / ``inf``, or not a number at all.
        line_tok0: int64 (n_lines + 1,) index of each line's first token (prefix sums).
    """
    n = buf.shape[0]
    # first pass: exact token and line counts, so allocations match the content
    n_lines = 1
    cap = 0
    prev_space = True
    for i in range(n):
        c = buf[i]
        if c <= 32:
            prev_space = True
            if c == 10:
                n_lines += 1
        elif prev_space:
            cap += 1
            prev_space = False
    vals = np.empty(cap, np.float64)
    tok_start = np.empty(cap, np.int64)
    tok_end = np.empty(cap, np.int64)
    slow = np.zeros(cap, np.bool_)
    line_tok0 = np.empty(n_lines + 1, np.int64)
    line_tok0[0] = 0
    line = 0
    nt = 0
    i = 0
    while i < n:
        c = buf[i]
        if c <= 32:  # white space (space, tab, CR) or a newline
            if c == 10:
                line += 1
                line_tok0[line] = nt
            i += 1
            continue
        tok_start[nt] = i
        # [+-]digits[.digits][(e|E)[+-]digits], inlined for speed (~300 MB/s)
        neg = c == 45
        if c == 45 or c == 43:
            i += 1
        mant = 0
        nd = 0
        frac = 0
        while i < n:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            mant = mant * 10 + d
            nd += 1
            i += 1
        if i < n and buf[i] == 46:
            i += 1
            while i < n:
                d = np.int64(buf[i]) - 48
                if d < 0 or d > 9:
                    break
                mant = mant * 10 + d
                nd += 1
                frac += 1
                i += 1
        ok = nd > 0
        if ok and i < n and (buf[i] == 101 or buf[i] == 69):
            i += 1
            eneg = i < n and buf[i] == 45
            if i < n and (buf[i] == 45 or buf[i] == 43):
                i += 1
            e = 0
            ed = 0
            while i < n:
                d = np.int64(buf[i]) - 48
                if d < 0 or d > 9:
                    break
                e = e * 10 + d
                ed += 1
                i += 1
            ok = 0 < ed < 5
            frac += e if eneg else -e
        if i < n and buf[i] > 32:  # anything else inside the token: not a plain number
            ok = False
            while i < n and buf[i] > 32:
                i += 1
        tok_end[nt] = i
        v = 0.0
        exact = ok and nd <= 15
        if exact:
            v = float(mant)
            if frac > 22 or -frac + nd > 15:
                exact = False
            elif frac > 0:
                v = v / _POW10[frac]  # one correctly rounded division of exact operands
            elif frac < 0:
                v = v * _POW10[-frac]  # exact: the product has at most 15 digits
        vals[nt] = -v if neg else v
        slow[nt] = not exact
        nt += 1
    line_tok0[line + 1] = nt
    for k in range(line + 2, n_lines + 1):
        line_tok0[k] = nt
    return vals[:nt], tok_start[:nt], tok_end[:nt], slow[:nt], line_tok0


@numba.njit(cache=True, nogil=True)
def gather_rows(vals, line_tok0, first_line, n_lines, n_values):  # pragma: no cover - compiled
    """(R, n_lines, n_values) float32 from the tokens of lines ``first_line[r] + k``."""
    r_count = first_line.shape[0]
    out = np.empty((r_count, n_lines, n_values), np.float32)
    for r in range(r_count):
        for k in range(n_lines):
            t0 = line_tok0[first_line[r] + k]
            for v in range(n_values):
                out[r, k, v] = vals[t0 + v]
    return out


@numba.njit(cache=True, nogil=True)
def walk_structure(line_tok0, vals, n_joints, joint_values):  # pragma: no cover - compiled
    """Follow the frame/body/joint structure over the lines.

    Returns:
        status, err_line (0-based), err_value, n_frames,
        bodies_per_frame (F,), rec_frame (R,), rec_info_line (R,), rec_joint_line0 (R,)
    """
    n_lines = line_tok0.shape[0] - 1
    empty_i64 = np.zeros(0, np.int64)
    # last non-blank line
    last = n_lines - 1
    while last >= 0 and line_tok0[last + 1] - line_tok0[last] == 0:
        last -= 1
    if last < 0:
        return EMPTY, 0, 0, 0, empty_i64, empty_i64, empty_i64, empty_i64
    for j in range(last + 1):
        if line_tok0[j + 1] - line_tok0[j] == 0:
            return BLANK_LINE, j, 0, 0, empty_i64, empty_i64, empty_i64, empty_i64
    n_used = last + 1
    if line_tok0[1] - line_tok0[0] != 1:
        return (
            BAD_FRAME_COUNT,
            0,
            line_tok0[1] - line_tok0[0],
            0,
            empty_i64,
            empty_i64,
            empty_i64,
            empty_i64,
        )
    fv = vals[line_tok0[0]]
    if not (fv >= 0 and fv == np.floor(fv)):
        return BAD_FRAME_COUNT, 0, -1, 0, empty_i64, empty_i64, empty_i64, empty_i64
    n_frames = int(min(fv, 2**62))
    cap = n_used // (n_joints + 2) + 1
    # never allocate for the declared count: each frame needs a line, so n_used bounds it
    bodies = np.zeros(min(n_frames, n_used), np.int64)
    rec_frame = np.empty(cap, np.int64)
    rec_info = np.empty(cap, np.int64)
    rec_joint0 = np.empty(cap, np.int64)
    r = 0
    i = 1
    for f in range(n_frames):
        if i >= n_used:
            return TRUNCATED, i, f, n_frames, empty_i64, empty_i64, empty_i64, empty_i64
        if line_tok0[i + 1] - line_tok0[i] != 1:
            return (
                BAD_BODY_COUNT,
                i,
                line_tok0[i + 1] - line_tok0[i],
                n_frames,
                empty_i64,
                empty_i64,
                empty_i64,
                empty_i64,
            )
        bv = vals[line_tok0[i]]
        if not (bv >= 0 and bv == np.floor(bv)):
            return BAD_BODY_COUNT, i, -1, n_frames, empty_i64, empty_i64, empty_i64, empty_i64
        nb = int(bv)
        count_line = i
        i += 1
        for _ in range(nb):
            if i >= n_used:
                return TRUNCATED, i, f, n_frames, empty_i64, empty_i64, empty_i64, empty_i64
            nt = line_tok0[i + 1] - line_tok0[i]
            if nt != 10:
                # most often: the body count at count_line promised more bodies than given
                return (
                    BAD_BODY_LINE,
                    i,
                    count_line,
                    n_frames,
                    empty_i64,
                    empty_i64,
                    empty_i64,
                    empty_i64,
                )
            if r >= cap:
                return TRUNCATED, i, f, n_frames, empty_i64, empty_i64, empty_i64, empty_i64
            rec_frame[r] = f
            rec_info[r] = i
            i += 1
            if i >= n_used:
                return TRUNCATED, i, f, n_frames, empty_i64, empty_i64, empty_i64, empty_i64
            if line_tok0[i + 1] - line_tok0[i] != 1:
                return (
                    BAD_JOINT_COUNT_LINE,
                    i,
                    line_tok0[i + 1] - line_tok0[i],
                    n_frames,
                    empty_i64,
                    empty_i64,
                    empty_i64,
                    empty_i64,
                )
            jv = vals[line_tok0[i]]
            if jv != n_joints:
                return (
                    WRONG_JOINT_COUNT,
                    i,
                    int(jv) if jv == jv else -1,
                    n_frames,
                    empty_i64,
                    empty_i64,
                    empty_i64,
                    empty_i64,
                )
            i += 1
            rec_joint0[r] = i
            for _j in range(n_joints):
                if i >= n_used:
                    return TRUNCATED, i, f, n_frames, empty_i64, empty_i64, empty_i64, empty_i64
                nt = line_tok0[i + 1] - line_tok0[i]
                if nt != joint_values:
                    return (
                        BAD_JOINT_LINE,
                        i,
                        nt,
                        n_frames,
                        empty_i64,
                        empty_i64,
                        empty_i64,
                        empty_i64,
                    )
                i += 1
            r += 1
        bodies[f] = nb
    if i < n_used:
        return TRAILING_CONTENT, i, n_frames, n_frames, empty_i64, empty_i64, empty_i64, empty_i64
    return OK, 0, 0, n_frames, bodies, rec_frame[:r], rec_info[:r], rec_joint0[:r]
