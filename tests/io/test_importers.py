"""Keypoint importers: what a file holds comes back as float32 (M, T, V, C); bad samples become
Rejected rows while good ones are kept; a hostile pickle is refused without running."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from skelpipe.io.keypoints import KeypointSample, KeypointSource, SourceError
from skelpipe.io.mars import open_mars
from skelpipe.io.mmfi import open_mmfi
from skelpipe.io.npz_folder import open_npz_folder
from skelpipe.io.pyskl import open_pyskl
from skelpipe.io.raw_sources import Rejected
from skelpipe.io.safe_pickle import load_pickle

RNG = np.random.default_rng(0)


def _collect(source: KeypointSource) -> tuple[dict[str, KeypointSample], list[Rejected]]:
    samples: dict[str, KeypointSample] = {}
    rejected: list[Rejected] = []
    for item in source.samples:
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            samples[item.name] = item
    return samples, rejected


def _reasons(rejected: list[Rejected]) -> dict[str, str]:
    assert all(r.stage == "ingest" for r in rejected)
    return {r.name: r.message() for r in rejected}


def _dump(path: Path, obj: object, protocol: int = pickle.HIGHEST_PROTOCOL) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


# --- safe_pickle -------------------------------------------------------------------------------


class _Hostile:
    """Unpickling this would run a shell command (the classic pickle exploit)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_of_numpy_data_round_trips(tmp_path, protocol) -> None:
    data = {
        "a": RNG.normal(size=(2, 3, 4)).astype(np.float32),
        "b": np.arange(5, dtype=np.int64),
        "s": np.float64(1.5),
        "i": np.int32(7),
        "names": np.array(["x", "yy"]),
        "nested": [("t", 1, 2.0, None, True, b"raw"), {"k": {1, 2}}],
    }
    back = load_pickle(_dump(tmp_path / "ok.pkl", data, protocol))
    assert back.keys() == data.keys() and back["nested"] == data["nested"]
    for key in ("a", "b", "names"):
        np.testing.assert_array_equal(back[key], data[key])
        assert back[key].dtype == data[key].dtype
    assert back["s"] == 1.5 and back["i"] == 7 and back["i"].dtype == np.int32


def test_pickle_from_numpy_1_is_read_without_warnings(tmp_path, recwarn) -> None:
    # numpy < 2 wrote numpy.core.multiarray; protocol 2 spells globals as plain text lines
    raw = pickle.dumps({"a": np.arange(6.0).reshape(2, 3)}, protocol=2)
    assert b"numpy._core.multiarray" in raw
    (tmp_path / "old.pkl").write_bytes(raw.replace(b"numpy._core.", b"numpy.core."))
    np.testing.assert_array_equal(
        load_pickle(tmp_path / "old.pkl")["a"], np.arange(6.0).reshape(2, 3)
    )
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_hostile_pickle_is_refused_and_not_run(tmp_path, protocol) -> None:
    marker = tmp_path / "pwned"
    path = _dump(tmp_path / "evil.pkl", {"annotations": [_Hostile(marker)]}, protocol)
    with pytest.raises(SourceError) as err:
        load_pickle(path)
    assert f"{os.system.__module__}.system" in str(err.value) and str(path) in str(err.value)
    with pytest.raises(SourceError, match="refused"):
        open_pyskl(path)
    assert not marker.exists()


def test_refused_global_is_not_even_imported(tmp_path) -> None:
    # GLOBAL opcode naming the stdlib 'this' module (prints the Zen of Python when imported)
    assert "this" not in sys.modules
    path = tmp_path / "import.pkl"
    path.write_bytes(b"cthis\ns\n.")
    with pytest.raises(SourceError, match=r"this\.s"):
        load_pickle(path)
    path.write_bytes(pickle.dumps(eval))
    with pytest.raises(SourceError, match=r"builtins\.eval"):
        load_pickle(path)
    assert "this" not in sys.modules


