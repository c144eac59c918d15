"""ST-GCN++: ST-GCN with a learnt graph, a residual graph conv and a multi-branch TCN.

Duan et al., "PYSKL: Towards Good Practices for Skeleton Action Recognition", ACM MM 2022.
Official code: github.com/kennymckormick/pyskl (``pyskl/models/gcns/stgcn.py`` with
``gcn_adaptive='init'``, ``gcn_with_res=True``, ``tcn_type='mstcn'``; ``utils/tcn.py`` ``mstcn``;
config ``configs/stgcn++/stgcn++_ntu60_xsub_3dkp/j.py``, graph mode ``spatial``).

Same ten-block backbone as :mod:`skelpipe.models.stgcn`, but the graph convolution learns the
three-subset spatial graph directly (initialised from it; equivalent to learning an offset
added to it) and has its own residual, and the temporal module has six branches: four (3 x 1)
convs with dilations 1-4, a max-pool and a strided 1x1, each behind a 1x1 -> BN -> ReLU, then
BN -> ReLU -> 1x1 -> BN over their concatenation. 1.40 M parameters on NTU60.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from skelpipe.models.graph import spatial_partition
from skelpipe.models.stgcn import STGCN, GraphConv, STGCNConfig
from skelpipe.skeleton import Layout


@dataclass(frozen=True)
class STGCNPPConfig(STGCNConfig):
    """ST-GCN++ settings (defaults: PYSKL's NTU configuration, input BN shared over persons).

    Attributes:
        tcn_dilations: dilations of the (3 x 1) branches of the multi-branch TCN.
    """

    per_person_bn: bool = False
    tcn_dilations: tuple[int, ...] = (1, 2, 3, 4)


class MultiBranchTCN(nn.Module):
    """PYSKL ``mstcn``: dilated (3 x 1) branches, a max-pool branch and a 1x1 branch.

    The first branch takes the remainder channels (``cout - 5 * (cout // 6)`` for six branches).
    The 1x1 entry convs of all but the last branch share one convolution and BatchNorm.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, dilations=(1, 2, 3, 4)) -> None:
        super().__init__()
        n_branches = len(dilations) + 2
        mid = cout // n_branches
        first = cout - mid * (n_branches - 1)
        self.widths = [first] + [mid] * (n_branches - 2)  # branches after the shared entry
        self.entry = nn.Sequential(
            nn.Conv2d(cin, sum(self.widths), 1), nn.BatchNorm2d(sum(self.widths)), nn.ReLU()
        )
        self.dilated = nn.ModuleList(
            nn.Conv2d(w, w, (3, 1), (stride, 1), (d, 0), (d, 1))
            for w, d in zip(self.widths, dilations, strict=False)
        )
        self.pool = nn.MaxPool2d((3, 1), (stride, 1), (1, 0))
        self.skip = nn.Conv2d(cin, mid, 1, stride=(stride, 1))
        self.transform = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(), nn.Conv2d(cout, cout, 1))
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = self.entry(x).split(self.widths, dim=1)
        outs = [conv(p) for conv, p in zip(self.dilated, parts, strict=False)]
        outs += [self.pool(parts[-1]), self.skip(x)]
        return self.bn(self.transform(torch.cat(outs, dim=1)))  # (N, cout, T / stride, V)


class STGCNPP(STGCN):
    """ST-GCN++ classifier: (N, C, T, V, M) -> logits (N, num_classes)."""

    cfg: STGCNPPConfig

    def partition(self, layout: Layout) -> np.ndarray:
        return spatial_partition(layout)

    def make_gcn(self, cin: int, cout: int, A: torch.Tensor) -> nn.Module:
        return GraphConv(cin, cout, A, adaptive="init", residual=True)

    def make_tcn(self, channels: int, stride: int) -> nn.Module:
        return MultiBranchTCN(channels, channels, stride, self.cfg.tcn_dilations)
