"""Read the sample store (see :mod:`skelpipe.store.shards` for the layout), numpy only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import zarr

from skelpipe.store.shards import META_COLUMNS, decode_names


class SampleStore:
    """Random access to samples by index or name.

    The zarr handle is opened lazily and re-opened after a fork (one handle per process /
    DataLoader worker), so a store object can be shared with worker processes safely.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        root = zarr.open_group(self.path, mode="r")
        self.attrs = dict(root.attrs)
        s = root["samples"]
        self.frame_start = s["frame_start"][:]
        self.n_frames = s["n_frames"][:]
        self.meta = {k: s[k][:] for k in META_COLUMNS}
        self.names = decode_names(s["name"][:])
        self.index_of = {n: i for i, n in enumerate(self.names)}
        self._joints = None
        self._pid = -1

    def __len__(self) -> int:
        return len(self.names)

    @property
    def joints_array(self) -> zarr.Array:
        if self._joints is None or self._pid != os.getpid():
            self._joints = zarr.open_group(self.path, mode="r")["joints"]
            self._pid = os.getpid()
        return self._joints

    @property
    def channels(self) -> tuple[str, ...]:
        """Coordinate names of the last axis (a store without the attribute holds x, y, z)."""
        return tuple(self.attrs.get("channels", ("x", "y", "z")))

    def sample(self, i: int) -> np.ndarray:
        """Joints of sample ``i``: (T, M, V, C) float32."""
        a = int(self.frame_start[i])
        return self.joints_array[a : a + int(self.n_frames[i])]

    def scores(self, i: int) -> np.ndarray | None:
        """Keypoint scores of sample ``i``: (T, M, V) float32, or None when the store has none."""
        root = zarr.open_group(self.path, mode="r")
        if "scores" not in root:
            return None
        a = int(self.frame_start[i])
        return root["scores"][a : a + int(self.n_frames[i])]

    def split(self, benchmark: str, part: str) -> np.ndarray:
        """Sample indices of ``part`` (train / val / test) of ``benchmark``."""
        root = zarr.open_group(self.path, mode="r")
        if benchmark not in root["splits"]:
            known = list(root["splits"].group_keys())
            raise KeyError(f"benchmark {benchmark!r} not in store (has {known})")
        return root["splits"][benchmark][part][:]

    def img_shape(self, i: int) -> tuple[int, int] | None:
        """(height, width) of the image sample ``i``'s 2-D coordinates refer to, as imported
        (``source_meta``), or None when the source gave none."""
        root = zarr.open_group(self.path, mode="r")
        if "source_meta" not in root:
            return None
        h, w = int(root["source_meta/img_height"][i]), int(root["source_meta/img_width"][i])
        return None if h < 0 else (h, w)


def store_splits(store: SampleStore) -> dict[str, list[str]]:
    """Split name -> sample names: the source's own splits verbatim when the store has them,
    else ``<benchmark>_<part>`` for every benchmark part."""
    root = zarr.open_group(store.path, mode="r")
    if "source_splits" in root:
        group = root["source_splits"]
        return {k: [store.names[int(i)] for i in group[k][:]] for k in sorted(group.array_keys())}
    out = {}
    for bench in sorted(root["splits"].group_keys()):
        for part in ("train", "val", "test"):
            out[f"{bench}_{part}"] = [store.names[int(i)] for i in root["splits"][bench][part][:]]
    return out
