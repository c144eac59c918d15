"""A small transformer classifier over skeleton tokens: the ensemble's token stream.

Each token carries ``L`` code indices (one per quantizer level); its embedding is the sum of one
learnt embedding per level, as residual-VQ token models do (e.g. SoundStream / AudioLM), plus a
learnt time position and person embedding. The persons' token sequences are concatenated, encoded
by a pre-norm ``nn.TransformerEncoder``, mean-pooled over non-padding tokens and classified.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class TokenTransformerConfig:
    codebook_sizes: tuple[int, ...]  # codes per level; index == size is padding
    persons: int  # M token sequences per sample
    window: int  # tokens per person (the input's time length)
    num_classes: int
    width: int = 128  # d_model
    heads: int = 4
    layers: int = 2
    ff_mult: int = 2  # feed-forward width = ff_mult * width
    dropout: float = 0.1


class TokenTransformer(nn.Module):
    """(N, M, W, L) int64 token ids (padding = codebook size) -> (N, num_classes) logits."""

    def __init__(self, cfg: TokenTransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.width
        self.embed = nn.ModuleList(
            nn.Embedding(k + 1, d, padding_idx=k) for k in cfg.codebook_sizes
        )
        self.time = nn.Parameter(torch.zeros(1, 1, cfg.window, d))
        self.person = nn.Parameter(torch.zeros(1, cfg.persons, 1, d))
        nn.init.normal_(self.time, std=0.02)
        nn.init.normal_(self.person, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d, cfg.heads, cfg.ff_mult * d, cfg.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        N, M, W, L = tokens.shape
        h = sum(emb(tokens[..., level]) for level, emb in enumerate(self.embed))  # (N, M, W, d)
        h = h + self.time[:, :, :W] + self.person[:, :M]
        pad = tokens[..., 0] == self.cfg.codebook_sizes[0]  # (N, M, W)
        h = h.reshape(N, M * W, -1)  # (N, M*W, d)
        pad = pad.reshape(N, M * W)
        pad = pad & ~pad.all(dim=1, keepdim=True)  # an all-padding sample attends to everything
        h = self.encoder(h, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).to(h.dtype)  # (N, M*W, 1)
        pooled = (h * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (N, d)
        return self.head(self.norm(pooled))
