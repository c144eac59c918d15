"""Parser: exactness on real files, round trip, and one clear message per kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.io.ntu_format import (
    RawSkeleton,
    SkeletonFormatError,
    format_skeleton,
    parse_skeleton,
)
from tests.helpers import raw_skeleton

NAME = "S001C001P001R001A001"


def _text(raw: RawSkeleton | None = None, newline: str = "\n") -> str:
    return format_skeleton(raw or raw_skeleton(), newline=newline).decode()


def _error(text: str) -> SkeletonFormatError:
    with pytest.raises(SkeletonFormatError) as info:
        parse_skeleton(text.encode(), NAME, "f.skeleton")
    return info.value


def test_round_trip_keeps_every_field_and_64bit_ids() -> None:
    raw = raw_skeleton(n_frames=4, bodies=2)
    back = parse_skeleton(format_skeleton(raw), NAME)
    assert back.body_id.dtype == np.uint64
    np.testing.assert_array_equal(back.body_id, raw.body_id)
    assert int(back.body_id[1]) == 72057594037931102  # float64 would round this
    np.testing.assert_array_equal(back.bodies_per_frame, raw.bodies_per_frame)
    np.testing.assert_array_equal(back.body_frame, raw.body_frame)
    np.testing.assert_array_equal(back.body_info, raw.body_info)
    np.testing.assert_allclose(back.joints, raw.joints, rtol=1e-6)


def test_values_equal_float32_of_python_float() -> None:
    text = _text().replace(_text().splitlines()[4].split()[0], "0.2181654", 1)
    raw = parse_skeleton(text.encode(), NAME)
    assert raw.joints[0, 0, 0] == np.float32(float("0.2181654"))
    tokens = ["-1.5e-3", "12345678901234567", "3", "1E2", "+0.5"]
    line = " ".join(tokens + ["0"] * 7)
    lines = _text().splitlines()
    lines[4] = line
    raw = parse_skeleton("\n".join(lines).encode(), NAME)
    expected = np.float32([float(t) for t in tokens])
    np.testing.assert_array_equal(raw.joints[0, 0, :5], expected)


def test_real_files_crlf_equals_lf(shared_data) -> None:
    folder = shared_data / "ntu_raw_samples"
    lf = parse_skeleton((folder / f"{NAME}.skeleton").read_bytes(), NAME)
    crlf_bytes = (folder / "crlf_variant" / f"{NAME}.skeleton").read_bytes()
    assert b"\r\n" in crlf_bytes
    crlf = parse_skeleton(crlf_bytes, NAME)
    np.testing.assert_array_equal(lf.joints, crlf.joints)
    np.testing.assert_array_equal(lf.body_id, crlf.body_id)
    assert lf.n_frames == 103 and int(lf.body_id[0]) == 72057594037931101


def test_real_files_match_reference_joints(shared_data) -> None:
    ref = np.load(shared_data / "ntu_reference_outputs" / "denoised.npz")
    for path in sorted((shared_data / "ntu_raw_samples").glob("*.skeleton")):
        raw = parse_skeleton(path.read_bytes(), path.stem)
        if len(np.unique(raw.body_id)) == 1:  # single body: denoising is the identity
            np.testing.assert_array_equal(raw.joints[:, :, :3].reshape(-1, 75), ref[path.stem])


def test_tabs_runs_of_spaces_and_trailing_blank_lines_are_valid() -> None:
    text = _text().replace(" ", " \t  ") + "\n\n  \n"
    raw = parse_skeleton(text.encode(), NAME)
    np.testing.assert_allclose(raw.joints, raw_skeleton().joints, rtol=1e-6)


def _lines() -> list[str]:
    return _text().splitlines()


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("mutate", "line", "reason"),
    [
        (lambda ls: [], 1, "empty file"),
        (lambda ls: ls[:30], 31, "unexpected end of file in frame 2 of 3"),
        (lambda ls: ["garbage here"] + ls[1:], 1, "non-numeric value 'garbage'"),
        (
            lambda ls: ls[:5] + [ls[5].replace(ls[5].split()[2], "1.2x", 1)] + ls[6:],
            6,
            "non-numeric value '1.2x'",
        ),
        (lambda ls: ls[:3] + ["24"] + ls[4:], 4, "joint count 24, expected 25"),
        (
            lambda ls: ls[:6] + [" ".join(ls[6].split()[:11])] + ls[7:],
            7,
            "joint line has 11 values, expected 12",
        ),
        (lambda ls: ls[:1] + ["2"] + ls[2:], 30, "expected a 10-value body info line"),
        (
            lambda ls: ls[:4] + [ls[4].replace(ls[4].split()[1], "nan", 1)] + ls[5:],
            5,
            "NaN or infinite value",
        ),
        (lambda ls: ls + ["1"], 86, "content after the declared 3 frames"),
        # 10**15 frames would be petabytes if allocated: the error proves it was not
        (lambda ls: ["1000000000000000"] + ls[1:], 86, "frame 4 of 1000000000000000 (truncated"),
        (lambda ls: ["2", "0", "0"], 1, "no body in any of the 2 frames"),
        (lambda ls: ls[:10] + [""] + ls[10:], 11, "blank line inside the data"),
        (lambda ls: ["-3"] + ls[1:], 1, "expected the frame count"),
    ],
)
def test_bad_input_gives_file_line_and_reason(mutate, line, reason) -> None:
    err = _error(_join(mutate(_lines())) if mutate(_lines()) else "")
    assert err.source == "f.skeleton"
    assert err.line == line
    assert reason in err.reason
    assert str(err).startswith(f"f.skeleton:{line}: " if line else "f.skeleton: ")
    assert "\n" not in str(err)


def test_body_id_must_be_64bit_unsigned() -> None:
    lines = _lines()
    lines[2] = lines[2].replace(lines[2].split()[0], "18446744073709551616", 1)  # 2**64
    err = _error(_join(lines))
    assert err.line == 3 and "64-bit" in err.reason


def test_garbage_binary_does_not_crash() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        blob = rng.integers(0, 256, size=int(rng.integers(1, 400)), dtype=np.uint8).tobytes()
        with pytest.raises(SkeletonFormatError):
            parse_skeleton(blob, NAME)
