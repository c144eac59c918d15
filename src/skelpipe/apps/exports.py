"""Reference-compatible exports, so CTR-GCN / InfoGCN / PYSKL users can adopt our preprocessing.

* CTR-GCN / InfoGCN ``NTU60_CS.npz`` ... : keys ``x_train, y_train, x_test, y_test`` with the
  reference shapes, dtypes and row order, plus ``names_train`` / ``names_test`` (unicode).
  Arrays are streamed into the npz member by member, so memory stays bounded for NTU120.
* PYSKL annotation pickle: ``{"split": {...}, "annotations": [{frame_dir, label, keypoint
  (M, T, V, C) float16, total_frames}]}``, by default denoised with PYSKL's own rules
  (:data:`PYSKL_DENOISE`), as ``tools/data/ntu_preproc.py`` writes it.
"""

from __future__ import annotations

import dataclasses
import pickle
import zipfile
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import h5py
import numpy as np

from skelpipe.datasets import get_dataset
from skelpipe.io.raw_sources import RawFileRef, Rejected
from skelpipe.parallel import ordered_map
from skelpipe.params import AlignParams, DenoiseParams
from skelpipe.preprocess.align import align_sample
from skelpipe.preprocess.chain import process_file
from skelpipe.preprocess.denoise import REFERENCE_DENOISE
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import NTU25
from skelpipe.store.splits import BENCHMARKS, benchmark_split

# PYSKL's converter: its thresholds are the reference ones (length 11, spreads 0.8 / 0.69754)
PYSKL_DENOISE = dataclasses.replace(REFERENCE_DENOISE, mode="pyskl")
PYSKL_SPLIT = {
    "ntu60_xsub": "xsub",
    "ntu60_xview": "xview",
    "ntu120_xsub": "xsub",
    "ntu120_xset": "xset",
}


def denoise_to_h5(
    files: Sequence[RawFileRef],
    path: Path,
    workers: int,
    denoise: DenoiseParams = REFERENCE_DENOISE,
) -> list[Rejected]:
    """Parse and denoise ``files`` (by default as the reference scripts do,
    :data:`REFERENCE_DENOISE`) into an HDF5 file of one dataset per sample."""
    rejected = []
    one_file = partial(process_file, denoise=denoise)
    with h5py.File(path, "w") as f:
        for item in ordered_map(one_file, files, workers, chunksize=16):
            if isinstance(item, Rejected):
                rejected.append(item)
                continue
            ds = f.create_dataset(item.name, data=item.joints)
            ds.attrs["n_actors"] = item.n_actors
    return rejected


def _npy_stream(
    zf: zipfile.ZipFile,
    key: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    rows: Iterator[np.ndarray],
) -> None:
    """Write one ``.npy`` member of an npz, row by row (what np.savez would write whole)."""
    with zf.open(f"{key}.npy", "w", force_zip64=True) as fh:
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": shape,
        }
        np.lib.format.write_array_header_1_0(fh, header)
        for row in rows:
            fh.write(np.ascontiguousarray(row, dtype=dtype).tobytes())


def write_ctrgcn(
    h5_path: Path, out_dir: Path, dataset: str, aligned: bool
) -> dict[str, tuple[int, int]]:
    """Write the reference npz files of ``dataset`` from a :func:`denoise_to_h5` file.

    Returns:
        file name -> (n_train, n_test).
    """
    params = AlignParams(
        mode="reference",
        center=True,
        ground=False,
        pad_second_actor=get_dataset(dataset).reference_pad,
        prenormalize=False,
        workers=1,
    )
    written = {}
    with h5py.File(h5_path, "r") as f:
        names = sorted(f.keys())
        cols = {
            k: np.array([getattr(SampleId.from_name(n), k) for n in names], dtype=np.int64)
            for k in ("subject", "camera", "setup")
        }
        labels = np.array([SampleId.from_name(n).label() for n in names], dtype=np.int64)
        t_max = max((f[n].shape[0] for n in names), default=0)

        def rows(idx: np.ndarray, ground: bool) -> Iterator[np.ndarray]:
            for i in idx:
                ds = f[names[i]]
                x = align_sample(ds[()], int(ds.attrs["n_actors"]), params, NTU25)
                if ground:
                    x = align_sample(x, 2, _GROUND_ONLY, NTU25)
                out = np.zeros((t_max, 150), dtype=np.float32)  # zero padding at the end
                out[: len(x)] = x.reshape(len(x), -1)
                yield out

        for bname in get_dataset(dataset).benchmarks:
            bench = BENCHMARKS[bname]
            train, test = benchmark_split(bench, cols)
            for ground in (False, True) if aligned else (False,):
                fname = bench.reference_file.replace(".npz", "_aligned.npz" if ground else ".npz")
                _write_npz(
                    out_dir / fname,
                    train,
                    test,
                    labels,
                    names,
                    get_dataset(dataset).num_classes,
                    t_max,
                    lambda idx, g=ground: rows(idx, g),
                )
                written[fname] = (len(train), len(test))
    return written


_GROUND_ONLY = AlignParams(
    mode="reference",
    center=False,
    ground=True,
    pad_second_actor="zeros",
    prenormalize=False,
    workers=1,
)


def _write_npz(
    path: Path,
    train: np.ndarray,
    test: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    n_classes: int,
    t_max: int,
    rows,
) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for part, idx in (("train", train), ("test", test)):
            _npy_stream(zf, f"x_{part}", (len(idx), t_max, 150), np.float32, rows(idx))
            one_hot = np.zeros((len(idx), n_classes), dtype=np.float64)
            one_hot[np.arange(len(idx)), labels[idx]] = 1.0
            _npy_stream(zf, f"y_{part}", one_hot.shape, np.float64, iter(one_hot))
            part_names = np.array([names[i] for i in idx], dtype="<U20")
            _npy_stream(zf, f"names_{part}", part_names.shape, part_names.dtype, iter(part_names))
    tmp.replace(path)


def write_pyskl(h5_path: Path, out_path: Path, dataset: str) -> int:
    """Write a PYSKL 3D annotation pickle: keypoints float16 (M = number of actors), as PYSKL's
    converter writes them; the split of each benchmark of ``dataset``, names sorted."""
    with h5py.File(h5_path, "r") as f:
        names = sorted(f.keys())
        cols = {
            k: np.array([getattr(SampleId.from_name(n), k) for n in names], dtype=np.int64)
            for k in ("subject", "camera", "setup")
        }
        split: dict[str, list[str]] = {}
        for bname in get_dataset(dataset).benchmarks:
            train, test = benchmark_split(BENCHMARKS[bname], cols)
            key = PYSKL_SPLIT[bname]
            split[f"{key}_train"] = [names[i] for i in sorted(train)]
            split[f"{key}_val"] = [names[i] for i in sorted(test)]
        annotations = []
        for n in names:
            ds = f[n]
            m = int(ds.attrs["n_actors"])
            joints = ds[()][:, :m].transpose(1, 0, 2, 3)  # (M, T, V, C)
            keypoint = np.ascontiguousarray(joints.astype(np.float16))
            annotations.append(
                {
                    "frame_dir": n,
                    "label": SampleId.from_name(n).label(),
                    "keypoint": keypoint,
                    "total_frames": int(keypoint.shape[1]),
                }
            )
    tmp = out_path.with_name(out_path.name + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump({"split": split, "annotations": annotations}, fh, protocol=4)
    tmp.replace(out_path)
    return len(annotations)
