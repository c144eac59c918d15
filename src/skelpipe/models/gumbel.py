"""The ``dvae`` bottleneck of the skeleton tokenizer: a Gumbel-softmax codebook mix.

Ramesh et al., "Zero-Shot Text-to-Image Generation", 2021 (DALL-E's dVAE) with the Gumbel-softmax
relaxation of Jang et al. / Maddison et al. (ICLR 2017): logits over K codes, a relaxed one-hot
mixes the codebook, KL to the uniform prior; argmax at evaluation. Same interface as the VQ
quantizers of :mod:`skelpipe.models.quantizers`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from skelpipe.models.quantizers import Quantizer, QuantOut, level_stats


def gumbel_temperature(progress: float, start: float, end: float) -> float:
    """Exponential anneal from ``start`` (progress 0) to ``end`` (progress >= 1), as DALL-E."""
    p = min(max(progress, 0.0), 1.0)
    return start * (end / start) ** p


class GumbelQuantizer(Quantizer):
    """DALL-E style dVAE bottleneck: logits -> Gumbel-softmax over K codes -> codebook mix.

    Args:
        dim: code dimension D.
        codebook_size: K.
        kl_weight: weight of ``KL(softmax(logits) || uniform)``, averaged over tokens.
        hard: straight-through one-hot samples in training (soft relaxation when False, DALL-E).
        temperature: initial Gumbel-softmax temperature (see :meth:`set_temperature`).
    """

    def __init__(
        self,
        dim: int,
        codebook_size: int,
        kl_weight: float = 0.0,
        hard: bool = False,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        self.size, self.kl_weight, self.hard = codebook_size, kl_weight, hard
        self.temperature = temperature
        self.proj = nn.Linear(dim, codebook_size)
        self.embed = nn.Embedding(codebook_size, dim)

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        return (self.size,)

    def set_temperature(self, tau: float) -> None:
        self.temperature = float(tau)

    def forward(self, z: torch.Tensor) -> QuantOut:
        logits = self.proj(z)  # (N, T, K)
        if self.training:
            sample = F.gumbel_softmax(logits, tau=self.temperature, hard=self.hard, dim=-1)
            quantized = sample @ self.embed.weight  # (N, T, D)
            idx = sample.argmax(dim=-1)
        else:
            idx = logits.argmax(dim=-1)  # (N, T)
            quantized = self.embed(idx)
        log_q = F.log_softmax(logits, dim=-1)
        kl = (log_q.exp() * (log_q + math.log(self.size))).sum(-1).mean()
        stats = level_stats(idx, self.size, 0)
        stats["temperature"] = self.temperature
        return QuantOut(quantized, idx.unsqueeze(-1), self.kl_weight * kl, stats)

    def codes_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        return self.embed(indices[..., 0])
