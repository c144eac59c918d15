"""TSGCNeXt: dynamic-static separate multi-graph convolution in a ConvNeXt-style network.

Liu et al., "TSGCNeXt: Dynamic-Static Multi-Graph Convolution for Efficient Skeleton-Based Action
Recognition with Long-term Learning Potential", arXiv:2304.11631, 2023. Official code:
github.com/vvhj/TSGCNeXt (``model/tsmartaagcnext_3.py``: stages 2-5-2, used by the ``*_252``
configs and the README's joint / bone streams; ``model/tsmartaagcnext_3_234.py``: 4-3-2).

* Stem: BatchNorm1d over (M, V, C), a (4 x 1) stride-4 temporal conv to 96 channels, LayerNorm.
* Blocks (ConvNeXt-like): depthwise (3 x 1) temporal conv -> LayerNorm -> pointwise expansion to
  4C -> DS-SMG -> GELU -> pointwise projection to C -> stochastic-depth residual. DS-SMG splits
  the 4C hidden channels into four groups: three are each aggregated over joints with their own
  learnt graph (the three subsets of the spatial graph; "dynamic"), the fourth passes unchanged
  (identity, "static"), so a joint's own features are never mixed away.
* The last block of the first two stages ends with LayerNorm + a (2 x 1) stride-2 conv that
  doubles the channels (96 -> 192 -> 384); head: pooling, LayerNorm, linear.
4.23 M parameters on NTU60 (stages 2-5-2); with the official 256-frame clips the stem leaves 64
steps. Inputs need T >= 4 * 2**(stages - 1) frames.

Deviations: the hidden channels are grouped group-major (``[g0 | g1 | g2 | g3]``) instead of
interleaved (``c * 4 + g``), a relabelling of hidden units that lets each group's aggregation be
one GEMM; the official blocks also create a layer-scale ``gamma`` and an ``alpha`` that their
forward never uses, which are left out here (1,929 parameters on NTU60).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from skelpipe.models.blocks import InputNorm
from skelpipe.models.config import ModelConfig
from skelpipe.models.graph import spatial_partition
from skelpipe.skeleton import get_layout


@dataclass(frozen=True)
class TSGCNeXtConfig(ModelConfig):
    """TSGCNeXt settings (defaults: the official 2-5-2 model).

    Attributes:
        stem_stride: temporal stride (and kernel) of the stem.
        mlp_ratio: expansion of the pointwise layers (4; one hidden group per graph + identity).
        drop_path: stochastic depth, rising linearly over the blocks to this rate (``drop_out``
            upstream, 0.4 in the official configs).
    """

    width: int = 96
    stage_blocks: tuple[int, ...] = (2, 5, 2)
    stem_stride: int = 4
    mlp_ratio: int = 4
    drop_path: float = 0.4


class ChannelNorm(nn.Module):
    """LayerNorm over the channel dim of (N, C, T, V) (ConvNeXt's ``channels_first`` LayerNorm).

    Statistics are computed in float32, so the layer is safe under autocast.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        var, mean = torch.var_mean(xf, dim=1, keepdim=True, correction=0)
        y = (xf - mean) * torch.rsqrt(var + self.eps)
        return (y * self.weight[:, None, None] + self.bias[:, None, None]).to(x.dtype)


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero whole samples of a residual branch with probability ``rate``."""
    if rate == 0.0 or not training:
        return x
    keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) >= rate
    return x * keep / (1.0 - rate)


class TSGCNeXtBlock(nn.Module):
    """One ConvNeXt-style block with DS-SMG; ``cout != cin`` appends the stage downsampling.

    Input (N, C_in, T, V); output (N, C_out, T / 2 if downsampling else T, V).
    """

    def __init__(self, cin: int, cout: int, A: torch.Tensor, mlp_ratio: int, rate: float):
        super().__init__()
        if A.shape[0] != mlp_ratio - 1:
            raise ValueError(f"DS-SMG needs mlp_ratio = subsets + 1, got {mlp_ratio}")
        self.groups, self.rate = mlp_ratio, rate
        self.dwconv = nn.Conv2d(cin, cin, (3, 1), padding=(1, 0), groups=cin)
        self.norm = ChannelNorm(cin)
        self.expand = nn.Conv2d(cin, mlp_ratio * cin, 1)
        self.PA = nn.Parameter(A.clone())  # (K, V, V), one learnt graph per hidden group
        self.register_buffer("eye", torch.eye(A.shape[-1]).unsqueeze(0), persistent=False)
        self.project = nn.Conv2d(mlp_ratio * cin, cin, 1)
        self.down = None
        if cout != cin:
            self.down = nn.Sequential(ChannelNorm(cin), nn.Conv2d(cin, cout, (2, 1), (2, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def graph_mix(self, h: torch.Tensor) -> torch.Tensor:
        """DS-SMG on (N, G*C, T, V): group g < G-1 aggregated by PA[g], the last left as is."""
        N, GC, T, V = h.shape
        graphs = torch.cat([self.PA, self.eye], dim=0).transpose(1, 2).to(h.dtype)  # (G, V, U)
        # out[n, g, c, t, u] = sum_v h[n, g, c, t, v] * PA[g, u, v]: one big GEMM per group
        y = torch.matmul(h.view(N, self.groups, GC // self.groups * T, V), graphs)
        return y.view(N, GC, T, V)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.expand(self.norm(self.dwconv(x)))  # (N, G*C, T, V)
        h = self.project(F.gelu(self.graph_mix(h)))
        y = x + drop_path(h, self.rate, self.training)
        return y if self.down is None else self.down(y)


class TSGCNeXt(nn.Module):
    """TSGCNeXt classifier: (N, C, T, V, M) -> logits (N, num_classes)."""

    def __init__(self, cfg: TSGCNeXtConfig):
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        self.num_persons = layout.max_persons
        A = torch.tensor(spatial_partition(layout), dtype=torch.float32)
        self.input_norm = InputNorm(cfg.in_channels, layout.num_joints, layout.max_persons)
        s = cfg.stem_stride
        self.stem = nn.Sequential(
            nn.Conv2d(cfg.in_channels, cfg.width, (s, 1), (s, 1)), ChannelNorm(cfg.width)
        )
        n_blocks = sum(cfg.stage_blocks)
        rates = torch.linspace(0, cfg.drop_path, n_blocks).tolist()
        blocks, i = [], 0
        for stage, depth in enumerate(cfg.stage_blocks):
            cin = cfg.width * 2**stage
            for b in range(depth):
                last = b == depth - 1 and stage < len(cfg.stage_blocks) - 1
                cout = 2 * cin if last else cin
                blocks.append(TSGCNeXtBlock(cin, cout, A, cfg.mlp_ratio, rates[i]))
                i += 1
        self.blocks = nn.Sequential(*blocks)
        channels = cfg.width * 2 ** (len(cfg.stage_blocks) - 1)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.fc = nn.Linear(channels, cfg.num_classes)
        nn.init.normal_(self.fc.weight, 0.0, (2.0 / cfg.num_classes) ** 0.5)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(self.input_norm(x)))  # (N*M, C, T', V)
        NM, C = h.shape[:2]
        h = h.mean(dim=(2, 3)).view(NM // self.num_persons, self.num_persons, C).mean(1)
        return self.fc(self.drop(self.norm(h)))