def test_truncated_corrupt_and_missing_pickles(tmp_path) -> None:
    good = pickle.dumps({"annotations": [{"keypoint": np.zeros((1, 4, 17, 2))}]}, protocol=4)
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(SourceError, match="truncated") as err:
        load_pickle(truncated)
    assert str(truncated) in str(err.value) and err.value.__suppress_context__
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x80\x04this is not a pickle at all")
    with pytest.raises(SourceError, match="garbage.pkl"):
        load_pickle(garbage)
    with pytest.raises(SourceError, match="cannot open"):
        load_pickle(tmp_path / "absent.pkl")


# --- pyskl -------------------------------------------------------------------------------------


def _ann(name: str, label: int = 0, shape=(2, 6, 17, 2), **extra) -> dict:
    m, t, v, _ = shape
    ann = {
        "frame_dir": name,
        "label": label,
        "keypoint": RNG.uniform(0, 500, size=shape).astype(np.float16),
        "keypoint_score": RNG.uniform(0, 1, size=(m, t, v)).astype(np.float16),
        "img_shape": (1080, 1920),
        "original_shape": (1080, 1920),
        "total_frames": t,
    }
    return ann | extra


def test_pyskl_round_trip_2d(tmp_path) -> None:
    anns = [_ann("S001C001P001R001A001", 0), _ann("S001C001P001R001A002", 1, (1, 3, 17, 2))]
    split = {"xsub_train": ["S001C001P001R001A001"], "xsub_val": ["S001C001P001R001A002"]}
    source = open_pyskl(_dump(tmp_path / "hrnet.pkl", {"split": split, "annotations": anns}))
    assert (source.format, source.layout, source.channels) == ("pyskl", "coco17", ("x", "y"))
    assert source.splits == split
    samples, rejected = _collect(source)
    assert not rejected and list(samples) == [a["frame_dir"] for a in anns]
    for ann in anns:
        got = samples[ann["frame_dir"]]
        assert got.keypoint.dtype == np.float32 and got.score.dtype == np.float32
        np.testing.assert_array_equal(got.keypoint, ann["keypoint"].astype(np.float32))
        np.testing.assert_array_equal(got.score, ann["keypoint_score"].astype(np.float32))
        assert (got.label, got.img_shape, got.mask) == (ann["label"], (1080, 1920), None)


def test_pyskl_3d_without_scores_infers_ntu25(tmp_path) -> None:
    ann = {"frame_dir": "a", "label": 5, "keypoint": RNG.normal(size=(2, 4, 25, 3))}
    source = open_pyskl(_dump(tmp_path / "3d.pkl", {"split": {}, "annotations": [ann]}))
    assert (source.layout, source.channels) == ("ntu25", ("x", "y", "z"))
    got = _collect(source)[0]["a"]
    np.testing.assert_array_equal(got.keypoint, ann["keypoint"].astype(np.float32))
    assert got.score is None and got.img_shape is None and got.label == 5


def test_pyskl_bad_annotations_are_rejected_good_kept(tmp_path) -> None:
    nan = _ann("nan")
    nan["keypoint"][0, 2, 3, 1] = np.nan
    no_label = _ann("no_label")
    del no_label["label"]
    anns = [
        _ann("good1"),
        nan,
        no_label,
        _ann("neg", label=-1),
        _ann("bool", label=True),
        _ann("v18", shape=(1, 4, 18, 2)),
        _ann("short", total_frames=99),
        _ann("badscore", keypoint_score=np.ones((2, 6, 3))),
        "not a dict",
        _ann("good1"),
        _ann("good2"),
    ]
    path = _dump(tmp_path / "mixed.pkl", {"split": {"x": ["good1"]}, "annotations": anns})
    samples, rejected = _collect(open_pyskl(path))
    assert list(samples) == ["good1", "good2"]
    reasons = _reasons(rejected)
    order = ["nan", "no_label", "neg", "bool", "v18", "short", "badscore", "annotation_8", "good1"]
    assert list(reasons) == order
    assert reasons["nan"] == f"{path} annotation 1: frame_dir 'nan': keypoint has 1 NaN/inf values"
    assert "missing keys ['label']" in reasons["no_label"]
    assert "not an integer >= 0" in reasons["neg"] and "not an integer" in reasons["bool"]
    assert "expected (M, T, 17, 2)" in reasons["v18"] and "total_frames 99" in reasons["short"]
    assert "keypoint_score shape" in reasons["badscore"] and "duplicate" in reasons["good1"]


