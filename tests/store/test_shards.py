"""The zarr store: round trip, one shard per sample, O(shards) files, splits and validation."""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.io.h5store import Sequence
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import NTU25
from skelpipe.store.shards import (
    ShardError,
    StoreWriter,
    decode_names,
    encode_names,
    shards_needed,
)
from skelpipe.store.splits import NTU60_XSUB_TRAIN
from tests.helpers import SHARD_PARAMS, build_store, make_sequences


def test_round_trip_and_metadata(tmp_path) -> None:
    seqs = make_sequences()
    counts, store = build_store(tmp_path, seqs)
    assert len(store) == len(seqs) == counts["n_samples"]
    for i, s in enumerate(seqs):
        assert store.names[i] == s.name
        np.testing.assert_array_equal(store.sample(i), s.joints)
        sid = SampleId.from_name(s.name)
        assert store.meta["label"][i] == sid.action - 1
        assert store.meta["subject"][i] == sid.subject
        assert store.meta["n_actors"][i] == s.n_actors


def test_no_sample_straddles_a_shard_and_files_are_few(tmp_path) -> None:
    counts, store = build_store(tmp_path, make_sequences(n=120))
    first = store.frame_start // SHARD_PARAMS.shard_frames
    last = (store.frame_start + store.n_frames - 1) // SHARD_PARAMS.shard_frames
    np.testing.assert_array_equal(first, last)
    shard_files = [
        p
        for p in (tmp_path / "store.zarr" / "joints").rglob("*")
        if p.is_file() and p.name != "zarr.json"
    ]
    assert len(shard_files) == counts["n_shards"]
    total = sum(s for s in store.n_frames)
    assert counts["n_shards"] <= total // SHARD_PARAMS.shard_frames + 1 + total // (
        4 * SHARD_PARAMS.shard_frames
    )


def test_splits_follow_reference_and_validation_is_by_subject(tmp_path) -> None:
    _, store = build_store(tmp_path, make_sequences(n=80))
    train, val, test = (store.split("ntu60_xsub", p) for p in ("train", "val", "test"))
    subj = store.meta["subject"]
    assert set(subj[train]) | set(subj[val]) <= set(NTU60_XSUB_TRAIN)
    assert not set(subj[test]) & set(NTU60_XSUB_TRAIN)
    assert len(val) > 0 and not set(subj[val]) & set(subj[train])
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(len(store)))
    cams = store.meta["camera"]
    assert set(cams[store.split("ntu60_xview", "test")]) == {1}


def test_labels_outside_the_dataset_are_rejected(tmp_path) -> None:
    writer = StoreWriter(tmp_path / "s.zarr", NTU25, SHARD_PARAMS, 4)
    seq = Sequence("S018C001P050R001A100", np.zeros((5, 2, 25, 3), np.float32), 1)
    with pytest.raises(ShardError, match="not a ntu60 class"):
        writer.append(seq)
    long = Sequence("S001C001P001R001A001", np.zeros((300, 2, 25, 3), np.float32), 1)
    with pytest.raises(ShardError, match="exceed"):
        writer.append(long)


def test_names_encoding_round_trip() -> None:
    names = ["S001C001P001R001A001", "a01_s01_e00_v01"]
    assert decode_names(encode_names(names)) == names


def test_shard_bound_holds() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = rng.integers(1, 256, size=int(rng.integers(1, 300)))
        used, fill = 1, 0
        for t in n:  # the greedy packing of StoreWriter
            if fill + t > 256:
                used, fill = used + 1, 0
            fill += t
        assert used <= shards_needed(n, 256)


def test_validation_fold_by_sample_is_a_seeded_share_of_train() -> None:
    from skelpipe.store.splits import validation_fold

    train = np.arange(100, 300)
    subjects = np.zeros(400, dtype=np.int64)  # one subject: a subject fold would be empty
    rest, val = validation_fold(train, subjects, 0.1, 3, group_by="sample")
    assert len(val) == 20 and len(rest) == 180
    assert sorted(np.concatenate([rest, val]).tolist()) == train.tolist()
    assert np.all(np.diff(rest) > 0) and np.all(np.diff(val) > 0)  # original order kept
    again = validation_fold(train, subjects, 0.1, 3, group_by="sample")[1]
    other = validation_fold(train, subjects, 0.1, 4, group_by="sample")[1]
    assert np.array_equal(val, again) and not np.array_equal(val, other)
    assert validation_fold(train, subjects, 0.1, 3, group_by="subject")[1].size == 0
    with pytest.raises(ValueError, match="group_by"):
        validation_fold(train, subjects, 0.1, 3, group_by="camera")
