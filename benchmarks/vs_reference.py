"""The CTR-GCN / SGN NTU preprocessing scripts and our data half, side by side, in one run.

    python benchmarks/vs_reference.py --reference CTR-GCN                 # 4000 synthetic files
    python benchmarks/vs_reference.py --reference CTR-GCN/data/ntu --files 40 --repeats 1
    python benchmarks/vs_reference.py --reference CTR-GCN --raw nturgb+d_skeletons --files 2000
    python benchmarks/vs_reference.py --reference CTR-GCN --workers 1     # one process a side

``--reference`` is a local clone of Uason-Chen/CTR-GCN (a work tree, its ``data/ntu`` folder, or a
bare git directory, from which ``data/ntu`` is exported with ``git archive HEAD``). The files are
``--files`` synthetic raw ``.skeleton`` files from our synth stage (scaled as
``benchmarks/preprocess.py`` scales them, then an evenly spaced subset of that many), or the
``.skeleton`` files of ``--raw`` (all, or an evenly spaced ``--files`` of them; names in the
reference's ``samples_with_missing_skeletons.txt`` are left out, as the official list leaves them).
Both sides read the same hard-linked copy of those files.

Reference side: in a scratch folder laid out as the scripts expect (their raw folder relative to
the working directory, ``statistics/*.txt`` derived from the file names as the official lists
are), ``get_raw_skes_data.py``, ``get_raw_denoised_data.py`` and ``seq_transformation.py`` run one
after the other, each in a fresh process of this interpreter. Their code is copied unchanged except
for the minimal edits a current numpy needs (removed aliases ``np.int`` -> ``int``, ``np.string_``
-> ``np.bytes_``); an unused ``sklearn`` import is met by a stub package when scikit-learn is not
installed. Every edit is printed.

Our side: ``python -m stages.parse`` / ``denoise`` / ``align`` / ``shard`` with the command lines
of ``dvc.yaml`` (paths into a scratch folder) and the repository's ``params.yaml`` (``--workers``
overrides the stages' ``workers``), then ``skelpipe export ctrgcn`` (raw files -> the reference's
``NTU60_CS.npz`` / ``NTU60_CV.npz``), which is timed against the whole reference chain because it
starts from the raw files too.

Each repeat alternates which side goes first, after reading the raw files once (warm page cache).
Step pairs: parse / get_raw_skes_data, denoise / get_raw_denoised_data, align + shard /
seq_transformation. Ratios are ours / reference in frames/s (reference seconds / our seconds:
above 1 means we are faster); frames = the frame counts in the raw files' headers. Peak RSS is
summed over each process tree (sampled every 20 ms), the maximum over a side's steps.

Agreement (after the first repeat): the samples kept and the frames of each; every denoised
array of ours equal to the reference's ``raw_denoised_joints.pkl``; the export's npz arrays equal
to the reference's; every store sample equal to its row of the reference npz (seq_translation).
Prints one JSON line per repeat, one of agreement, and a summary; exit code 1 on disagreement.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pickle
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("get_raw_skes_data", "get_raw_denoised_data", "seq_transformation")
STAGES = ("parse", "denoise", "align", "shard")
# our stages -> the reference script doing the same work
PAIRS = {
    "parse": ("get_raw_skes_data", ("parse",)),
    "denoise": ("get_raw_denoised_data", ("denoise",)),
    "align_shard": ("seq_transformation", ("align", "shard")),
}
# numpy >= 1.24 removed these aliases; the replacement is what the alias meant
NUMPY_EDITS = (
    (r"\bnp\.int\b(?![\w.])", "int", "int"),
    (r"\bnp\.string_\b", "np.bytes_", "string_"),
)
STAT_FIELDS = {"setup": (1, 4), "camera": (5, 8), "performer": (9, 12), "replication": (13, 16)}
STAT_FIELDS["label"] = (17, 20)

Timing = tuple[float, float]  # (wall seconds, peak RSS MB)


def load_preprocess() -> ModuleType:
    """benchmarks/preprocess.py as a module (its synthetic-set helpers), without editing it."""
    spec = importlib.util.spec_from_file_location(
        "bench_preprocess", ROOT / "benchmarks/preprocess.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_monitored(cmd: list[str], cwd: Path, log: Path, env: dict[str, str]) -> Timing:
    """Run ``cmd`` in ``cwd`` (output to ``log``); return (seconds, peak RSS MB of its tree)."""
    with open(log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        ps, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                procs = [ps, *ps.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)
        secs = time.perf_counter() - t0
    if proc.returncode:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise SystemExit(f"{shlex.join(cmd)} (in {cwd}) failed ({proc.returncode}):\n{tail}")
    return secs, peak / 2**20


# ---------------------------------------------------------------------------- reference setup


def reference_scripts(path: Path, workdir: Path) -> Path:
    """The folder holding the three NTU60 scripts: ``path`` itself, ``path/data/ntu``, or
    ``data/ntu`` exported from ``path`` as a bare git directory."""
    for folder in (path, path / "data" / "ntu"):
        if all((folder / f"{s}.py").is_file() for s in SCRIPTS):
            return folder
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        dest = workdir / "reference_export"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "--git-dir", str(path), "archive", "HEAD", "data/ntu"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return reference_scripts(dest / "data" / "ntu", workdir)
    raise SystemExit(f"{path}: no {', '.join(s + '.py' for s in SCRIPTS)} (nor in data/ntu)")


def adapt_script(src: Path, dst: Path) -> list[str]:
    """Copy ``src`` to ``dst`` with the minimal edits this numpy needs; return what changed."""
    text, changes = src.read_text(), []
    for pattern, repl, alias in NUMPY_EDITS:
        if hasattr(np, alias):
            continue
        text, n = re.subn(pattern, repl, text)
        if n:
            changes.append(f"{src.name}: np.{alias} -> {repl} ({n}x; removed from numpy)")
    dst.write_text(text)
    return changes


def sklearn_stub(folder: Path) -> list[str]:
    """A stand-in ``sklearn.model_selection`` when scikit-learn is missing (the reference's
    ``seq_transformation.py`` imports ``train_test_split`` but never calls it)."""
    if importlib.util.find_spec("sklearn") is not None:
        return []
    pkg = folder / "sklearn"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "model_selection.py").write_text(
        "def train_test_split(*args, **kwargs):\n"
        "    raise NotImplementedError('benchmark stub: scikit-learn is not installed')\n"
    )
    return ["seq_transformation.py: unused `from sklearn... import train_test_split` met by a stub"]


def raw_folder_of(script: Path) -> str:
    """The raw-file folder that ``get_raw_skes_data.py`` reads (its ``skes_path`` constant)."""
    found = re.findall(r"^\s*skes_path\s*=\s*['\"]([^'\"]+)['\"]", script.read_text(), re.M)
    if not found:
        raise SystemExit(f"{script}: no `skes_path = '...'` line")
    return found[-1]  # the one under `if __name__ == '__main__'`


def write_statistics(folder: Path, names: list[str]) -> None:
    """The statistics lists the scripts read, row-aligned with the sorted sample names, each
    field read from the name (SsssCcccPpppRrrrAaaa) as the official lists are."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "skes_available_name.txt").write_text("".join(f"{n}\n" for n in names))
    for field, (a, b) in STAT_FIELDS.items():
        (folder / f"{field}.txt").write_text("".join(f"{int(n[a:b])}\n" for n in names))