def test_pyskl_source_errors(tmp_path) -> None:
    odd = {"frame_dir": "a", "label": 0, "keypoint": np.zeros((1, 4, 21, 2))}
    with pytest.raises(SourceError, match=r"cannot infer the layout of 21 joints.*pass layout="):
        open_pyskl(_dump(tmp_path / "odd.pkl", {"annotations": [odd]}))
    path = _dump(tmp_path / "v17.pkl", {"annotations": [_ann("a")]})
    with pytest.raises(SourceError, match="'ntu25' has 25 joints, data 17"):
        open_pyskl(path, layout="ntu25")
    with pytest.raises(SourceError, match="unknown skeleton layout"):
        open_pyskl(path, layout="no_such_layout")
    with pytest.raises(SourceError, match="not a PYSKL pickle"):
        open_pyskl(_dump(tmp_path / "list.pkl", [_ann("a")]))
    with pytest.raises(SourceError, match="'split' is not a dict"):
        open_pyskl(_dump(tmp_path / "split.pkl", {"split": [1], "annotations": [_ann("a")]}))
    ucla = {"frame_dir": "a", "label": 0, "keypoint": np.zeros((1, 4, 20, 3))}
    assert open_pyskl(_dump(tmp_path / "u.pkl", {"annotations": [ucla]}), "ucla20").layout


# --- npz folder --------------------------------------------------------------------------------


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def test_npz_folder_round_trip_and_rejects(tmp_path) -> None:
    one = RNG.normal(size=(5, 25, 3))  # (T, N, D)
    two = RNG.normal(size=(4, 2, 25, 3)).astype(np.float32)  # (T, M, N, D)
    mask = np.array([1, 1, 0, 1], dtype=bool)
    _npz(tmp_path / "one.npz", poses=one)
    _npz(tmp_path / "two.npz", poses=two, mask=mask)
    (tmp_path / "fake.npz").write_text("not a zip")
    (tmp_path / "notes.txt").write_text("hello")
    _npz(tmp_path / "nan.npz", poses=np.full((3, 25, 3), np.nan))
    _npz(tmp_path / "noposes.npz", joints=one)
    _npz(tmp_path / "v17.npz", poses=np.zeros((3, 17, 3)))
    _npz(tmp_path / "badmask.npz", poses=one, mask=np.ones(3))
    np.save(tmp_path / "plain.npy", one)
    (tmp_path / "plain.npy").rename(tmp_path / "plain.npz")
    source = open_npz_folder(tmp_path)
    assert (source.format, source.layout, source.channels) == ("npz", "ntu25", ("x", "y", "z"))
    assert source.splits == {}
    samples, rejected = _collect(source)
    assert sorted(samples) == ["one", "two"]
    np.testing.assert_array_equal(samples["one"].keypoint, one[None].astype(np.float32))
    np.testing.assert_array_equal(samples["two"].keypoint, two.transpose(1, 0, 2, 3))
    np.testing.assert_array_equal(samples["two"].mask, mask)
    assert samples["one"].keypoint.dtype == np.float32 and samples["one"].mask is None
    assert all(s.label is None and s.score is None for s in samples.values())
    reasons = _reasons(rejected)
    assert reasons["fake"] == f"{tmp_path / 'fake.npz'}: not an npz (zip) archive"
    assert "not an .npz file" in reasons["notes"] and "NaN/inf" in reasons["nan"]
    assert "no 'poses' array" in reasons["noposes"] and "17 joints" in reasons["v17"]
    assert "mask" in reasons["badmask"] and "not an npz" in reasons["plain"]


