"""Helpers shared by several test modules and the benchmarks: tiny stores, params, crafted data.

Test modules and benchmarks import these from here; no test module imports another. (Not
imported by ``conftest.py``: it needs torch, which tests of the data layers do not load.)
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

from skelpipe.cli._pipeline_params import pipeline_params
from skelpipe.io.h5store import Sequence
from skelpipe.io.ntu_format import RawSkeleton
from skelpipe.models import build_model
from skelpipe.models.token_transformer import TokenTransformer, TokenTransformerConfig
from skelpipe.models.tokenizer import SkeletonTokenizer, TokenizerConfig
from skelpipe.params import ShardParams, TokenizerParams, TrainParams, ValidationParams
from skelpipe.sample_id import SampleId
from skelpipe.skeleton import NTU25
from skelpipe.store.reader import SampleStore
from skelpipe.store.shards import StoreWriter, shards_needed

ROOT = Path(__file__).resolve().parents[1]
RAW_NAME = "S001C001P001R001A001"


SHARD_PARAMS = ShardParams(
    dataset="ntu60",
    shard_frames=256,
    chunk_frames=64,
    compressor="lz4",
    compression_level=5,
    validation=ValidationParams(fraction=0.25, seed=0, group_by="subject"),
)


def make_sequences(n: int = 60, seed: int = 0) -> list[Sequence]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        sid = SampleId(
            setup=1 + k % 3, camera=1 + k % 3, subject=1 + k % 8, replication=1, action=1 + k % 60
        )
        t = int(rng.integers(10, 120))
        out.append(Sequence(sid.name, rng.normal(size=(t, 2, 25, 3)).astype(np.float32), 1 + k % 2))
    return sorted(out, key=lambda s: s.name)


def build_store(tmp_path, seqs, params=SHARD_PARAMS):
    bound = shards_needed(np.array([len(s.joints) for s in seqs]), params.shard_frames)
    writer = StoreWriter(tmp_path / "store.zarr", NTU25, params, bound)
    for s in seqs:
        writer.append(s)
    return writer.close(), SampleStore(tmp_path / "store.zarr")


def raw_skeleton(n_frames: int = 3, bodies: int = 1, seed: int = 0) -> RawSkeleton:
    rng = np.random.default_rng(seed)
    per_frame = np.full(n_frames, bodies)
    frames = np.repeat(np.arange(n_frames), bodies)
    r = len(frames)
    joints = rng.normal(size=(r, 25, 12)).astype(np.float32)
    joints[..., 11] = 2
    info = np.zeros((r, 9), dtype=np.float32)
    info[:, 8] = 2
    ids = np.uint64(72057594037931101) + np.tile(np.arange(bodies, dtype=np.uint64), n_frames)
    return RawSkeleton(RAW_NAME, per_frame, frames, ids, info, joints)


BASE_ID = 72057594037931101  # a real-looking 64-bit Kinect body ID


# An upright stick figure in camera space (metres): x-spread 0.6 < 0.8 * y-spread 1.6.
# Rows are NTU joints J1..J25; J1/J2 (spine) and J13/J17 (hips) are anatomically placed.
UPRIGHT = np.array(
    [
        [0.00, 0.00, 3.00], [0.00, 0.30, 3.00], [0.00, 0.55, 3.00], [0.00, 0.70, 3.00],
        [-0.18, 0.50, 3.00], [-0.25, 0.25, 3.02], [-0.28, 0.03, 2.98], [-0.29, -0.03, 2.97],
        [0.18, 0.50, 3.00], [0.25, 0.25, 3.02], [0.28, 0.03, 2.98], [0.29, -0.03, 2.97],
        [-0.08, -0.05, 3.00], [-0.09, -0.45, 3.02], [-0.10, -0.85, 3.00], [-0.10, -0.90, 2.90],
        [0.08, -0.05, 3.00], [0.09, -0.45, 3.02], [0.10, -0.85, 3.00], [0.10, -0.90, 2.90],
        [0.00, 0.50, 3.00], [-0.30, -0.10, 2.96], [-0.27, -0.05, 2.95], [0.30, -0.10, 2.96],
        [0.27, -0.05, 2.95],
    ]
)  # fmt: skip  # (25, 3)


def upright(rng: np.random.Generator, n: int, step: float = 0.01) -> np.ndarray:
    """(n, 25, 3) float32: the stick figure random-walking with per-frame step ``step``."""
    walk = np.cumsum(rng.normal(0.0, step, (n, 1, 3)), axis=0)
    jitter = rng.normal(0.0, 0.005, (n, 25, 3))
    return (UPRIGHT + walk + jitter).astype(np.float32)


TRAIN_PARAMS = TrainParams(
    benchmark="ntu60_xsub",
    models=("tiny",),
    streams=("joint",),
    preset="cpu",
    epochs=4,
    batch_size=8,
    lr=0.05,
    momentum=0.9,
    nesterov=True,
    weight_decay=1e-4,
    warmup_epochs=1,
    schedule="step",
    lr_steps=(3,),
    lr_decay=0.1,
    label_smoothing=0.1,
    window=16,
    p_interval_train=(0.5, 1.0),
    p_interval_eval=(0.95,),
    rotate_theta=0.3,
    seed=3,
    num_workers=0,
    threads=1,
    reproducible=False,  # in-process: the pinned environment is set by stages.launch
    device="cpu",
    amp=True,
    compile=True,
    eval_every=2,
    sampling="crop_resize",
    test_clips=1,
    test_flip=False,
    grad_accum=1,
    grad_clip=0.0,
    ema_decay=0.0,
    lr_reference_batch=0,
)


class Tiny(nn.Module):
    """A small stand-in for a GCN: pools joints and time, then a linear classifier."""

    def __init__(self, num_classes: int = 60) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=(3, 1), padding=(1, 0))
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)  # (N*M, C, T, V)
        h = torch.relu(self.conv(x)).mean(dim=(2, 3)).reshape(n, m, -1).mean(1)
        return self.fc(h)


TOKENIZER_PARAMS = TokenizerParams(
    benchmark="ntu60_xsub",
    quantizer="rvq",
    levels=2,
    codebook_size=16,
    downsample=4,
    width=8,
    latent_dim=8,
    blocks=1,
    decoder_blocks=1,
    latent_blocks=1,
    token_mlp=0,
    backbone="gcn",
    temporal_kernel=3,
    beta=0.25,
    ema_decay=0.9,
    dead_threshold=0.1,
    usage_decay=0.9,
    code_dim=0,
    kmeans_iters=2,
    quantize_dropout=0.0,
    kl_weight=0.0,
    gumbel_hard=False,
    tau_start=1.0,
    tau_end=0.1,
    body_frame=True,
    window=16,
    loss="smooth_l1",
    part_weights={"head": 2.0, "left_hand": 2.0},
    augment_mirror=0.0,
    augment_yaw_deg=0.0,
    augment_scale=0.0,
    velocity_weight=0.5,
    epochs=3,
    batch_size=8,
    grad_accum=2,
    lr=0.003,
    weight_decay=0.0,
    warmup_epochs=1,
    grad_clip=1.0,
    seed=4,
    num_workers=0,
    threads=1,
    reproducible=False,  # in-process: the pinned environment is set by stages.launch
    eval_every=1,
)


def train_stage_cmd(
    store: Path,
    params: Path,
    run: Path,
    stream: str = "joint_motion",
    launch: bool = False,
    model: str = "ctrgcn",
) -> list[str]:
    """The train stage's command line for ``run``'s folders; through ``stages.launch`` (which
    reads ``train.launcher`` / ``train.nproc`` from the params) when ``launch``."""
    args = {
        "--model": model,
        "--stream": stream,
        "--store": store,
        "--out": run / "out",
        "--checkpoint": run / "ckpt",
        "--live": run / "live",
        "--plots": run / "plots",
        "--metrics": run / "metrics.json",
        "--params": params,
    }
    stage = ["-m", "stages.train"]
    if launch:
        stage = [
            "-m",
            "stages.launch",
            "--params",
            str(params),
            "--section",
            "train",
            "stages.train",
        ]
    return [sys.executable, *stage, *(str(a) for kv in args.items() for a in kv)]


TINY_SYNTH = {
    "subjects": 10,
    "setups": 2,
    "setups_per_subject": 1,
    "actions": [8, 23, 50, 58],
    "frames": [30, 45],
}


TINY_TRAIN = {
    "streams": ["joint", "bone"],
    "epochs": 1,
    "window": 16,
    "batch_size": 16,
    "warmup_epochs": 0,
    "eval_every": 1,
    "num_workers": 0,
}


TINY_TOKENIZER = {
    "width": 8,
    "latent_dim": 8,
    "levels": 2,
    "codebook_size": 32,
    "blocks": 1,
    "decoder_blocks": 1,
    "window": 16,
    "epochs": 1,
    "batch_size": 16,
    "warmup_epochs": 0,
    "eval_every": 1,
    "num_workers": 0,
}


TINY_TOKEN_STREAM = {"epochs": 1, "window": 4, "warmup_epochs": 0, "eval_every": 1}


def run_train_stage(store: Path, params: Path, run: Path, stream: str) -> dict:
    """Run the train stage (one subprocess, from the repository root) on ``store``; its metrics."""
    res = subprocess.run(
        train_stage_cmd(store, params, run, stream=stream), cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads((run / "metrics.json").read_text())


def copy_repository(dest: Path, tiny: bool = True, overrides: dict | None = None) -> Path:
    """A git + DVC copy of this repository's files (no metrics, no dvc.lock) at ``dest``, one
    commit (DVCLive wants a HEAD); ``tiny``: the tiny params above; ``overrides``: section ->
    {key: value} on top."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    for rel in listed:
        if (ROOT / rel).is_file() and not rel.startswith(("metrics/", "dvc.lock")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    if tiny:
        params["synth"].update(TINY_SYNTH)
        params["train"].update(TINY_TRAIN)
        params["tokenizer"].update(TINY_TOKENIZER)
        params["token_stream"].update(TINY_TOKEN_STREAM)
        params["ensemble"]["members"] = ["ctrgcn-joint", "ctrgcn-bone", "tokens"]
    for section, values in (overrides or {}).items():
        params[section].update(values)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
        subprocess.run([*git, *cmd], cwd=dest, check=True, capture_output=True)
    return dest


OLDER_CPU = {
    "NPY_DISABLE_CPU_FEATURES": "AVX512_SPR AVX512_ICL X86_V4 X86_V3",
    "OPENBLAS_CORETYPE": "Prescott",
    "NUMBA_CPU_NAME": "generic",
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_CBWR": "AVX",  # another MKL branch (honoured on Intel CPUs; the mode replaces it)
}


NTU_PARAMS = ROOT / "params.yaml"


def save_state(net: torch.nn.Module, folder: Path) -> None:
    folder.mkdir(parents=True)
    torch.save(net.state_dict(), folder / "model.pt")


def trained_outputs(tmp: Path, dataset: str, weights: dict[str, float]) -> dict[str, Path]:
    """Folders laid out as the train / train_tokenizer / ensemble stages write them (random init:
    prediction does not care how good the weights are)."""
    torch.manual_seed(0)
    models, tok_dir = tmp / "models", tmp / "tokenizer"
    for member in weights:
        if member != "tokens":
            save_state(build_model(member.rpartition("-")[0], dataset, "cpu"), models / member)
    if "tokens" in weights:
        small = {"width": 8, "latent_dim": 16, "latent_blocks": 1, "decoder_blocks": 1}
        cfg = TokenizerConfig(layout="ntu25", persons=2, levels=2, codebook_size=16, **small)
        save_state(SkeletonTokenizer(cfg), tok_dir)
        (tok_dir / "config.json").write_text(json.dumps(asdict(cfg)))
        window = pipeline_params(NTU_PARAMS)[0].token_stream.window
        tt = TokenTransformerConfig((16, 16), 2, window, 60)  # as the train_tokens stage
        save_state(TokenTransformer(tt), models / "tokens")
    (tmp / "ensemble").mkdir()
    (tmp / "ensemble" / "weights.json").write_text(json.dumps(weights))
    return {"--model": models, "--ensemble": tmp / "ensemble", "--tokenizer": tok_dir}


def readme_commands(block: str) -> list[str]:
    """Command lines of the README's bash blocks marked ``<!-- readme-test: <block> -->``
    (comments after two spaces and a ``#`` dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    pattern = rf"<!-- readme-test: {block} -->\n```bash\n(.*?)```"
    lines = [ln for body in re.findall(pattern, text, re.S) for ln in body.splitlines()]
    return [ln.split("  #")[0].strip() for ln in lines if ln.strip()]


# --- crafted body tracks: the denoising rules, as arrays and as .skeleton files ----------------


@dataclass
class Track:
    """One body ID: the (raw, 0-based) frames it appears in and its joints there."""

    body_id: int
    frames: np.ndarray  # (n,) int
    xyz: np.ndarray  # (n, 25, 3) float32


def track(k: int, frames, xyz: np.ndarray) -> Track:
    frames = np.asarray(frames, dtype=np.int64)
    assert xyz.shape == (len(frames), 25, 3)
    return Track(BASE_ID + k, frames, xyz)


def lying(rng: np.random.Generator, n: int, step: float = 0.01) -> np.ndarray:
    """(n, 25, 3) float32: the figure lying on the floor beside the scene (x-spread > y-spread)."""
    body = upright(rng, n, step)[..., [1, 0, 2]]  # swap x and y
    return body + np.float32([1.0, -0.8, 0.5])


def body_records(
    tracks: list[Track], n_frames: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A sample's raw record arrays (records in frame order, bodies in track order within a
    frame): body_frame, body_id, xyz, bodies_per_frame."""
    frames = np.concatenate([t.frames for t in tracks])
    ids = np.concatenate([np.full(len(t.frames), t.body_id, dtype=np.uint64) for t in tracks])
    xyz = np.concatenate([t.xyz for t in tracks])
    order = np.argsort(frames, kind="stable")
    n_frames = n_frames or int(frames.max()) + 1
    bodies_per_frame = np.bincount(frames, minlength=n_frames).astype(np.int64)
    return frames[order], ids[order], xyz[order], bodies_per_frame


def skeleton_from_tracks(
    name: str, tracks: list[Track], n_frames: int | None = None
) -> RawSkeleton:
    """The tracks as a full :class:`RawSkeleton` (2-D fields zero, joints tracked), ready for
    :func:`skelpipe.io.ntu_format.format_skeleton`."""
    body_frame, body_id, xyz, per_frame = body_records(tracks, n_frames)
    joints = np.zeros((len(xyz), 25, 12), np.float32)
    joints[..., :3] = xyz
    joints[..., 11] = 2
    info = np.zeros((len(xyz), 9), np.float32)
    info[:, 8] = 2
    return RawSkeleton(name, per_frame, body_frame, body_id, info, joints)


def pyskl_cases() -> dict[str, list[Track]]:
    """Samples that exercise each of PYSKL's converter rules (``tools/data/ntu_preproc.py``).

    Keyed by sample name (one per NTU60 action code, cross-subject train and test subjects).
    """
    rng = np.random.default_rng(7)
    up = lambda n, step=0.01: upright(rng, n, step)  # noqa: E731
    lie = lambda n: lying(rng, n)  # noqa: E731
    r = np.arange
    mixed = np.concatenate([up(31), lie(69)])  # 69 % of frames spread out: kept
    mixed70 = np.concatenate([up(30), lie(70)])  # 70 %: dropped
    return {
        # one body, starting late: its records alone, no leading frames
        "S030C001P001R002A001": [track(0, r(5, 45), up(40))],
        # a short second body (<= 11 records) dropped by the length rule
        "S030C002P002R002A002": [track(0, r(0, 40), up(40)), track(1, r(3, 14), up(11, 0.2))],
        # a 12-record second body survives the length rule; the busier body is track 1
        "S030C003P003R002A003": [track(0, r(0, 40), up(40)), track(1, r(0, 12), up(12, 0.05))],
        # a lying body dropped by the spread rule
        "S030C001P004R002A004": [track(0, r(0, 40), up(40)), track(1, r(0, 40), lie(40))],
        # spread-ratio boundary: 69 % kept (motion of its valid frames), 70 % dropped
        "S030C002P005R002A005": [track(0, r(100), up(100)), track(1, r(100), mixed)],
        "S030C003P006R002A006": [track(0, r(100), up(100)), track(1, r(100), mixed70)],
        # touching intervals [0, 20) and [20, 40): one track, no frame overwritten
        "S030C001P007R002A050": [track(0, r(0, 20), up(20, 0.05)), track(1, r(20, 40), up(20))],
        # track 2's hull keeps its start at 0: the third body (frames 2-15) is dropped
        "S030C002P008R002A051": [
            track(0, r(0, 30), up(30, 0.08)),
            track(1, r(18, 30), up(12, 0.04)),
            track(2, r(2, 16), up(14, 0.01)),
        ],
        # leading frames only a dropped short body filled are trimmed, and the tracks swapped
        # (track 1 absent in the first frame kept)
        "S030C003P009R002A052": [
            track(0, r(8, 40), up(32, 0.05)),
            track(1, r(4, 30), up(26)),
            track(2, r(0, 4), up(4)),
        ],
        # a returning body is re-timed: its 30 records run from its first frame
        "S030C001P010R002A053": [
            track(0, np.concatenate([r(0, 15), r(25, 40)]), up(30, 0.05)),
            track(1, r(0, 40), up(40)),
        ],
        # frames without bodies in the middle are not counted
        "S030C002P011R002A054": [track(0, np.concatenate([r(0, 10), r(14, 30)]), up(26))],
    }


def skeleton_batch(
    layout: str, n: int = 2, frames: int = 16, channels: int = 3, seed: int = 0
) -> torch.Tensor:
    """A standard-normal model input (N, C, T, V, M) for ``layout``, seeded."""
    from skelpipe.skeleton import get_layout

    lo = get_layout(layout)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, channels, frames, lo.num_joints, lo.max_persons, generator=g)


def coco_pickle(path, n: int = 48, classes: int = 3) -> None:
    """2-D COCO-17 keypoints with scores; each class moves one joint group, so it is learnable."""
    rng = np.random.default_rng(3)
    anns, names = [], []
    for k in range(n):
        t, label = int(rng.integers(20, 40)), k % classes
        kp = rng.normal(500, 50, (1, 1, 17, 2)).repeat(t, axis=1)
        kp[0, :, 5 + 2 * label, 1] += 80 * np.sin(np.linspace(0, 6, t))
        name = f"video_{k:03d}"
        anns.append(
            {
                "frame_dir": name,
                "label": label,
                "keypoint": kp.astype(np.float16),
                "keypoint_score": rng.uniform(0.5, 1, (1, t, 17)).astype(np.float16),
                "img_shape": (720, 1280),
                "original_shape": (720, 1280),
                "total_frames": t,
            }
        )
        names.append(name)
    split = {"train": names[: n * 3 // 4], "val": names[n * 3 // 4 :]}
    path.write_bytes(pickle.dumps({"split": split, "annotations": anns}, protocol=4))