def setup_reference(scripts: Path, scratch: Path, files: list[Path]) -> tuple[Path, Path, dict]:
    """Lay out ``scratch`` for the scripts; return (their working dir, raw folder, env)."""
    cwd = scratch / "ntu"
    cwd.mkdir(parents=True)
    changes = [c for s in SCRIPTS for c in adapt_script(scripts / f"{s}.py", cwd / f"{s}.py")]
    changes += sklearn_stub(scratch / "shims")
    raw = (cwd / raw_folder_of(cwd / "get_raw_skes_data.py")).resolve()
    if not raw.is_relative_to(scratch.resolve()):
        raise SystemExit(f"the reference reads raw files from {raw}, outside the scratch dir")
    raw.mkdir(parents=True)
    for f in files:
        try:
            os.link(f, raw / f.name)
        except OSError:
            shutil.copyfile(f, raw / f.name)
    write_statistics(cwd / "statistics", sorted(f.name[: -len(".skeleton")] for f in files))
    env = dict(os.environ, PYTHONHASHSEED="0")
    if (scratch / "shims").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(scratch / "shims"), env.get("PYTHONPATH")])
        )
    for c in changes or ["none: the scripts run byte-identical"]:
        print(f"reference adaptation: {c}", flush=True)
    return cwd, raw, env