def test_npz_splits_with_class_folders_and_score_channel(tmp_path) -> None:
    arrays = {}
    for split, cls, name in [("train", "walk", "a"), ("train", "run", "b"), ("val", "walk", "c")]:
        arrays[name] = RNG.normal(size=(3, 17, 3))
        _npz(tmp_path / split / cls / f"{name}.npz", poses=arrays[name])
    _npz(tmp_path / "test" / "d.npz", poses=RNG.normal(size=(2, 17, 3)))
    source = open_npz_folder(tmp_path, score_channel=True)
    assert (source.layout, source.channels) == ("coco17", ("x", "y"))
    assert source.splits == {"train": ["b", "a"], "val": ["c"], "test": ["d"]}
    samples, rejected = _collect(source)
    assert not rejected
    assert {n: s.label for n, s in samples.items()} == {"a": 1, "b": 0, "c": 1, "d": None}
    np.testing.assert_array_equal(samples["a"].keypoint[0], arrays["a"][..., :2].astype("f4"))
    np.testing.assert_array_equal(samples["a"].score[0], arrays["a"][..., 2].astype("f4"))


def test_npz_labels_csv_and_numeric_class_folders(tmp_path) -> None:
    for name in ("a", "b", "c"):
        _npz(tmp_path / "3" / f"{name}.npz", poses=np.zeros((2, 17, 3)))
    source = open_npz_folder(tmp_path)
    assert source.layout == "h36m17"
    assert {n: s.label for n, s in _collect(source)[0].items()} == {"a": 3, "b": 3, "c": 3}
    (tmp_path / "labels.csv").write_text("name,label\na,0\nb.npz,7\n")
    samples, rejected = _collect(open_npz_folder(tmp_path))
    assert {n: s.label for n, s in samples.items()} == {"a": 0, "b": 7}
    assert "no label in labels.csv" in _reasons(rejected)["c"]
    (tmp_path / "labels.csv").write_text("a,zero\n")
    with pytest.raises(SourceError, match=r"labels.csv:1: expected 'name,label'"):
        open_npz_folder(tmp_path)


def test_npz_layout_inference_and_errors(tmp_path) -> None:
    for joints, dims, layout in [
        (20, 3, "ucla20"),
        (19, 3, "mars19"),
        (133, 2, "coco_wholebody133"),
    ]:
        folder = tmp_path / f"n{joints}"
        _npz(folder / "x.npz", poses=np.zeros((2, joints, dims)))
        assert open_npz_folder(folder).layout == layout
    _npz(tmp_path / "n21" / "x.npz", poses=np.zeros((2, 21, 3)))
    with pytest.raises(SourceError, match=r"cannot infer the layout of 21 joints.*pass layout="):
        open_npz_folder(tmp_path / "n21")
    with pytest.raises(SourceError, match="'ntu25' has 25 joints, data 21"):
        open_npz_folder(tmp_path / "n21", layout="ntu25")
    (tmp_path / "bad" / "x.npz").parent.mkdir()
    (tmp_path / "bad" / "x.npz").write_text("junk")
    with pytest.raises(SourceError, match="no readable npz file"):
        open_npz_folder(tmp_path / "bad")
    with pytest.raises(SourceError, match="not a folder"):
        open_npz_folder(tmp_path / "absent")


# --- MARS --------------------------------------------------------------------------------------


def _mars_rows(frames: int) -> np.ndarray:
    """(frames, 57) with x_j = 100 f + j, y_j = x_j + 0.25, z_j = x_j + 0.5."""
    x = 100.0 * np.arange(frames)[:, None] + np.arange(19)[None, :]
    return np.concatenate([x, x + 0.25, x + 0.5], axis=1)


