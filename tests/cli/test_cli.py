"""`skelpipe validate`: one line per bad file naming file and line; exit status."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from skelpipe.cli.main import app


def test_validate_reports_each_bad_file(tmp_path, shared_data) -> None:
    good = shared_data / "ntu_raw_samples" / "S001C001P001R001A050.skeleton"
    shutil.copy(good, tmp_path / good.name)
    (tmp_path / "S001C001P001R001A002.skeleton").write_text("")
    (tmp_path / "S001C001P001R001A003.skeleton").write_bytes(
        b"".join(good.read_bytes().splitlines(True)[:40])
    )
    (tmp_path / "notes.skeleton").write_bytes(good.read_bytes())
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 1
    lines = [ln for ln in result.stdout.splitlines() if ln]
    assert len(lines) == 3
    assert any("A002.skeleton:1: empty file" in ln for ln in lines)
    assert any("A003.skeleton:" in ln and "unexpected end of file" in ln for ln in lines)
    assert any("notes.skeleton: " in ln and "not an NTU sample name" in ln for ln in lines)


def test_validate_all_good_exits_zero(shared_data) -> None:
    result = CliRunner().invoke(app, ["validate", str(shared_data / "ntu_raw_samples")])
    # the crlf_variant copy duplicates a top-level sample and is reported as such
    assert result.exit_code == 1
    assert result.stdout.count("duplicate sample") == 1
    single = shared_data / "ntu_raw_samples" / "crlf_variant"
    assert CliRunner().invoke(app, ["validate", str(single)]).exit_code == 0


def test_validate_nw_ucla_folder(tmp_path, shared_data) -> None:
    for p in sorted((shared_data / "nw_ucla" / "all_sqe").glob("a01_s01_*.json"))[:3]:
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "a02_s01_e00_v01.json").write_text('{"skeletons": [[[0, 0]]]}')
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 1
    assert "a02_s01_e00_v01.json" in result.stdout and "expected (T>0, 20, 3)" in result.stdout
