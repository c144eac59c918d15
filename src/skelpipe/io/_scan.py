"""Compiled kernels for the NTU ``.skeleton`` text format (numba, cached on disk).

Two passes, both linear in the file size:

1. :func:`scan_tokens` splits the bytes into lines and whitespace-separated tokens and converts
   every
   token to float64. Conversion is exact: a decimal with at most 15 significant digits and a small
   exponent is ``mantissa / 10**k`` (or ``* 10**k``), one correctly rounded IEEE operation on exact
   operands, i.e. the same double Python's ``float()`` returns. Tokens outside that range are
   flagged and converted by ``float()`` in Python.
2. :func:`walk_structure` follows the format (frame count, per frame a body count, per body a
   10-value info line, a joint count and one 12-value line per joint) over the per-line token counts
   and reports the first violation with its line.
"""

from __future__ import annotations

import numba
import numpy as np

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)
_EXACT_MANTISSA = 2**53

# Status codes of walk_structure; messages live in ntu_format.py.
OK = 0
EMPTY = 1
BAD_FRAME_COUNT = 2
FRAME_COUNT_TOO_LARGE = 3
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
    """Tokenise ``buf`` (uint8 array).

    Returns:
        vals: float64 (n_tokens,) token values (NaN where ``slow`` or bad).
        tok_start, tok_end: int64 (n_tokens,) byte offsets of each token.
        slow: bool (n_tokens,) tokens to convert with Python ``float()``.
        line_tok0: int64 (n_lines + 1,) index of each line's first token (prefix sums).
        bad_token: index of the first token that is not a number, or -1.
    """
    n = buf.shape[0]
    cap = n // 2 + 2
    vals = np.empty(cap, np.float64)
    tok_start = np.empty(cap, np.int64)
    tok_end = np.empty(cap, np.int64)
    slow = np.zeros(cap, np.bool_)
    n_lines = 1
    for i in range(n):
        if buf[i] == 10:
            n_lines += 1
    line_tok0 = np.empty(n_lines + 1, np.int64)
    line_tok0[0] = 0
    line = 0
    nt = 0
    bad_token = -1
    i = 0
    while i < n:
        c = buf[i]
        if c == 10:
            line += 1
            line_tok0[line] = nt
            i += 1
            continue
        if c == 32 or c == 9 or c == 13:
            i += 1
            continue
        # a token
        s = i
        while i < n and buf[i] != 32 and buf[i] != 9 and buf[i] != 13 and buf[i] != 10:
            i += 1
        tok_start[nt] = s
        tok_end[nt] = i
        v, ok, exact = _parse_number(buf, s, i)
        vals[nt] = v
        if not ok:
            if bad_token < 0:
                bad_token = nt
        elif not exact:
            slow[nt] = True
        nt += 1
    line_tok0[line + 1] = nt
    for k in range(line + 2, n_lines + 1):
        line_tok0[k] = nt
    return vals[:nt], tok_start[:nt], tok_end[:nt], slow[:nt], line_tok0, bad_token


@numba.njit(cache=True, nogil=True, inline="always")
def _parse_number(buf, s, e):  # pragma: no cover - compiled
    """Parse buf[s:e] as a decimal number. Returns (value, is_number, is_exact)."""
    i = s
    neg = False
    if buf[i] == 45 or buf[i] == 43:  # '-' '+'
        neg = buf[i] == 45
        i += 1
    if i >= e:
        return np.nan, False, False
    # nan / inf, case-insensitive
    c0 = buf[i] | 32
    if c0 == 110 or c0 == 105:  # 'n' 'i'
        if e - i == 3:
            a, b, c = buf[i] | 32, buf[i + 1] | 32, buf[i + 2] | 32
            if a == 110 and b == 97 and c == 110:
                return np.nan, True, True
            if a == 105 and b == 110 and c == 102:
                return (-np.inf if neg else np.inf), True, True
        return np.nan, False, False
    mant = 0
    n_digits = 0
    frac = 0
    seen_dot = False
    any_digit = False
    while i < e:
        c = buf[i]
        if 48 <= c <= 57:
            any_digit = True
            if mant == 0 and c == 48:
                if seen_dot:
                    frac += 1
            else:
                if n_digits < 18:
                    mant = mant * 10 + (c - 48)
                    n_digits += 1
                    if seen_dot:
                        frac += 1
                else:
                    n_digits += 1  # too many digits: exact path impossible
                    if not seen_dot:
                        frac -= 1
        elif c == 46 and not seen_dot:
            seen_dot = True
        else:
            break
        i += 1
    if not any_digit:
        return np.nan, False, False
    exp = 0
    if i < e:
        if buf[i] != 101 and buf[i] != 69:  # 'e' 'E'
            return np.nan, False, False
        i += 1
        eneg = False
        if i < e and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        if i >= e:
            return np.nan, False, False
        while i < e:
            c = buf[i]
            if not (48 <= c <= 57):
                return np.nan, False, False
            if exp < 10000:
                exp = exp * 10 + (c - 48)
            i += 1
        if eneg:
            exp = -exp
    k = frac - exp  # value = mant / 10**k
    if n_digits > 15 or mant >= _EXACT_MANTISSA:
        return np.nan, True, False
    v = float(mant)
    if k == 0:
        pass
    elif 0 < k <= 22:
        v = v / _POW10[k]
    elif -22 <= k < 0:
        v = v * _POW10[-k]
        if mant != 0 and -k + n_digits > 15:
            return np.nan, True, False  # product may not be exact
    elif mant != 0:
        return np.nan, True, False
    return (-v if neg else v), True, True


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
    if fv > n_used - 1:  # each frame needs at least one line: never allocate for an absurd count
        return FRAME_COUNT_TOO_LARGE, 0, n_used - 1, 0, empty_i64, empty_i64, empty_i64, empty_i64
    n_frames = int(fv)
    cap = n_used // (n_joints + 2) + 1
    bodies = np.zeros(n_frames, np.int64)
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
