"""Quantizers of the skeleton tokenizer: VQ and residual VQ (the dVAE is in :mod:`.gumbel`).

* :class:`VectorQuantizer` (``vq``): van den Oord et al., "Neural Discrete Representation
  Learning", NeurIPS 2017 (VQ-VAE): nearest-code lookup, straight-through gradient, commitment
  loss ``beta * ||z - sg(e)||^2``, codebook as an exponential moving average of the encoder
  outputs assigned to each code (the paper's appendix; Razavi et al., VQ-VAE-2, 2019). The
  codebook is initialised by k-means on the first training batch and unused codes are replaced
  by encoder outputs of the current batch (Dhariwal et al., Jukebox, 2020; Zeghidour et al.,
  SoundStream, 2021).
* :class:`ResidualVQ` (``rvq``): Zeghidour et al., "SoundStream: An End-to-End Neural Audio
  Codec", 2021: level ``l`` quantizes what levels ``< l`` left over; quantizer dropout trains with
  only the first ``k`` levels on some batches, so every prefix of the levels decodes.
* :class:`skelpipe.models.gumbel.GumbelQuantizer` (``dvae``): the Gumbel-softmax bottleneck.

Common interface: ``forward(z (N, T, D)) -> QuantOut``, ``codes_from_indices(indices (N, T, L))
-> (N, T, D)``, ``codebook_sizes`` (one size per level) and ``set_temperature`` (Gumbel only).
In eval mode under ``torch.no_grad`` ``codes_from_indices(out.indices)`` equals
``out.quantized`` exactly. Indices of levels dropped in training are -1 and decode to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

_LAPLACE = 1e-5  # additive smoothing of the EMA code counts (VQ-VAE-2)
_NORM_EPS = 1e-6  # L2 normalisation of factorised codes


@dataclass
class QuantOut:
    """What every quantizer returns.

    Attributes:
        quantized: (N, T, D) codes, with straight-through gradients to ``z`` in training.
        indices: (N, T, L) long code indices per level (-1: level dropped in this batch).
        loss: scalar, commitment / KL terms already weighted.
        stats: floats per level: ``perplexity_<l>``, ``used_codes_<l>`` (distinct codes in the
            batch) and, for VQ levels, ``reset_codes_<l>`` (dead codes replaced this step).
    """

    quantized: torch.Tensor
    indices: torch.Tensor
    loss: torch.Tensor
    stats: dict[str, float]


@dataclass(frozen=True)
class VQSettings:
    """How a VQ codebook learns; every level of a residual VQ shares them.

    Attributes:
        beta: commitment weight (VQ-VAE: 0.25).
        decay: EMA decay of the code counts and sums that make the codebook (VQ-VAE: 0.99).
        dead_threshold: a code is dead when its usage (an EMA of tokens per step) falls below
            ``dead_threshold`` times the uniform share ``batch_tokens / K``: a fraction, so it
            means the same for 64 and 1,024 codes; 0 disables resets.
        kmeans_iters: Lloyd iterations of the first-batch initialisation.
        usage_decay: EMA decay of the usage. Shorter-lived than ``decay``: a code that stops
            being used is found dead after ``log(1 / dead_threshold) / (1 - usage_decay)``
            steps (22 at 0.9 and 0.1), not after the hundreds ``decay`` 0.99 would take, while
            the encoder outputs still move fast early in training.
        code_dim: 0 looks codes up in the D-dimensional latent space. ``d > 0`` factorises the
            codes (Yu et al., "Vector-quantized Image Modeling with Improved VQGAN", ICLR 2022;
            Kumar et al., DAC, 2023): a linear map to ``d`` dimensions, L2-normalised, looked up
            by cosine similarity among L2-normalised codes, mapped back to D by a second linear
            map; the straight-through estimate and the commitment loss live in the small space.
    """

    beta: float = 0.25
    decay: float = 0.99
    dead_threshold: float = 0.1
    kmeans_iters: int = 5
    usage_decay: float = 0.9
    code_dim: int = 0


def perplexity(counts: np.ndarray) -> float:
    """``exp(entropy)`` of a code histogram: the number of equally used codes it amounts to."""
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def level_stats(idx: torch.Tensor, size: int, level: int) -> dict[str, float]:
    """``perplexity_<level>`` and ``used_codes_<level>`` of one batch's indices (-1 ignored)."""
    counts = torch.bincount(idx[idx >= 0].flatten(), minlength=size).cpu().numpy()
    return {
        f"perplexity_{level}": perplexity(counts),
        f"used_codes_{level}": float((counts > 0).sum()),
    }


