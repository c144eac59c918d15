"""`skelpipe show`: PNG strips from raw NTU / NW-UCLA files or a store name; clean errors."""

from __future__ import annotations

from PIL import Image
from typer.testing import CliRunner

from skelpipe.cli.main import app
from tests.helpers import build_store, make_sequences


def _png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


def test_show_raw_files_of_both_datasets(tmp_path, shared_data) -> None:
    two = shared_data / "ntu_raw_samples" / "S001C001P001R001A050.skeleton"  # two actors
    ucla = shared_data / "nw_ucla" / "all_sqe" / "a01_s01_e00_v01.json"
    for src, frames in ((two, 6), (ucla, 4)):
        out = tmp_path / f"{src.stem}.png"
        result = CliRunner().invoke(
            app, ["show", str(src), "--out", str(out), "--frames", str(frames)]
        )
        assert result.exit_code == 0, result.output
        w, h = _png_size(out)
        assert w > h > 50  # one row of frames


def test_show_by_store_name_and_bad_inputs(tmp_path) -> None:
    _, store = build_store(tmp_path, make_sequences(n=6))
    name = store.names[2]
    out = tmp_path / "s.png"
    args = ["show", name, "--store", str(tmp_path / "store.zarr"), "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    _png_size(out)
    bad = tmp_path / "S001C001P001R001A002.skeleton"
    bad.write_text("12\n")
    result = CliRunner().invoke(app, ["show", str(bad), "--out", str(tmp_path / "b.png")])
    assert result.exit_code == 1 and "S001C001P001R001A002.skeleton" in result.output
    for where, reason in (
        (tmp_path / "store.zarr", "not a sample of"),
        (tmp_path, "not a sample store"),
    ):
        result = CliRunner().invoke(app, ["show", "S099C001P001R001A001", "--store", str(where)])
        assert result.exit_code == 1 and reason in result.output, result.output