def test_mars_clips_names_and_values(tmp_path) -> None:
    for split, frames in [("train", 10), ("validate", 8), ("test", 3)]:
        np.save(tmp_path / f"labels_{split}.npy", _mars_rows(frames))
    source = open_mars(tmp_path, clip_frames=4)
    assert (source.format, source.layout, source.channels) == ("mars", "mars19", ("x", "y", "z"))
    assert source.splits == {
        "train": ["mars_train_000000", "mars_train_000001", "mars_train_000002"],
        "validate": ["mars_validate_000000", "mars_validate_000001"],
        "test": ["mars_test_000000"],
    }
    samples, rejected = _collect(source)
    assert not rejected and list(samples) == [n for names in source.splits.values() for n in names]
    lengths = {n: s.num_frames for n, s in samples.items()}
    assert [lengths[n] for n in source.splits["train"]] == [4, 4, 2]  # remainder kept
    assert lengths["mars_test_000000"] == 3
    clip = samples["mars_train_000001"]
    assert clip.keypoint.shape == (1, 4, 19, 3) and clip.keypoint.dtype == np.float32
    assert clip.label is None and clip.score is None
    # frame 5 of the file is frame 1 of clip 1; joint 7
    np.testing.assert_array_equal(clip.keypoint[0, 1, 7], [507.0, 507.25, 507.5])


def test_mars_bad_files(tmp_path) -> None:
    rows = _mars_rows(6)
    rows[4, 30] = np.nan
    np.save(tmp_path / "labels_train.npy", rows)
    samples, rejected = _collect(open_mars(tmp_path, clip_frames=3))
    assert list(samples) == ["mars_train_000000"]
    reason = _reasons(rejected)["mars_train_000001"]
    assert reason.startswith(str(tmp_path / "labels_train.npy")) and "frames 3..5" in reason
    np.save(tmp_path / "labels_test.npy", np.zeros((5, 56)))
    with pytest.raises(SourceError, match=r"labels_test.npy: .*\(5, 56\), expected numeric"):
        open_mars(tmp_path, clip_frames=3)
    with pytest.raises(SourceError, match="clip_frames"):
        open_mars(tmp_path, clip_frames=0)
    with pytest.raises(SourceError, match="none of"):
        open_mars((tmp_path / "empty").mkdir() or tmp_path / "empty", clip_frames=3)


# --- MM-Fi -------------------------------------------------------------------------------------


def _gt(root: Path, rel: str, poses: np.ndarray) -> None:
    path = root / rel / "ground_truth.npy"
    path.parent.mkdir(parents=True)
    np.save(path, poses)


def test_mmfi_paths_labels_and_rejects(tmp_path) -> None:
    good = {
        rel: RNG.normal(size=(5, 17, 3)) for rel in ("E01/S10/A27", "E01/S02/A03", "E02/S01/A01")
    }
    for rel, poses in good.items():
        _gt(tmp_path, rel, poses)
    _gt(tmp_path, "E01/S03/A00", np.zeros((5, 17, 3)))
    _gt(tmp_path, "E03/S01/A02", np.zeros((5, 25, 3)))
    _gt(tmp_path, "Extra/S01/A01", np.zeros((5, 17, 3)))
    _gt(tmp_path, "E1/S2/A3", np.zeros((5, 17, 3)))
    source = open_mmfi(tmp_path)
    assert (source.format, source.layout, source.channels) == ("mmfi", "h36m17", ("x", "y", "z"))
    assert source.splits == {}
    samples, rejected = _collect(source)
    assert list(samples) == ["E01_S02_A03", "E01_S10_A27", "E02_S01_A01"]
    assert [samples[n].label for n in samples] == [2, 26, 0]
    got = samples["E01_S10_A27"].keypoint
    assert got.shape == (1, 5, 17, 3) and got.dtype == np.float32
    np.testing.assert_array_equal(got[0], good["E01/S10/A27"].astype(np.float32))
    reasons = _reasons(rejected)
    assert "A01 is label 0" in reasons["E01_S03_A00"] and "(T, 17, 3)" in reasons["E03_S01_A02"]
    assert "not E<number>/S<number>/A<number>" in reasons["Extra_S01_A01"]
    duplicate = next(r for r in rejected if r.name == "E01_S02_A03")
    assert duplicate.source == str(tmp_path / "E1/S2/A3/ground_truth.npy")
    assert "duplicate" in duplicate.reason
    with pytest.raises(SourceError, match="no E"):
        open_mmfi(tmp_path / "Extra")