# ---------------------------------------------------------------------------- the raw files


def evenly_spaced(files: list[Path], n: int | None) -> list[Path]:
    """``n`` of the name-sorted ``files``, evenly spaced (all subjects / cameras keep a share)."""
    files = sorted(files, key=lambda f: f.name)
    if n is None or n >= len(files):
        return files
    if n < 2:
        raise SystemExit("--files: the reference scripts need at least 2 files")
    return [files[i] for i in np.linspace(0, len(files) - 1, n).round().astype(int)]


def synthetic_files(n: int, workdir: Path, workers: int) -> list[Path]:
    """``n`` raw files of a synthetic set scaled as benchmarks/preprocess.py scales it."""
    pre = load_preprocess()
    request = n
    while True:
        params, n_made = pre.bench_params(workdir, workers, request)
        if n_made >= n:
            break
        request += n_made // 10 + 1
    raw = workdir / f"raw_{n_made}"
    pre.generate(raw, params, n_made)
    return evenly_spaced(list(raw.glob("*.skeleton")), n)


def real_files(raw: Path, n: int | None, scripts: Path) -> list[Path]:
    """The ``.skeleton`` files of ``raw`` minus the reference's missing-skeleton list."""
    missing_list = scripts / "statistics" / "samples_with_missing_skeletons.txt"
    missing = set(missing_list.read_text().split()) if missing_list.is_file() else set()
    files = [f for f in raw.glob("*.skeleton") if f.name[: -len(".skeleton")] not in missing]
    if not files:
        raise SystemExit(f"{raw}: no .skeleton files (a zip must be extracted first)")
    print(f"{raw}: {len(files)} files ({len(missing)} names on the missing-skeleton list)")
    return evenly_spaced(files, n)


def header_frames(raw: Path) -> int:
    """Total frames of the raw files: the count on each file's first line."""
    total = 0
    for f in raw.glob("*.skeleton"):
        with open(f) as fh:
            total += int(fh.readline())
    return total


# ---------------------------------------------------------------------------- our side


def our_params(workdir: Path, workers: int | None) -> Path:
    """The repository's params.yaml, or a copy whose stages use ``workers`` processes."""
    if workers is None:
        return ROOT / "params.yaml"
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section in ("parse", "denoise", "align"):
        params[section]["workers"] = workers
    path = workdir / f"params_workers{workers}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def stage_commands(params: Path, raw: Path, out: Path) -> dict[str, list[str]]:
    """The data-half command lines of dvc.yaml, with its ``${paths.*}`` pointed into ``out``."""
    paths = {
        "raw": raw,
        "parse": out / "parse",
        "denoise": out / "denoise",
        "align": out / "align",
        "store": out / "store.zarr",
        "shard_rejected": out / "shard_rejected.csv",
    }
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    cmds = {}
    for stage in STAGES:
        text = re.sub(r"\$\{paths\.(\w+)\}", lambda m: str(paths[m.group(1)]), dvc[stage]["cmd"])
        argv = shlex.split(text)
        assert argv[0] == "python", argv
        argv[0] = sys.executable
        for i, tok in enumerate(argv[:-1]):
            if tok == "--params":
                argv[i + 1] = str(params)
            elif tok == "--metrics":
                argv[i + 1] = str(out / "metrics" / Path(argv[i + 1]).name)
        cmds[stage] = argv
    return cmds


