"""HDF5 part files: every raw field round-trips; xyz-only reads; rejected table round trip."""

from __future__ import annotations

import numpy as np

from skelpipe.io.h5store import ParsedWriter, Sequence, SequenceWriter, iter_parsed, iter_sequences
from skelpipe.io.raw_sources import Rejected
from skelpipe.io.rejected import read_rejected, write_rejected
from tests.helpers import raw_skeleton


def test_parsed_round_trip_in_small_blocks(tmp_path) -> None:
    raws = [raw_skeleton(n_frames=3 + k, bodies=1 + k % 2, seed=k) for k in range(7)]
    for k, r in enumerate(raws):
        r.name = f"S001C001P001R001A{k + 1:03d}"
    w = ParsedWriter(tmp_path / "part-00000.h5", chunk_rows=4, flush_rows=5)
    for r in raws:
        w.append(r)
    w.close()
    back = list(iter_parsed(tmp_path, block_rows=3))
    assert [b.name for b in back] == [r.name for r in raws]
    for a, b in zip(raws, back, strict=True):
        np.testing.assert_array_equal(a.joints, b.joints)
        np.testing.assert_array_equal(a.body_id, b.body_id)
        np.testing.assert_array_equal(a.body_frame, b.body_frame)
        np.testing.assert_array_equal(a.body_info, b.body_info)
        np.testing.assert_array_equal(a.bodies_per_frame, b.bodies_per_frame)
    xyz = list(iter_parsed(tmp_path / "part-00000.h5", xyz_only=True))
    np.testing.assert_array_equal(xyz[3].joints, raws[3].joints[:, :, :3])


def test_sequences_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    seqs = [Sequence(f"s{k}", rng.normal(size=(5 + k, 2, 25, 3)).astype(np.float32), 1 + k % 2)
            for k in range(5)]  # fmt: skip
    for part in range(2):
        w = SequenceWriter(tmp_path / f"part-{part:05d}.h5", 2, 25, "ntu25", chunk_rows=3)
        for s in seqs[part * 3 : part * 3 + 3]:
            w.append(s)
        w.close()
    back = list(iter_sequences(tmp_path, block_rows=4))
    assert [b.name for b in back] == [s.name for s in seqs]
    for a, b in zip(seqs, back, strict=True):
        np.testing.assert_array_equal(a.joints, b.joints)
        assert a.n_actors == b.n_actors


def test_rejected_table_round_trip(tmp_path) -> None:
    rows = [
        Rejected("a", "x.zip:a.skeleton", 12, 'odd, "quoted" reason'),
        Rejected("b", "b", None, "r"),
    ]
    write_rejected(tmp_path / "r.csv", rows)
    assert read_rejected(tmp_path / "r.csv") == rows
