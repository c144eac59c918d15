"""Typed, frozen views of the ``params.yaml`` sections.

Stages read YAML themselves (``src/`` never imports yaml) and hand each section, a plain mapping,
to :func:`from_mapping`, which rejects unknown and missing keys with a message naming the key.
Every field is commented with what it does and, for the reference thresholds, where the value
comes from.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")


class ParamsError(ValueError):
    """A params section that does not match its dataclass."""


def untracked(reason: str, **kwargs: Any) -> Any:
    """A field that cannot change a stage's outputs, so ``dvc.yaml`` does not track it.

    ``reason`` says why (a matrix axis, a process count whose outputs are proven identical).
    """
    return dataclasses.field(metadata={"untracked": reason}, **kwargs)


def tracked_keys(cls: type) -> list[str]:
    """The keys of a section that ``dvc.yaml`` must track: every leaf field, nested ones dotted
    (``validation.seed``), less the :func:`untracked` ones."""
    hints = typing.get_type_hints(cls)
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        if "untracked" in f.metadata:
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            keys.extend(f"{f.name}.{k}" for k in tracked_keys(hints[f.name]))
        else:
            keys.append(f.name)
    return keys


def from_mapping(cls: type[T], mapping: Mapping[str, Any] | None, section: str) -> T:
    """Build the frozen dataclass ``cls`` from ``mapping``.

    Raises:
        ParamsError: on an unknown key, a missing key, or a value of the wrong type.
    """
    if not isinstance(mapping, Mapping):
        raise ParamsError(f"params section {section!r} is missing or not a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ParamsError(f"unknown key {section}.{unknown[0]} (known: {', '.join(fields)})")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key = f"{section}.{name}"
        if name not in mapping:
            has_default = field.default is not dataclasses.MISSING
            if has_default or field.default_factory is not dataclasses.MISSING:
                continue
            raise ParamsError(f"missing key {key}")
        values[name] = _coerce(mapping[name], hints[name], key)
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, key)  # type: ignore[arg-type]
    if origin is Literal:
        if value not in args:
            raise ParamsError(f"{key} must be one of {list(args)}, got {value!r}")
        return value
    if origin in (types.UnionType, typing.Union):
        for arg in args:
            if arg is type(None) and value is None:
                return None
        for arg in args:
            if arg is not type(None):
                try:
                    return _coerce(value, arg, key)
                except ParamsError:
                    continue
        raise ParamsError(f"{key}: {value!r} does not match {hint}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{key} must be a list, got {value!r}")
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamsError(f"{key} must be a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{key} must be an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{key} must be true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ParamsError(f"{key} must be a string, got {value!r}")
        return value
    return value


OnError = Literal["skip", "fail"]


@dataclass(frozen=True)
class ParseParams:
    """Section ``parse``: raw files -> HDF5 with every field."""

    workers: int = untracked("process count: the parts are merged in order")  # 0 = one per core
    on_error: OnError  # skip: record bad files and go on; fail: stop at the first bad file
    missing_list: str  # optional file of sample names to leave out (the official list); "" = none
    part_files: int  # files per part: the unit of parallel work downstream (bounded memory)


@dataclass(frozen=True)
class DenoiseParams:
    """Section ``denoise``: the SGN / CTR-GCN body rules (get_raw_denoised_data.py)."""

    mode: Literal["reference", "fixed", "pyskl"]  # reference: bit-exact, quirks included;
    # fixed: the quirks corrected; pyskl: PYSKL's converter rules (tools/data/ntu_preproc.py)
    length_threshold: int  # noise_len_thres = 11: drop a body seen in <= 11 frames
    spread_ratio: float  # noise_spr_thres1 = 0.8: frame valid if x-spread <= 0.8 * y-spread
    spread_drop_ratio: float  # noise_spr_thres2 = 0.69754: drop if invalid-frame ratio >= this
    on_error: OnError  # a sample whose every body is filtered out: skip (record) or fail
    # the coordinates kept (the rules always read x, y, z): xyz (camera space, metres) or the
    # joint's pixel position in the colour / depth image (2-D; align normalises by image size)
    coords: Literal["xyz", "color2d", "depth2d"]
    workers: int = untracked("process count: the parts are merged in order")  # 0 = one per core


@dataclass(frozen=True)
class IngestParams:
    """Section ``ingest``: keypoints from other tools (``skelpipe.io.sources``) -> a store."""

    format: Literal["pyskl", "npz", "mars", "mmfi"]  # the importer (docs/data.md)
    layout: str  # skeleton layout (skelpipe.skeleton.LAYOUTS); "" = from the joint count
    clip_frames: int  # mars: consecutive frames per clip
    score_channel: bool  # npz: the last channel of `poses` is a keypoint confidence


@dataclass(frozen=True)
class AlignParams:
    """Section ``align``: translation, optional ground alignment, second-actor padding."""

    mode: Literal["reference", "fixed"]  # fixed: rotation without InfoGCN's mirror, etc.
    center: bool  # translate to actor-1 SpineMid of its first present frame (seq_translation)
    ground: bool  # InfoGCN create_aligned_dataset: spine up, hips along x, per person
    pad_second_actor: Literal["zeros", "copy"]  # NTU60 reference: zeros; NTU120 reference: copy
    prenormalize: bool  # PYSKL PreNormalize3D: main person first, centred, spine z, shoulders x
    workers: int = untracked("process count: the parts are merged in order")  # 0 = one per core


@dataclass(frozen=True)
class ValidationParams:
    fraction: float  # share of the training samples moved to the validation fold
    seed: int  # subjects (or samples) are drawn with this seed
    # subject: whole subjects go to validation, never half of one (cross-subject benchmarks);
    # sample: a random share of the samples (cross-view: other views of training performances)
    group_by: Literal["subject", "sample"]


@dataclass(frozen=True)
class ShardParams:
    """Section ``shard``: the zarr v3 store."""

    dataset: Literal["ntu60", "ntu120", "nw_ucla"]  # class list and benchmarks to index
    shard_frames: int  # frames per shard (one file each); a sample never straddles two
    chunk_frames: int  # frames per inner chunk (the unit of a partial read)
    compressor: Literal["lz4", "zstd", "none"]  # blosc codec of the joints (byte shuffle)
    compression_level: int  # blosc clevel (lz4: 5 ~ 500 MB/s; zstd: 1-3 smaller, slower)
    validation: ValidationParams


@dataclass(frozen=True)
class SynthParams:
    """Section ``synth``: the embedded synthetic raw NTU RGB+D dataset (``skelpipe.synth``)."""

    seed: int  # master seed; every sample's RNG derives from (seed, sample name), >= 0
    subjects: int  # performers P001..; >= 10 puts both NTU60 cross-subject folds in the set
    setups: int  # S001..; >= 2 gives even and odd setups (both NTU120 cross-setup folds)
    setups_per_subject: int  # each subject visits this many setups, round robin (NTU: 1 to 4)
    actions: tuple[int, ...]  # NTU action codes to perform, from skelpipe.synth.ACTIONS
    camera_yaw_deg: tuple[float, ...]  # C001, C002, ..: yaw about the scene (NTU: 0, 45, -45)
    facing_yaw_deg: tuple[float, ...]  # R001, R002, ..: yaw faced (NTU: towards C002, then C003)
    camera_height_m: tuple[float, ...]  # [low, high] camera height, drawn per setup
    camera_distance_m: tuple[float, ...]  # [low, high] camera distance, drawn per setup
    frames: tuple[int, ...]  # [min, max] frames per sample at 30 fps
    jitter_mm: float  # Gaussian sensor noise per coordinate (sd); inferred joints get 3x
    inferred_rate: float  # share of joint records with trackingState 1 (inferred)
    p_spurious_short: float  # P(a second body seen for <= 11 frames): the denoise length rule
    p_sideways: float  # P(a spurious body lying sideways, > 11 frames): the denoise spread rule
    p_zero_frames: float  # P(a few frames with body count 0): dropped by the parser
    p_id_switch: float  # P(a one-person sample's body gets a new ID mid-sample)
    newline: Literal["crlf", "lf"]  # line ending of the files; the official zip uses CRLF
    workers: int = untracked("process count: the parts are merged in order")  # 0 = one per core


@dataclass(frozen=True)
class TrainParams:
    """Section ``train``: the recipe shared by every model x stream of the matrix.

    Defaults in params.yaml follow CTR-GCN's NTU recipe (SGD + nesterov, lr 0.1, wd 4e-4, 5
    warm-up epochs, steps at 35/55 of 65) scaled down for the CPU preset.
    """

    benchmark: str  # store split to train on, e.g. ntu60_xsub / nw_ucla_xview
    models: tuple[str, ...] = untracked("matrix axis")  # stgcn, stgcnpp, ctrgcn, infogcn, ...
    streams: tuple[str, ...] = untracked("matrix axis")  # joint, bone, joint_motion, ...
    preset: Literal["paper", "cpu"]  # model width preset
    epochs: int
    batch_size: int
    lr: float  # base learning rate (after warm-up)
    momentum: float
    nesterov: bool
    weight_decay: float
    warmup_epochs: int  # linear warm-up from lr / (warmup_epochs + 1)
    schedule: Literal["step", "cosine"]
    lr_steps: tuple[int, ...]  # epochs where the step schedule multiplies lr by lr_decay
    lr_decay: float
    label_smoothing: float  # InfoGCN uses 0.1; CTR-GCN 0.0
    window: int  # frames fed to the model (valid crop-resize), CTR-GCN: 64
    p_interval_train: tuple[float, ...]  # random crop ratio range, CTR-GCN: [0.5, 1]
    p_interval_eval: tuple[float, ...]  # centred crop, CTR-GCN: [0.95]
    rotate_theta: float  # random rotation (radians) in training; 0 = off
    seed: int
    num_workers: int  # DataLoader workers (each opens its own store handle)
    threads: int  # torch intra-op threads on CPU; 0 = torch default (not with reproducible)
    reproducible: bool  # pin CPU kernels (AVX2), threads, deterministic algorithms: same bytes
    device: Literal["auto", "cpu", "cuda"]
    amp: bool  # mixed precision on CUDA (ignored on CPU)
    compile: bool  # torch.compile the model (CUDA only; CPU keeps eager mode)
    eval_every: int  # epochs between validation passes (the last epoch is always evaluated)
    sampling: Literal["crop_resize", "uniform"]  # CTR-GCN valid crop-resize | PYSKL UniformSample
    test_clips: int  # evaluation clips per sample, softmax-averaged (PYSKL: 10)
    test_flip: bool  # also score each clip mirrored (PoseConv3D)
    grad_accum: int  # batches per optimizer step (TSGCNeXt update_freq)
    grad_clip: float  # max gradient norm; 0 = off (PoseConv3D: 40)
    ema_decay: float  # model EMA, evaluated and saved instead of the raw weights; 0 = off
    lr_reference_batch: int  # linear lr scaling: lr * batch_size * grad_accum / this; 0 = off
    optimizer: Literal["sgd", "adamw"] = "sgd"  # sgd: momentum / nesterov; adamw: transformers
    launcher: Literal["local", "torchrun"] = "local"  # how `stages.launch` starts the stage
    nproc: int = 1  # torchrun --nproc_per_node (processes = devices per machine)
    # more models, joint stream only (benchmark pipelines' `train_zoo` stage)
    zoo: tuple[str, ...] = untracked("matrix axis", default=())


@dataclass(frozen=True)
class EnsembleParams:
    """Section ``ensemble``: which streams to combine and with which weights."""

    members: tuple[str, ...]  # "<model>-<stream>" training outputs to combine, in order
    weights: tuple[float, ...] | Literal["fit"]  # fixed (CTR-GCN: 0.6 0.6 0.4 0.4) or "fit"
    grid: tuple[float, ...]  # candidate weights when fitting (on the validation fold only)


@dataclass(frozen=True)
class TokenizerParams:
    """Section ``tokenizer``: the skeleton tokenizer (model, quantizer and training recipe).

    Model fields map one to one onto :class:`skelpipe.models.tokenizer.TokenizerConfig`.
    """

    benchmark: str  # store split: train on train, select on val, report on test
    quantizer: Literal["vq", "rvq", "dvae"]  # VQ-VAE EMA codebook / residual VQ / Gumbel dVAE
    levels: int  # rvq levels (vq and dvae use 1)
    codebook_size: int  # codes per level; bits per token = levels * log2(codebook_size)
    downsample: Literal[1, 2, 4]  # frames per token
    width: int  # GCN channels of encoder and decoder
    latent_dim: int  # D of the latent / code vectors
    blocks: int  # GCN blocks per encoder stage
    decoder_blocks: int  # GCN blocks of the decoder at full frame rate
    backbone: Literal["gcn", "conv1d"]  # encoder / decoder: ST-GCN++ blocks or token convs
    latent_blocks: int  # residual temporal conv blocks on the latent sequence, each side
    token_mlp: int  # hidden width of the per-token MLP paths; 0: linear paths
    temporal_kernel: int  # temporal kernel of the GCN blocks
    beta: float  # commitment weight (VQ-VAE: 0.25)
    ema_decay: float  # EMA decay of the codebooks (VQ-VAE: 0.99)
    dead_threshold: float  # reset codes used < this x their uniform share of a batch's tokens
    usage_decay: float  # EMA decay of code usage (0.9: an idle code is reset after ~22 steps)
    code_dim: int  # 0: codes live in the latent space; d > 0: factorised, L2-normalised codes
    kmeans_iters: int  # Lloyd iterations initialising each codebook on the first batch
    quantize_dropout: float  # rvq: P(a batch trains only the first k levels)
    kl_weight: float  # dvae: KL(q || uniform) weight
    gumbel_hard: bool  # dvae: straight-through one-hot samples
    tau_start: float  # dvae: Gumbel temperature at the start (DALL-E: 1) ...
    tau_end: float  # ... annealed exponentially to this at the end (DALL-E: 1/16)
    body_frame: bool  # canonical view (InfoGCN body frame) before encoding; undone after decoding
    window: int  # frames per training clip (a random crop; a multiple of downsample)
    loss: Literal["l1", "smooth_l1", "l2", "joint"]  # per coordinate; joint: distance (MPJPE)
    part_weights: dict[str, float]  # body part -> loss weight (others 1); head/hands/feet x2
    velocity_weight: float  # weight of the loss on frame differences
    augment_mirror: float  # P(left-right mirror) of a training clip
    augment_yaw_deg: float  # random rotation about the vertical axis, +- degrees
    augment_scale: float  # random scale 1 +- augment_scale
    epochs: int
    batch_size: int
    grad_accum: int  # batches per optimizer step (memory-bounded large batches)
    lr: float  # AdamW peak learning rate
    weight_decay: float
    warmup_epochs: int  # linear warm-up, then cosine decay to 0
    grad_clip: float  # max gradient norm (0 = off)
    seed: int
    num_workers: int  # DataLoader workers
    threads: int  # torch intra-op threads on CPU; 0 = torch default (not with reproducible)
    reproducible: bool  # pin CPU kernels (AVX2), threads, deterministic algorithms: same bytes
    eval_every: int  # epochs between validation passes (the last epoch is always evaluated)
    launcher: Literal["local", "torchrun"] = "local"  # how `stages.launch` starts the stage
    nproc: int = 1  # torchrun --nproc_per_node (processes = devices per machine)


# section name in params.yaml -> its dataclass (the launcher and the params checks read this)
SECTION_TYPES: dict[str, type] = {
    "synth": SynthParams,
    "parse": ParseParams,
    "denoise": DenoiseParams,
    "ingest": IngestParams,
    "align": AlignParams,
    "shard": ShardParams,
    "train": TrainParams,
    "token_stream": TrainParams,
    "tokenizer": TokenizerParams,
    "ensemble": EnsembleParams,
}
