"""Skeleton tokenizer: a graph-convolutional autoencoder with a discrete bottleneck.

Each person of a clip becomes a sequence of ``T / downsample`` tokens (``L`` code indices each);
the decoder rebuilds the clip from them. With ``rvq`` 4 x 1,024 codes at x4 downsampling a person
costs 4 * 10 / 4 = 10 bits per frame.

* Encoder: the ST-GCN++ block of :mod:`skelpipe.models.stgcnpp` in its plain form (graph conv
  over the learnt three-subset spatial graph with its own residual, then a (k x 1) temporal conv;
  Duan et al., PYSKL 2022), ``blocks`` per stage, ``1 + log2(downsample)`` stages, stride 2 at the
  start of every stage after the first. Persons are folded into the batch. The joints are then
  pooled into one latent vector per downsampled frame by a linear map of the flattened
  (joint, channel) features (a mean over joints would forget which joint carried what), plus a
  linear map of the token's raw frames, followed by residual temporal convolutions on the latent
  sequence and a BatchNorm without affine: ``z`` (N * M, T / ds, D), zero mean and unit variance
  per dimension, so the codebooks chase a distribution that cannot drift or shrink.
* Quantizer: :mod:`skelpipe.models.quantizers` (VQ-VAE, SoundStream residual VQ) and
  :mod:`skelpipe.models.gumbel` (DALL-E dVAE).
* Decoder: residual temporal convolutions on the codes, a transposed convolution back to T frames,
  a linear expansion to (joint, channel) features plus a learnt joint embedding, ``decoder_blocks``
  GCN blocks at full frame rate and a 1x1 convolution to xyz, plus a linear map of the upsampled
  latent to xyz: (N, C, T, V, M) like the input. Both output layers start at zero.

The linear paths around the GCN blocks (a PCA-like route) and the zero-initialised outputs roughly
halve the error after the first few hundred steps on NW-UCLA. The ``cpu`` preset (778 k parameters
on UCLA20) keeps the GCN narrow (32 channels, 3 encoder and 2 decoder blocks): per training step
it learnt as fast as 64 channels with twice the blocks, at a third of the cost.

:func:`tokenizer_loss` is the reconstruction objective (per-joint weighted, masked, plus a velocity
term); the caller adds the quantizer's loss.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skelpipe.models.blocks import InputNorm, TemporalConv
from skelpipe.models.graph import spatial_partition
from skelpipe.models.gumbel import GumbelQuantizer
from skelpipe.models.quantizers import Quantizer, ResidualVQ, VectorQuantizer, VQSettings
from skelpipe.models.stgcn import GraphConv, STGCNBlock
from skelpipe.models.token_conv import ConvTokenDecoder, ConvTokenEncoder
from skelpipe.skeleton import Layout, get_layout

QuantizerKind = Literal["vq", "rvq", "dvae"]
Backbone = Literal["gcn", "conv1d"]
LossKind = Literal["l1", "smooth_l1", "l2", "joint"]
SMOOTH_L1_BETA = 0.01  # metres: quadratic below 1 cm of error, linear above
_JOINT_EPS = 1e-8  # square metres under the root of the joint loss: a finite gradient at zero


@dataclass(frozen=True)
class TokenizerConfig:
    """Tokenizer settings; the defaults are the ``cpu`` preset (NW-UCLA on two CPU cores)."""

    layout: str = "ucla20"  # skeleton layout (skelpipe.skeleton.LAYOUTS): fixes V and the graph
    in_channels: int = 3  # C: xyz
    persons: int = 1  # M person slots of the input; each person is tokenised on its own
    backbone: Backbone = "gcn"  # gcn: ST-GCN++ blocks; conv1d: token MLPs + temporal convs
    width: int = 32  # channels of every GCN block, encoder and decoder
    latent_dim: int = 128  # D: one latent (and code) vector per person and token
    downsample: Literal[1, 2, 4] = 4  # frames per token; T must be divisible by it
    blocks: int = 1  # GCN blocks per encoder stage (1 + log2(downsample) stages)
    decoder_blocks: int = 2  # GCN blocks of the decoder, at the full frame rate
    latent_blocks: int = 2  # residual temporal conv blocks on the latent sequence, each side
    token_mlp: int = 0  # gcn: > 0 turns the linear token paths into MLPs; conv1d: the width
    temporal_kernel: int = 5  # kernel of the temporal convs of the GCN blocks
    quantizer: QuantizerKind = "rvq"  # vq: VQ-VAE; rvq: SoundStream residual VQ; dvae: Gumbel
    levels: int = 4  # rvq levels (vq and dvae have one)
    codebook_size: int = 1024  # codes per level
    beta: float = 0.25  # commitment weight (VQ-VAE's 0.25)
    ema_decay: float = 0.99  # EMA decay of the VQ codebooks (VQ-VAE's 0.99)
    dead_threshold: float = 0.1  # reset a code used < 0.1 x its uniform share of a batch (EMA)
    usage_decay: float = 0.9  # EMA decay of code usage: an idle code is reset after ~22 steps
    code_dim: int = 0  # 0: look codes up in the latent space; d > 0: factorised d-dim codes
    kmeans_iters: int = 5  # Lloyd iterations initialising each VQ codebook on the first batch
    quantize_dropout: float = 0.0  # rvq: P(a training batch uses only the first k levels)
    kl_weight: float = 0.0  # dvae: weight of KL(q || uniform) per token
    gumbel_hard: bool = False  # dvae: straight-through one-hot samples (DALL-E: soft)
    tau_start: float = 1.0  # dvae: Gumbel temperature at the start of training (DALL-E: 1)
    tau_end: float = 0.0625  # dvae: ... and at the end (DALL-E: 1/16)
    preset: str = "cpu"  # name of the preset this config came from (informational)

    def __post_init__(self) -> None:
        if self.downsample not in (1, 2, 4):
            raise ValueError(f"downsample must be 1, 2 or 4, not {self.downsample}")
        if self.quantizer not in ("vq", "rvq", "dvae"):
            raise ValueError(f"quantizer must be 'vq', 'rvq' or 'dvae', not {self.quantizer!r}")
        if self.backbone not in ("gcn", "conv1d"):
            raise ValueError(f"backbone must be 'gcn' or 'conv1d', not {self.backbone!r}")
        if self.backbone == "conv1d" and self.token_mlp <= 0:
            raise ValueError("the conv1d backbone needs token_mlp > 0 (its hidden width)")


PRESETS: dict[str, TokenizerConfig] = {"cpu": TokenizerConfig()}


def tokenizer_config(layout: str, preset: str = "cpu", **overrides: Any) -> TokenizerConfig:
    """The ``preset`` config for ``layout`` (persons = the layout's), with checked overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown tokenizer preset {preset!r}; known: {sorted(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(TokenizerConfig)}
    for key in overrides:
        if key not in fields:
            raise ValueError(f"unknown tokenizer config key {key!r}; known: {sorted(fields)}")
    fixed = {"layout": layout, "persons": get_layout(layout).max_persons, "preset": preset}
    return dataclasses.replace(PRESETS[preset], **{**fixed, **overrides})


def build_quantizer(cfg: TokenizerConfig) -> Quantizer:
    """The quantizer named by ``cfg.quantizer`` on ``cfg.latent_dim``-dimensional latents."""
    D, K = cfg.latent_dim, cfg.codebook_size
    vq = VQSettings(
        beta=cfg.beta,
        decay=cfg.ema_decay,
        dead_threshold=cfg.dead_threshold,
        kmeans_iters=cfg.kmeans_iters,
        usage_decay=cfg.usage_decay,
        code_dim=cfg.code_dim,
    )
    if cfg.quantizer == "vq":
        return VectorQuantizer(D, K, vq)
    if cfg.quantizer == "rvq":
        return ResidualVQ(D, K, cfg.levels, cfg.quantize_dropout, vq)
    return GumbelQuantizer(D, K, cfg.kl_weight, cfg.gumbel_hard, cfg.tau_start)


class LatentBlock(nn.Module):
    """Residual temporal block on a latent sequence: x + conv(ReLU(BN(conv(x)))), (N, D, T)."""

    def __init__(self, dim: int, kernel: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
        self.bn = nn.BatchNorm1d(dim)
        self.conv2 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.bn(self.conv1(x))))