def run_ours(params: Path, raw: Path, out: Path, workers: int) -> dict[str, Timing]:
    """Our four stages, then ``skelpipe export ctrgcn``, each a fresh process."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "logs").mkdir(parents=True)
    env = dict(os.environ, PYTHONHASHSEED="0")
    rows = {}
    for stage, cmd in stage_commands(params, raw, out).items():
        rows[stage] = run_monitored(cmd, ROOT, out / "logs" / f"{stage}.log", env)
    export = [sys.executable, "-m", "skelpipe.cli", "export", "ctrgcn", "--raw", str(raw)]
    export += ["--dataset", "ntu60", "--out", str(out / "export"), "--workers", str(workers)]
    (out / "export").mkdir()
    rows["export_ctrgcn"] = run_monitored(export, ROOT, out / "logs" / "export.log", env)
    return rows


def run_reference(cwd: Path, env: dict[str, str]) -> dict[str, Timing]:
    """The three reference scripts in order, each a fresh process, from a clean output state."""
    for d in ("raw_data", "denoised_data", "logs"):
        shutil.rmtree(cwd / d, ignore_errors=True)
    for f in cwd.glob("*.npz"):
        f.unlink()
    (cwd / "logs").mkdir()
    rows = {}
    for s in SCRIPTS:
        rows[s] = run_monitored([sys.executable, f"{s}.py"], cwd, cwd / "logs" / f"{s}.log", env)
    return rows


# ---------------------------------------------------------------------------- agreement


def compare_denoised(ref_cwd: Path, denoised: Path) -> dict[str, Any]:
    """Our denoise output against the reference's ``raw_denoised_joints.pkl``, sample by sample:
    same names kept, same frames, equal values (a missing second actor counts as zeros)."""
    from skelpipe.io.h5store import iter_sequences

    names = (ref_cwd / "statistics" / "skes_available_name.txt").read_text().split()
    with open(ref_cwd / "denoised_data" / "raw_denoised_joints.pkl", "rb") as fh:
        ref = dict(zip(names, pickle.load(fh), strict=True))  # name -> (T, 75 | 150)
    ours = {s.name: s.joints.reshape(len(s.joints), -1) for s in iter_sequences(denoised)}
    common = sorted(set(ref) & set(ours))
    frames_equal = [n for n in common if len(ref[n]) == len(ours[n])]
    equal, max_diff = 0, 0.0
    for n in frames_equal:
        a, b = ours[n], ref[n]  # (T, M * 75), (T, 75 | 150)
        width = max(a.shape[1], b.shape[1])
        a = np.pad(a, ((0, 0), (0, width - a.shape[1])))
        b = np.pad(b, ((0, 0), (0, width - b.shape[1])))
        equal += bool(np.array_equal(a, b))
        max_diff = max(max_diff, float(np.abs(a - b).max(initial=0.0)))
    return {
        "n_reference": len(ref),
        "n_ours": len(ours),
        "n_common": len(common),
        "n_frames_equal": len(frames_equal),
        "n_arrays_equal": equal,
        "max_abs_diff": max_diff,
    }


def compare_npz(ref_cwd: Path, export_dir: Path) -> dict[str, Any]:
    """``skelpipe export ctrgcn``'s npz arrays against the reference's, key by key."""
    result: dict[str, Any] = {}
    for ref_file in sorted(ref_cwd.glob("NTU60_*.npz")):
        with np.load(ref_file) as ref, np.load(export_dir / ref_file.name) as ours:
            for key in ("x_train", "y_train", "x_test", "y_test"):
                a, b = ours[key], ref[key]
                result[f"{ref_file.stem}.{key}"] = {
                    "shape": list(b.shape),
                    "equal": a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b),
                }
    if not result:
        raise SystemExit(f"{ref_cwd}: the reference wrote no NTU60_*.npz")
    return result


def cross_view_rows(names: list[str]) -> dict[str, tuple[str, int]]:
    """Sample name -> (x_train | x_test, row) of the reference's NTU60_CV.npz, re-derived from its
    ``get_indices``: test = camera 1, train = camera 2 then camera 3, each in name order."""
    by_camera = {c: [n for n in sorted(names) if int(n[5:8]) == c] for c in (1, 2, 3)}
    rows = {n: ("x_test", i) for i, n in enumerate(by_camera[1])}
    rows |= {n: ("x_train", i) for i, n in enumerate(by_camera[2] + by_camera[3])}
    return rows


def compare_store(ref_cwd: Path, store_path: Path) -> dict[str, Any]:
    """Every sample of our store (the align + shard output) against its row of the reference's
    NTU60_CV.npz (seq_translation + zero padding at the end)."""
    from skelpipe.store.reader import SampleStore

    store = SampleStore(store_path)
    rows = cross_view_rows(store.names)
    with np.load(ref_cwd / "NTU60_CV.npz") as npz:
        ref = {k: npz[k] for k in ("x_train", "x_test")}  # (N, T_max, 150)
    equal, max_diff = 0, 0.0
    for i, name in enumerate(store.names):
        x = np.asarray(store.sample(i))  # (T, M, V, C)
        x = x.reshape(len(x), -1)  # (T, M * V * C)
        key, row = rows[name]
        r = ref[key][row]
        x = np.pad(x, ((0, len(r) - len(x)), (0, r.shape[1] - x.shape[1])))
        equal += bool(np.array_equal(x, r))
        max_diff = max(max_diff, float(np.abs(x - r).max()))
    n_ref = sum(len(v) for v in ref.values())
    return {"n_reference": n_ref, "n_ours": len(store), "n_equal": equal, "max_abs_diff": max_diff}


def check_agreement(ref_cwd: Path, out: Path) -> dict[str, Any]:
    """Everything comparable between the two sides' outputs; ``ok`` when all of it agrees."""
    den = compare_denoised(ref_cwd, out / "denoise")
    npz = compare_npz(ref_cwd, out / "export")
    store = compare_store(ref_cwd, out / "store.zarr")
    den_ok = den["n_reference"] == den["n_ours"] == den["n_arrays_equal"]
    store_ok = store["n_reference"] == store["n_ours"] == store["n_equal"]
    ok = den_ok and store_ok and all(v["equal"] for v in npz.values())
    return {"ok": ok, "denoised": den, "export_npz": npz, "store_vs_reference_cv_npz": store}


