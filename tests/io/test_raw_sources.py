"""Raw sources: folders and zip archives read in place, unsafe or misnamed members rejected."""

from __future__ import annotations

import zipfile

import numpy as np

from skelpipe.io.raw_sources import Rejected, list_raw_files, load_raw

A001 = "S001C001P001R001A001"
A050 = "S001C001P001R001A050"


def _zip(tmp_path, shared_data, members: dict[str, str]):
    path = tmp_path / "nturgbd_skeletons_s001_to_s017.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, sample in members.items():
            zf.writestr(
                member, (shared_data / "ntu_raw_samples" / f"{sample}.skeleton").read_bytes()
            )
    return path


def test_zip_members_equal_files(tmp_path, shared_data) -> None:
    archive = _zip(
        tmp_path,
        shared_data,
        {f"nturgb+d_skeletons/{A001}.skeleton": A001, f"nturgb+d_skeletons/{A050}.skeleton": A050},
    )
    files, rejected, skipped = list_raw_files([archive])
    assert [f.name for f in files] == [A001, A050] and not rejected and skipped == 0
    assert files[0].source.endswith(f"{archive.name}:nturgb+d_skeletons/{A001}.skeleton")
    direct = load_raw(list_raw_files([shared_data / "ntu_raw_samples" / f"{A050}.skeleton"])[0][0])
    zipped = load_raw(files[1])
    np.testing.assert_array_equal(direct.joints, zipped.joints)
    np.testing.assert_array_equal(direct.body_id, zipped.body_id)


def test_unsafe_and_misnamed_members_are_rejected(tmp_path, shared_data) -> None:
    archive = _zip(
        tmp_path,
        shared_data,
        {
            f"../{A001}.skeleton": A001,
            f"/abs/{A050}.skeleton": A050,
            "notes/readme.skeleton": A001,
            f"ok/{A001}.skeleton": A001,
        },
    )
    files, rejected, _ = list_raw_files([archive])
    assert [f.name for f in files] == [A001]
    reasons = sorted(r.reason for r in rejected)
    assert sum("unsafe member path" in r for r in reasons) == 2
    assert any("not an NTU sample name" in r for r in reasons)


def test_folder_with_zips_missing_list_and_duplicates(tmp_path, shared_data) -> None:
    _zip(tmp_path, shared_data, {f"{A001}.skeleton": A001})
    (tmp_path / f"{A001}.skeleton").write_bytes(b"dup")
    (tmp_path / f"{A050}.skeleton").write_bytes(
        (shared_data / "ntu_raw_samples" / f"{A050}.skeleton").read_bytes()
    )
    files, rejected, skipped = list_raw_files([tmp_path], skip_names=[A050])
    assert [f.name for f in files] == [A001] and skipped == 1
    assert len(rejected) == 1 and "duplicate sample" in rejected[0].reason


def test_bad_file_becomes_rejected_row_with_line(tmp_path) -> None:
    bad = tmp_path / f"{A001}.skeleton"
    bad.write_text("2\n1\n")
    result = load_raw(list_raw_files([tmp_path])[0][0])
    assert isinstance(result, Rejected)
    assert result.line == 3 and "unexpected end of file in frame 1 of 2" in result.reason
    assert result.message().startswith(f"{bad}:3: ")


def test_corrupt_archives_are_rejected_not_raised(tmp_path, shared_data) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    archive = _zip(tmp_path, shared_data, {f"{A050}.skeleton": A050})
    data = bytearray(archive.read_bytes())
    data[200:260] = b"\x00" * 60  # damage the compressed member
    archive.write_bytes(bytes(data))
    files, rejected, _ = list_raw_files([tmp_path])
    assert any("unreadable zip archive" in r.reason for r in rejected)
    for ref in files:
        result = load_raw(ref)
        assert isinstance(result, Rejected) and "cannot read" in result.reason