def token_path(cin: int, cout: int, hidden: int) -> nn.Module:
    """Map of one token (flattened) to another space: linear, or a two-hidden-layer GELU MLP."""
    if hidden <= 0:
        return nn.Linear(cin, cout)
    return nn.Sequential(
        nn.Linear(cin, hidden),
        nn.GELU(),
        nn.Linear(hidden, hidden),
        nn.GELU(),
        nn.Linear(hidden, cout),
    )


def _gcn_block(cfg: TokenizerConfig, A: torch.Tensor, cin: int, stride: int, residual: bool):
    gcn = GraphConv(cin, cfg.width, A, adaptive="init", residual=True)
    tcn = TemporalConv(cfg.width, cfg.width, cfg.temporal_kernel, stride)
    return STGCNBlock(gcn, tcn, cin, cfg.width, stride, residual=residual)


class TokenEncoder(nn.Module):
    """(N, C, T, V, M) -> latents z (N * M, T / downsample, D)."""

    def __init__(self, cfg: TokenizerConfig, A: torch.Tensor) -> None:
        super().__init__()
        V = A.shape[-1]
        self.input_norm = InputNorm(cfg.in_channels, V, cfg.persons, per_person=False)
        blocks, cin = [], cfg.in_channels
        for stage in range(1 + int(math.log2(cfg.downsample))):
            for b in range(cfg.blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                blocks.append(_gcn_block(cfg, A, cin, stride, residual=cin == cfg.width))
                cin = cfg.width
        self.blocks = nn.Sequential(*blocks)
        D = cfg.latent_dim
        self.pool = nn.Linear(V * cfg.width, D)
        self.direct = token_path(cfg.downsample * V * cfg.in_channels, D, cfg.token_mlp)
        self.latent = nn.Sequential(*(LatentBlock(D) for _ in range(cfg.latent_blocks)))
        self.norm = nn.BatchNorm1d(D, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_norm(x)  # (N*M, C, T, V)
        h = self.blocks(x)  # (N*M, W, T', V)
        NM, W, Tq, V = h.shape
        h = h.permute(0, 2, 3, 1).reshape(NM, Tq, V * W)  # (N*M, T', V*W)
        frames = x.permute(0, 2, 3, 1).reshape(NM, Tq, -1)  # (N*M, T', ds*V*C)
        z = self.pool(h) + self.direct(frames)  # (N*M, T', D)
        z = self.norm(self.latent(z.transpose(1, 2)))  # (N*M, D, T')
        return z.transpose(1, 2)  # (N*M, T', D)


class TokenDecoder(nn.Module):
    """Codes (N * M, T / downsample, D) -> (N * M, C, T, V)."""

    def __init__(self, cfg: TokenizerConfig, A: torch.Tensor) -> None:
        super().__init__()
        V, W, D, ds = A.shape[-1], cfg.width, cfg.latent_dim, cfg.downsample
        self.num_joints, self.width, self.downsample = V, W, ds
        self.latent = nn.Sequential(*(LatentBlock(D) for _ in range(cfg.latent_blocks)))
        # kernel 2 * ds, stride ds, padding ds / 2: exactly ds output frames per token
        self.upsample = (
            nn.ConvTranspose1d(D, D, 2 * ds, stride=ds, padding=ds // 2)
            if ds > 1
            else nn.Identity()
        )
        self.expand = nn.Linear(D, V * W)
        self.joint_embed = nn.Parameter(torch.zeros(1, W, 1, V))
        self.expand_bn = nn.BatchNorm2d(W)
        self.blocks = nn.Sequential(
            *(_gcn_block(cfg, A, W, 1, residual=True) for _ in range(cfg.decoder_blocks))
        )
        self.head = nn.Conv2d(W, cfg.in_channels, 1)
        # linear: every upsampled frame on its own; MLP: all ds frames of a token from its latent
        self.token_mlp = cfg.token_mlp > 0
        frames = ds if self.token_mlp else 1
        self.direct = token_path(D, frames * V * cfg.in_channels, cfg.token_mlp)
        # start from all joints at the origin (the body-frame centre): an output of random scale
        # costs the first hundred steps just shrinking it
        last = self.direct[-1] if self.token_mlp else self.direct
        for layer in (self.head, last):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        latent = self.latent(codes.transpose(1, 2))  # (N*M, D, T')
        up = self.upsample(latent).transpose(1, 2)  # (N*M, T, D)
        NM, T, _ = up.shape
        h = self.expand(up).view(NM, T, self.num_joints, self.width)  # (N*M, T, V, W)
        h = torch.relu(self.expand_bn(h.permute(0, 3, 1, 2) + self.joint_embed))  # (N*M, W, T, V)
        direct = self.direct(latent.transpose(1, 2) if self.token_mlp else up)
        direct = direct.reshape(NM, T, self.num_joints, -1).permute(0, 3, 1, 2)
        return self.head(self.blocks(h)) + direct  # (N*M, C, T, V)


@dataclass
class TokenizerOut:
    """Output of :meth:`SkeletonTokenizer.forward`.

    Attributes:
        recon: (N, C, T, V, M) reconstruction.
        indices: (N, M, T / downsample, L) code indices.
        loss: scalar quantizer loss (commitment / KL), already weighted.
        stats: quantizer statistics (see :class:`skelpipe.models.quantizers.QuantOut`).
    """

    recon: torch.Tensor
    indices: torch.Tensor
    loss: torch.Tensor
    stats: dict[str, float]


class SkeletonTokenizer(nn.Module):
    """Encoder -> quantizer -> decoder on (N, C, T, V, M) clips, T divisible by
    ``cfg.downsample``; in eval mode ``decode(encode(x), T)`` equals ``forward(x).recon``.

    ``cfg.backbone``: ``gcn`` (this module's GCN encoder / decoder) or ``conv1d``
    (:mod:`skelpipe.models.token_conv`)."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        # the construction order fixes the seeded initialisation, hence every recorded run:
        # gcn builds encoder, quantizer, decoder; conv1d encoder, decoder, quantizer
        if cfg.backbone == "conv1d":
            self.encoder = ConvTokenEncoder(cfg, layout.num_joints)
            self.decoder = ConvTokenDecoder(cfg, layout.num_joints, self.encoder.data_norm)
            self.quantizer = build_quantizer(cfg)
        else:
            A = torch.tensor(spatial_partition(layout), dtype=torch.float32)
            self.encoder = TokenEncoder(cfg, A)
            self.quantizer = build_quantizer(cfg)
            self.decoder = TokenDecoder(cfg, A)

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        return self.quantizer.codebook_sizes

    def set_temperature(self, tau: float) -> None:
        """Gumbel-softmax temperature (dvae; the caller anneals it from tau_start to tau_end)."""
        self.quantizer.set_temperature(tau)

    def _check(self, x: torch.Tensor) -> None:
        N, C, T, V, M = x.shape
        if T % self.cfg.downsample:
            raise ValueError(f"T = {T} is not divisible by downsample = {self.cfg.downsample}")
        expected = (self.cfg.in_channels, self.cfg.persons)
        if expected != (C, M):
            raise ValueError(f"input (C, M) = {(C, M)}, the config expects {expected}")

    def _unfold_persons(self, y: torch.Tensor, M: int) -> torch.Tensor:
        NM, C, T, V = y.shape
        return y.view(NM // M, M, C, T, V).permute(0, 2, 3, 4, 1)  # (N, C, T, V, M)

    def forward(self, x: torch.Tensor) -> TokenizerOut:
        self._check(x)
        N, M = x.shape[0], x.shape[-1]
        out = self.quantizer(self.encoder(x))  # codes (N*M, T', D)
        recon = self._unfold_persons(self.decoder(out.quantized), M)
        indices = out.indices.view(N, M, *out.indices.shape[1:])  # (N, M, T', L)
        return TokenizerOut(recon, indices, out.loss, out.stats)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) -> code indices (N, M, T / downsample, L)."""
        self._check(x)
        N, M = x.shape[0], x.shape[-1]
        indices = self.quantizer(self.encoder(x)).indices  # (N*M, T', L)
        return indices.view(N, M, *indices.shape[1:])

    def decode(self, indices: torch.Tensor, T: int) -> torch.Tensor:
        """Code indices (N, M, T / downsample, L) -> reconstruction (N, C, T, V, M)."""
        N, M, Tq, L = indices.shape
        if Tq * self.cfg.downsample != T:
            raise ValueError(f"{Tq} tokens x downsample {self.cfg.downsample} != T = {T}")
        codes = self.quantizer.codes_from_indices(indices.reshape(N * M, Tq, L))  # (N*M, T', D)
        return self._unfold_persons(self.decoder(codes), M)


def weights_from_parts(layout: Layout, part_weights: dict[str, float]) -> np.ndarray:
    """(V,) float32 loss weights: 1 everywhere, ``part_weights[part]`` on that body part's joints.

    ``weights_from_parts(UCLA20, {"head": 2, "left_hand": 2, ...})`` doubles head and hands.
    """
    weights = np.ones(layout.num_joints, dtype=np.float32)
    for part, w in part_weights.items():
        if part not in layout.body_parts:
            raise ValueError(f"unknown body part {part!r}; known: {sorted(layout.body_parts)}")
        weights[list(layout.body_parts[part])] = w
    return weights


def _pointwise(diff: torch.Tensor, kind: LossKind) -> torch.Tensor:
    """(N, C, T, V, M) differences -> (N, T, V, M) per-joint loss, summed over coordinates."""
    if kind == "l1":
        err = diff.abs()
    elif kind == "smooth_l1":
        err = F.smooth_l1_loss(diff, torch.zeros_like(diff), reduction="none", beta=SMOOTH_L1_BETA)
    elif kind == "l2":
        err = diff.pow(2)
    elif kind == "joint":  # the joint's distance itself: what MPJPE averages
        return (diff.pow(2).sum(dim=1) + _JOINT_EPS).sqrt()
    else:
        raise ValueError(f"loss kind must be 'l1', 'smooth_l1', 'l2' or 'joint', not {kind!r}")
    return err.sum(dim=1)


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (values * weights).sum() / weights.sum().clamp_min(1e-8)


def tokenizer_loss(
    recon: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    joint_weights: torch.Tensor,
    part_groups: dict[str, tuple[int, ...]],
    kind: LossKind = "smooth_l1",
    velocity_weight: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Masked, per-joint weighted reconstruction loss plus a velocity term.

    Args:
        recon, target: (N, C, T, V, M).
        mask: (N, T, M) or (N, T, V, M); nonzero where the person (joint) is present in the frame.
            Absent persons and padded frames count for nothing.
        joint_weights: (V,) per-joint weights (e.g. from :func:`weights_from_parts`).
        part_groups: body part -> joints, for the per-part errors reported.
        kind: per-coordinate loss: ``l1``, ``smooth_l1`` (quadratic below ``SMOOTH_L1_BETA``)
            or ``l2`` (squared); or ``joint``: the Euclidean distance of each joint (MPJPE).
        velocity_weight: weight of the same loss on frame differences (valid frame pairs only).
    Returns:
        the total loss, and floats: ``recon``, ``velocity`` and ``error_<part>``, the mean joint
        distance of each part in input units.
    """
    m = mask.to(recon.dtype)
    m = m.unsqueeze(2) if m.dim() == 3 else m  # (N, T, V or 1, M)
    jw = joint_weights.to(recon).view(1, 1, -1, 1)  # (1, 1, V, 1)
    diff = recon - target  # (N, C, T, V, M)
    rec = _weighted_mean(_pointwise(diff, kind), m * jw)
    vel_diff = diff[:, :, 1:] - diff[:, :, :-1]  # velocity error, (N, C, T-1, V, M)
    vel = _weighted_mean(_pointwise(vel_diff, kind), m[:, 1:] * m[:, :-1] * jw)
    parts = {"recon": rec.item(), "velocity": vel.item()}
    with torch.no_grad():
        dist = diff.norm(dim=1)  # (N, T, V, M)
        full = m.expand_as(dist)
        for name, joints in part_groups.items():
            j = list(joints)
            parts[f"error_{name}"] = float(_weighted_mean(dist[:, :, j], full[:, :, j]))
    return rec + velocity_weight * vel, parts