# ---------------------------------------------------------------------------- report


def side(rows: dict[str, Timing], frames: int) -> dict[str, Any]:
    """One side's steps, total seconds, frames/s and peak RSS."""
    total = sum(s for s, _ in rows.values())
    return {
        "steps": {
            k: {"s": round(s, 3), "peak_rss_mb": round(mb, 1)} for k, (s, mb) in rows.items()
        },
        "total_s": round(total, 3),
        "frames_per_s": round(frames / total, 1),
        "peak_rss_mb": round(max(mb for _, mb in rows.values()), 1),
    }


def run_record(ref: dict[str, Timing], ours: dict[str, Timing], frames: int) -> dict[str, Any]:
    """One repeat's JSON record; ratios are ours / reference in frames/s."""
    ours = dict(ours)
    export = {"export_ctrgcn": ours.pop("export_ctrgcn")}
    rec = {"reference": side(ref, frames), "ours": side(ours, frames)}
    rec["export_ctrgcn"] = side(export, frames)
    ref_total = rec["reference"]["total_s"]
    ratio = {"total": ref_total / rec["ours"]["total_s"]}
    for pair, (script, stages) in PAIRS.items():
        ratio[pair] = ref[script][0] / sum(ours[s][0] for s in stages)
    ratio["export_ctrgcn_vs_reference_total"] = ref_total / rec["export_ctrgcn"]["total_s"]
    rec["ratio_ours_over_reference"] = {k: round(v, 3) for k, v in ratio.items()}
    return rec


