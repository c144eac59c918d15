"""PYSKL's own NTU converter and ``skelpipe export pyskl --raw``, on the same files, compared.

    python benchmarks/vs_pyskl_converter.py --pyskl PYSKL
    python benchmarks/vs_pyskl_converter.py --pyskl PYSKL --raw nturgb+d_skeletons
    python benchmarks/vs_pyskl_converter.py --pyskl PYSKL --write-digests DIGESTS.json

``--pyskl`` is a local clone of kennymckormick/pyskl (a work tree or a bare git directory, from
which ``tools/data/ntu_preproc.py`` is read with ``git show HEAD:...``). The files are the
``.skeleton`` files of ``--raw`` (default: the real samples in ``../shared``) plus the crafted
samples of :func:`tests.helpers.pyskl_cases`, written in the ``.skeleton`` text format, each of
which exercises one of the converter's denoising rules (``--no-cases`` leaves them out).

PYSKL side: ``ntu_preproc.py`` runs unchanged, in a fresh process of this interpreter, in a
scratch folder laid out as it expects (``nturgb+d_skeletons/``, ``ntu120_missing.txt``); its two
imports from outside the standard library and numpy (``mmcv.dump``, ``pyskl.smp.mrlines``) and
``tqdm`` when missing are met by stand-ins that do what those functions do (pickle the object;
read the file's lines). Our side: ``skelpipe export pyskl --raw`` on the same folder.

Compared: the split dict (names, order), and per sample ``label``, ``total_frames`` and the
float16 ``keypoint`` array, bit for bit. Prints one JSON line per sample that differs, a summary
line, and exits 1 on any difference. ``--write-digests`` writes the converter's outputs as
SHA-256 digests (shape, label, keypoint bytes) for the tests, which then check our denoiser
against them without the PYSKL code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skelpipe.io.ntu_format import format_skeleton  # noqa: E402
from skelpipe.io.safe_pickle import load_pickle  # noqa: E402
from tests.helpers import pyskl_cases, skeleton_from_tracks  # noqa: E402

CONVERTER = "tools/data/ntu_preproc.py"
STANDINS = {
    "mmcv/__init__.py": (
        "import pickle\n\n\ndef dump(obj, path):\n"
        "    with open(path, 'wb') as f:\n        pickle.dump(obj, f, protocol=2)\n"
    ),
    "pyskl/__init__.py": "",
    "pyskl/smp.py": (
        "def mrlines(fname, sp='\\n'):\n    f = open(fname).read().split(sp)\n"
        "    while f != [] and f[-1] == '':\n        f = f[:-1]\n    return f\n"
    ),
}
TQDM = "def tqdm(it, *args, **kwargs):\n    return it\n"


def converter_source(pyskl: Path) -> str:
    """``ntu_preproc.py`` from a work tree or a bare git directory."""
    if (pyskl / CONVERTER).is_file():
        return (pyskl / CONVERTER).read_text()
    out = subprocess.run(
        ["git", f"--git-dir={pyskl}", "show", f"HEAD:{CONVERTER}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def digest(annotation: dict[str, Any]) -> dict[str, Any]:
    """What the tests keep of one converter annotation: shape, label, keypoint SHA-256."""
    kp = np.ascontiguousarray(annotation["keypoint"])
    return {
        "shape": list(kp.shape),
        "dtype": str(kp.dtype),
        "label": int(annotation["label"]),
        "total_frames": int(annotation["total_frames"]),
        "sha256": hashlib.sha256(kp.tobytes()).hexdigest(),
    }


def prepare(scratch: Path, raw: Path, cases: bool) -> list[str]:
    """The scratch folder both sides read; returns the sample names."""
    folder = scratch / "nturgb+d_skeletons"
    folder.mkdir(parents=True)
    for f in sorted(raw.glob("*.skeleton")):
        shutil.copyfile(f, folder / f.name)
    if cases:
        for name, tracks in pyskl_cases().items():
            (folder / f"{name}.skeleton").write_bytes(
                format_skeleton(skeleton_from_tracks(name, tracks))
            )
    (scratch / "ntu120_missing.txt").write_text("")
    return sorted(p.stem for p in folder.glob("*.skeleton"))


def run_pyskl(scratch: Path, source: str) -> tuple[dict[str, Any], float]:
    stand = scratch / "standins"
    for rel, text in STANDINS.items():
        (stand / rel).parent.mkdir(parents=True, exist_ok=True)
        (stand / rel).write_text(text)
    try:
        import tqdm  # noqa: F401
    except ImportError:
        (stand / "tqdm.py").write_text(TQDM)
    (scratch / "ntu_preproc.py").write_text(source)
    env_path = str(stand)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "ntu_preproc.py"],
        cwd=scratch,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"PYSKL's converter failed:\n{proc.stderr[-3000:]}")
    return load_pickle(scratch / "ntu60_3danno.pkl"), seconds


def run_ours(scratch: Path) -> tuple[dict[str, Any], float]:
    out = scratch / "ours.pkl"
    cmd = [sys.executable, "-m", "skelpipe.cli", "export", "pyskl", "--raw"]
    cmd += [str(scratch / "nturgb+d_skeletons"), "--dataset", "ntu60", "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "--workers", "1"], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"skelpipe export pyskl failed:\n{proc.stderr[-3000:]}")
    return load_pickle(out), seconds


def compare(theirs: dict[str, Any], ours: dict[str, Any]) -> list[dict[str, Any]]:
    diffs = []
    if theirs["split"] != ours["split"]:
        diffs.append({"what": "split", "theirs": theirs["split"], "ours": ours["split"]})
    by_name = {a["frame_dir"]: a for a in ours["annotations"]}
    for a in theirs["annotations"]:
        b = by_name.get(a["frame_dir"])
        if b is None:
            diffs.append({"sample": a["frame_dir"], "what": "missing in ours"})
            continue
        for key in ("label", "total_frames"):
            if a[key] != b[key]:
                diffs.append(
                    {"sample": a["frame_dir"], "what": key, "theirs": a[key], "ours": b[key]}
                )
        ka, kb = a["keypoint"], b["keypoint"]
        if ka.dtype != kb.dtype or ka.shape != kb.shape or not np.array_equal(ka, kb):
            diffs.append(
                {
                    "sample": a["frame_dir"],
                    "what": "keypoint",
                    "theirs": [list(ka.shape), str(ka.dtype)],
                    "ours": [list(kb.shape), str(kb.dtype)],
                }
            )
    extra = set(by_name) - {a["frame_dir"] for a in theirs["annotations"]}
    diffs += [{"sample": n, "what": "only in ours"} for n in sorted(extra)]
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pyskl", type=Path, required=True, help="clone of kennymckormick/pyskl")
    ap.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data" / "ntu_raw_samples")
    ap.add_argument("--no-cases", action="store_true", help="leave out the crafted samples")
    ap.add_argument("--write-digests", type=Path, help="write the converter's outputs as digests")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        names = prepare(scratch, args.raw, not args.no_cases)
        theirs, t_pyskl = run_pyskl(scratch, converter_source(args.pyskl))
        ours, t_ours = run_ours(scratch)
    diffs = compare(theirs, ours)
    for d in diffs:
        print(json.dumps(d, default=str))
    summary = {
        "samples": len(names),
        "pyskl_annotations": len(theirs["annotations"]),
        "ours_annotations": len(ours["annotations"]),
        "differences": len(diffs),
        "pyskl_seconds": round(t_pyskl, 2),
        "ours_seconds": round(t_ours, 2),
    }
    print(json.dumps(summary))
    if args.write_digests:
        table = {a["frame_dir"]: digest(a) for a in theirs["annotations"]}
        split = {k: list(v) for k, v in theirs["split"].items()}
        args.write_digests.parent.mkdir(parents=True, exist_ok=True)
        args.write_digests.write_text(
            json.dumps({"split": split, "annotations": table}, indent=1, sort_keys=True) + "\n"
        )
        print(f"{args.write_digests}: {len(table)} samples")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
