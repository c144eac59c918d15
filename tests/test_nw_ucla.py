"""NW-UCLA: the real all_sqe files through ingest -> align -> shard (1,484 samples, 1,020 / 464)."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from skelpipe.store.reader import SampleStore
from stages.align import app as align_app
from stages.ingest_ucla import app as ingest_app
from stages.shard import app as shard_app

PARAMS = """
align: {mode: reference, center: true, ground: false, pad_second_actor: zeros,
        prenormalize: false, workers: 1}
shard:
  dataset: nw_ucla
  shard_frames: 16384
  chunk_frames: 512
  compressor: zstd
  compression_level: 1
  validation: {fraction: 0.1, seed: 0, group_by: sample}
"""


def test_nw_ucla_pipeline(tmp_path, shared_data) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS)
    r = CliRunner()
    raw = shared_data / "nw_ucla" / "all_sqe"
    steps = [
        (
            ingest_app,
            ["--raw", raw, "--out", tmp_path / "ingest", "--metrics", tmp_path / "i.json"],
        ),
        (
            align_app,
            [
                "--params",
                params,
                "--denoised",
                tmp_path / "ingest",
                "--out",
                tmp_path / "align",
                "--metrics",
                tmp_path / "a.json",
            ],
        ),
        (
            shard_app,
            [
                "--params",
                params,
                "--aligned",
                tmp_path / "align",
                "--out",
                tmp_path / "store.zarr",
                "--rejected",
                tmp_path / "rej.csv",
                "--metrics",
                tmp_path / "s.json",
            ],
        ),
    ]
    for app, args in steps:
        result = r.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    store = SampleStore(tmp_path / "store.zarr")
    assert len(store) == 1484
    train, val, test = (store.split("nw_ucla_xview", p) for p in ("train", "val", "test"))
    assert len(train) + len(val) == 1020 and len(test) == 464
    assert set(store.meta["camera"][test]) == {3}
    assert set(store.meta["label"]) == set(range(10))
    x = store.sample(int(test[0]))
    assert x.shape[1:] == (1, 20, 3)
    np.testing.assert_allclose(x[0, 0, 1], 0.0, atol=1e-7)  # centred on joint 2 of frame 0