def summarize(records: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Medians over the repeats (min-max) of frames/s, ratios and peak RSS."""

    def stat(values: list[float]) -> str:
        return f"{statistics.median(values):10.1f}  ({min(values):.1f}-{max(values):.1f})"

    n = len(records)
    print(
        f"\n== {meta['files']} files, {meta['frames']} frames, {n} repeat(s), median (min-max) =="
    )
    for name in ("reference", "ours", "export_ctrgcn"):
        print(f"{name + ' frames/s':<38}{stat([r[name]['frames_per_s'] for r in records])}")
    for name in ("reference", "ours", "export_ctrgcn"):
        print(f"{name + ' peak RSS MB':<38}{stat([r[name]['peak_rss_mb'] for r in records])}")
    for key in records[0]["ratio_ours_over_reference"]:
        values = [r["ratio_ours_over_reference"][key] for r in records]
        print(f"{'ratio ' + key:<38}{statistics.median(values):10.2f}  "
              f"({min(values):.2f}-{max(values):.2f})")  # fmt: skip
    pairs = ", ".join(f"{k} / {s}" for k, (s, _) in PAIRS.items())
    print(f"ratio = ours / reference frames/s (> 1: ours faster); steps: {pairs}; "
          "export_ctrgcn (raw -> npz) against the whole reference chain")  # fmt: skip


# ---------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, required=True, help="CTR-GCN clone or its data/ntu")
    ap.add_argument("--files", type=int, default=None, help="raw files (synthetic default 4000)")
    ap.add_argument("--raw", type=Path, default=None, help="folder of real .skeleton files")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="our stages' processes (default: params.yaml's; 0 = one per core)",
    )
    ap.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "out")
    ap.add_argument(
        "--keep", action="store_true", help="keep the scratch dir (kept on disagreement)"
    )
    return ap.parse_args()


def prepare(args: argparse.Namespace, scratch: Path) -> tuple[Path, Path, dict, Path, int]:
    """Select the files and lay out both sides: (ref cwd, raw dir, ref env, params, workers)."""
    scripts = reference_scripts(args.reference.resolve(), args.workdir)
    if args.raw is not None:
        files = real_files(args.raw, args.files, scripts)
    else:
        files = synthetic_files(args.files or 4000, args.workdir, args.workers or 0)
    ref_cwd, raw, env = setup_reference(scripts, scratch, files)
    params = our_params(args.workdir, args.workers)
    workers = int(yaml.safe_load(params.read_text())["parse"]["workers"])
    print(f"reference scripts: {scripts}; raw files: {raw}; our params: {params} "
          f"(workers {workers}); numpy {np.__version__}", flush=True)  # fmt: skip
    return ref_cwd, raw, env, params, workers


def main() -> None:
    args = parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="vs_reference_", dir=args.workdir))
    ref_cwd, raw, env, params, workers = prepare(args, scratch)
    meta = {"files": len(list(raw.glob("*.skeleton"))), "frames": header_frames(raw)}
    pre, records, agreement = load_preprocess(), [], None
    for r in range(args.repeats):
        pre.set_cache(raw, "warm")
        first = "reference" if r % 2 == 0 else "ours"
        if first == "reference":
            ref = run_reference(ref_cwd, env)
        ours = run_ours(params, raw, scratch / "ours", workers)
        if first == "ours":
            ref = run_reference(ref_cwd, env)
        if agreement is None:
            agreement = check_agreement(ref_cwd, scratch / "ours")
        rec = {"repeat": r, "first": first, "workers": workers, **meta}
        records.append(rec | run_record(ref, ours, meta["frames"]))
        print(json.dumps(records[-1]), flush=True)
    print(json.dumps({"agreement": agreement}))
    summarize(records, meta)
    kept = args.keep or not agreement["ok"]
    verdict = "all outputs equal" if agreement["ok"] else "OUTPUTS DIFFER"
    print(f"agreement: {verdict}; scratch: {scratch}{'' if kept else ' (removed)'}")
    if not agreement["ok"]:
        raise SystemExit(1)
    if not args.keep:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
