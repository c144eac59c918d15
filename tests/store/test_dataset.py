"""The torch Dataset over the store, including per-worker handles in a DataLoader."""

from __future__ import annotations

import numpy as np
import torch

from skelpipe.store.dataset import SkeletonDataset
from tests.helpers import build_store, make_sequences


def test_dataset_items_and_workers(tmp_path) -> None:
    seqs = make_sequences(n=40)
    _, store = build_store(tmp_path, seqs)
    ds = SkeletonDataset(tmp_path / "store.zarr", "ntu60_xsub", "train")
    x, label, idx = ds[0]
    assert x.dtype == torch.float32 and x.shape[1:] == (2, 25, 3)
    np.testing.assert_array_equal(x.numpy(), seqs[idx].joints)
    assert label == store.meta["label"][idx]
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    seen = sorted(int(i) for _, _, i in loader)
    assert seen == sorted(ds.indices.tolist())