def codebook_usage(indices: np.ndarray, sizes: tuple[int, ...] | list[int]) -> dict[str, float]:
    """Codebook use over a whole dataset.

    Args:
        indices: (..., L) code indices, e.g. (N, T, L) or (N, M, T, L); negative ones are ignored.
        sizes: codebook size of each of the L levels.
    Returns:
        per level ``l``: ``utilisation_<l>`` (fraction of codes used at least once),
        ``used_codes_<l>`` and ``perplexity_<l>`` (from the counts).
    """
    flat = np.asarray(indices).reshape(-1, len(sizes))  # (tokens, L)
    out: dict[str, float] = {}
    for level, size in enumerate(sizes):
        idx = flat[:, level]
        counts = np.bincount(idx[idx >= 0].astype(np.int64), minlength=size)
        out[f"utilisation_{level}"] = float((counts > 0).sum() / size)
        out[f"used_codes_{level}"] = float((counts > 0).sum())
        out[f"perplexity_{level}"] = perplexity(counts)
    return out


def _straight_through(z: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``q`` forward, identity gradient to ``z``; plain ``q`` when no gradient is needed."""
    return z + (q - z).detach() if z.requires_grad else q


class Quantizer(nn.Module):
    """Base of the three quantizers (the interface documented in the module header)."""

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        raise NotImplementedError

    def codes_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """(N, T, L) long -> (N, T, D) codes."""
        raise NotImplementedError

    def set_temperature(self, tau: float) -> None:
        """Gumbel-softmax temperature; VQ and RVQ ignore it."""


class VectorQuantizer(Quantizer):
    """EMA vector quantizer with k-means init and dead-code reset (one level).

    Args:
        dim: code dimension D.
        codebook_size: K codes.
        settings: beta, EMA decays, dead-code threshold, k-means iterations, factorised codes.
    """

    def __init__(self, dim: int, codebook_size: int, settings: VQSettings = VQSettings()) -> None:
        super().__init__()
        self.dim, self.size, self.settings = dim, codebook_size, settings
        code_dim = self.code_dim = settings.code_dim
        cdim = code_dim or dim
        self.register_buffer("codebook", torch.randn(codebook_size, cdim))
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("usage", torch.zeros(codebook_size))
        self.register_buffer("embed_sum", torch.zeros(codebook_size, cdim))
        self.register_buffer("initialised", torch.tensor(False))
        if code_dim:
            self.proj_in = nn.Linear(dim, code_dim)
            self.proj_out = nn.Linear(code_dim, dim)

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        return (self.size,)

    def lookup(self, flat: torch.Tensor, codebook: torch.Tensor | None = None) -> torch.Tensor:
        """(F, D) -> (F,) index of the nearest code (squared Euclidean distance; on the unit
        sphere, i.e. cosine similarity, when the codes are factorised)."""
        cb = self._codes(self.codebook) if codebook is None else codebook
        dist = cb.pow(2).sum(1)[None, :] - 2.0 * flat @ cb.t()  # (F, K), ||flat||^2 dropped
        return dist.argmin(dim=1)

    def quantize(
        self, flat: torch.Tensor, level: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """One lookup, plus (in training) the codebook update.

        Args:
            flat: (F, D) vectors to quantize.
        Returns:
            codes (F, D) without gradient, indices (F,) and this level's stats.
        """
        data = flat.detach()
        first = self.training and not bool(self.initialised)
        if first:
            self._kmeans_init(data)
        idx = self.lookup(data)
        codes = self._codes(self.codebook[idx])  # (F, D), a copy: the updates do not change it
        stats = level_stats(idx, self.size, level)
        if self.training:
            self._ema_update(data, idx)
            # codes k-means left empty are refilled from the next batch, not this one again
            stats[f"reset_codes_{level}"] = 0.0 if first else float(self._reset_dead(data))
        return codes, idx, stats

    def _codes(self, vectors: torch.Tensor) -> torch.Tensor:
        """Codebook rows as looked up: unit vectors when the codes are factorised."""
        return F.normalize(vectors, dim=-1, eps=_NORM_EPS) if self.code_dim else vectors

    def quantize_step(
        self, flat: torch.Tensor, level: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """One level on (F, D) vectors, for :class:`ResidualVQ` and :meth:`forward`.

        Returns:
            the (F, D) output (plain codes: no gradient, the caller passes one straight through;
            factorised codes: already straight-through in the small space and mapped back to D,
            so the two projections learn), indices (F,), the commitment loss and stats.
        """
        if not self.code_dim:
            codes, idx, stats = self.quantize(flat, level)
            return codes, idx, self.settings.beta * F.mse_loss(flat, codes), stats
        e = F.normalize(self.proj_in(flat), dim=-1, eps=_NORM_EPS)  # (F, d) on the sphere
        codes, idx, stats = self.quantize(e, level)
        q = _straight_through(e, codes) if self.training else codes
        return self.proj_out(q), idx, self.settings.beta * F.mse_loss(e, codes), stats

    def forward(self, z: torch.Tensor) -> QuantOut:
        N, T, D = z.shape
        flat = z.reshape(N * T, D)  # (N*T, D)
        out, idx, loss, stats = self.quantize_step(flat)
        quantized = out.view(N, T, D) if self.code_dim else _straight_through(z, out.view(N, T, D))
        return QuantOut(quantized, idx.view(N, T, 1), loss, stats)

    def codes_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        codes = self._codes(self.codebook[indices[..., 0]])
        return self.proj_out(codes) if self.code_dim else codes

    @torch.no_grad()
    def _kmeans_init(self, data: torch.Tensor) -> None:
        """A few Lloyd iterations from K distinct batch vectors (all of them, plus jittered
        copies, when the batch has fewer than K).

        The EMA counts start at the cluster sizes, so the codes left empty (always the case
        when K exceeds the batch) are dead and get refilled from the following batches.
        """
        n, K = data.shape[0], self.size
        pick = torch.randperm(n, device=data.device)
        if n < K:
            pick = torch.cat([pick, torch.randint(n, (K - n,), device=data.device)])
        centroids = data[pick[:K]].clone()  # (K, D)
        centroids[n:] += 1e-3 * data.std(dim=0, correction=0) * torch.randn_like(centroids[n:])
        counts = torch.zeros(K, dtype=torch.long, device=data.device)
        for _ in range(max(self.settings.kmeans_iters, 1)):
            idx = self.lookup(data, centroids)
            counts = torch.bincount(idx, minlength=K)
            sums = torch.zeros_like(centroids).index_add_(0, idx, data)
            used = counts > 0
            centroids[used] = sums[used] / counts[used, None].to(data.dtype)
        self.codebook.copy_(centroids)
        self.cluster_size.copy_(counts)
        self.usage.copy_(counts)
        self.embed_sum.copy_(centroids * counts[:, None])
        self.initialised.fill_(True)

    @torch.no_grad()
    def _ema_update(self, data: torch.Tensor, idx: torch.Tensor) -> None:
        counts = torch.bincount(idx, minlength=self.size).to(data.dtype)  # (K,)
        sums = torch.zeros_like(self.embed_sum).index_add_(0, idx, data)  # (K, D)
        self.cluster_size.mul_(self.settings.decay).add_(counts, alpha=1 - self.settings.decay)
        self.embed_sum.mul_(self.settings.decay).add_(sums, alpha=1 - self.settings.decay)
        self.usage.mul_(self.settings.usage_decay).add_(counts, alpha=1 - self.settings.usage_decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + _LAPLACE) / (n + self.size * _LAPLACE) * n
        self.codebook.copy_(self.embed_sum / smoothed[:, None])

    @torch.no_grad()
    def _reset_dead(self, data: torch.Tensor) -> int:
        """Replace codes whose usage is below ``dead_threshold * tokens / K`` by distinct
        random vectors of this batch (at most one code per vector: the rest wait for the next
        batch, so no two codes restart equal); they restart with the uniform share as count."""
        n = data.shape[0]
        share = n / self.size
        dead = torch.nonzero(self.usage < self.settings.dead_threshold * share).flatten()
        dead = dead[:n]
        if dead.numel() == 0:
            return 0
        new = data[torch.randperm(n, device=data.device)[: dead.numel()]]  # (dead, D)
        self.codebook[dead] = new
        self.cluster_size[dead] = share
        self.usage[dead] = share
        self.embed_sum[dead] = new * share
        return int(dead.numel())


class ResidualVQ(Quantizer):
    """``levels`` EMA vector quantizers applied to successive residuals (SoundStream).

    Args:
        dim, codebook_size, settings: as :class:`VectorQuantizer`, for every level. Factorised
            levels subtract their mapped-back output, gradients included (DAC), and the sum is
            not passed straight through again.
        levels: L.
        quantize_dropout: probability that a training batch uses only the first ``k`` levels,
            ``k ~ U{1, .., L}``; dropped levels get index -1. Evaluation always uses all L.
    """

    def __init__(
        self,
        dim: int,
        codebook_size: int,
        levels: int,
        quantize_dropout: float = 0.0,
        settings: VQSettings = VQSettings(),
    ) -> None:
        super().__init__()
        self.quantize_dropout, self.factorised = quantize_dropout, settings.code_dim > 0
        self.layers = nn.ModuleList(
            VectorQuantizer(dim, codebook_size, settings) for _ in range(levels)
        )

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        return tuple(layer.size for layer in self.layers)

    def active_levels(self) -> int:
        """Levels used by this forward pass (all of them unless quantizer dropout fires)."""
        L = len(self.layers)
        if self.training and L > 1 and float(torch.rand(())) < self.quantize_dropout:
            return int(torch.randint(1, L + 1, ()))
        return L

    def forward(self, z: torch.Tensor) -> QuantOut:
        N, T, D = z.shape
        residual = z.reshape(N * T, D)  # (N*T, D)
        total = torch.zeros_like(residual.detach())
        indices = torch.full((N * T, len(self.layers)), -1, dtype=torch.long, device=z.device)
        loss = z.new_zeros(())
        stats: dict[str, float] = {}
        active = self.active_levels()
        for level, layer in enumerate(self.layers[:active]):
            out, idx, level_loss, level_stats = layer.quantize_step(residual, level)
            loss = loss + level_loss
            total = total + out
            residual = residual - out
            indices[:, level] = idx
            stats.update(level_stats)
        stats["active_levels"] = float(active)
        total = total.view(N, T, D)
        quantized = total if self.factorised else _straight_through(z, total)
        return QuantOut(quantized, indices.view(N, T, -1), loss, stats)

    def codes_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """(N, T, L) -> (N, T, D): the sum of the level codes (index -1 adds nothing)."""
        total = torch.zeros(*indices.shape[:-1], self.layers[0].dim, device=indices.device)
        for level, layer in enumerate(self.layers):
            idx = indices[..., level]
            keep = (idx >= 0).unsqueeze(-1).to(total.dtype)
            total = total + layer.codes_from_indices(idx.clamp(min=0).unsqueeze(-1)) * keep
        return total
