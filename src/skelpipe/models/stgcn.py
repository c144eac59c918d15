"""ST-GCN as retrained in PYSKL (the "PYSKL practice" ST-GCN).

Yan et al., "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
Recognition", AAAI 2018; Duan et al., "PYSKL: Towards Good Practices for Skeleton Action
Recognition", ACM MM 2022. Official code: github.com/kennymckormick/pyskl
(``pyskl/models/gcns/stgcn.py``, ``utils/gcn.py`` ``unit_gcn``, ``utils/tcn.py`` ``unit_tcn``,
config ``configs/stgcn/stgcn_pyskl_ntu60_xsub_3dkp/j.py``).

Ten blocks 64-64-64-64-128-128-128-256-256-256 (stride 2 at blocks 5 and 8), each a graph
convolution over the three subsets of ST-GCN's distance partition with learnable edge importance
(``A * importance``, importance initialised to one), BN, ReLU, then a (9 x 1) temporal
convolution + BN, a block residual and ReLU; 3.10 M parameters on NTU60.

Deviations: the input BatchNorm runs over (M, V, C) as in the original ST-GCN (PYSKL's default
shares it over persons, ``per_person_bn=False``; 150 parameters fewer); the graph comes from
:mod:`skelpipe.skeleton`, whose NTU hand bones (22-23-8, 24-25-12, CTR-GCN's) differ from PYSKL's
hand-written ``nturgb+d`` edges (22-8, 23-8, 24-12, 25-12); the partition centre is the bone-tree
root, SpineShoulder, as in ST-GCN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from skelpipe.models.blocks import ClassifierHead, InputNorm, TemporalConv
from skelpipe.models.config import ModelConfig, stage_plan
from skelpipe.models.graph import distance_partition
from skelpipe.skeleton import Layout, get_layout


@dataclass(frozen=True)
class STGCNConfig(ModelConfig):
    """ST-GCN settings (defaults: PYSKL's NTU configuration).

    Attributes:
        temporal_kernel: kernel of the temporal convolution.
        per_person_bn: input BatchNorm over (M, V, C) (True) or shared over persons (False,
            PYSKL's default ``VC``).
    """

    temporal_kernel: int = 9
    per_person_bn: bool = True


class GraphConv(nn.Module):
    """PYSKL ``unit_gcn`` (conv_pos ``pre``): 1x1 conv to K * C_out, then aggregate each subset.

    ``out[c, t, w] = sum_k sum_v conv_k(x)[c, t, v] * A_k[v, w]`` with ``A_k`` the subset graph
    times a learnt importance (``adaptive='importance'``) or the graph itself learnt
    (``adaptive='init'``, ST-GCN++). ``residual`` adds PYSKL's ``with_res`` branch.
    """

    def __init__(self, cin: int, cout: int, A: torch.Tensor, adaptive: str, residual: bool):
        super().__init__()
        if adaptive not in ("importance", "init"):
            raise ValueError(f"adaptive must be 'importance' or 'init', not {adaptive!r}")
        self.K, self.cout = A.shape[0], cout
        if adaptive == "importance":
            self.register_buffer("A", A.clone())
            self.importance = nn.Parameter(torch.ones_like(A))
        else:
            self.A = nn.Parameter(A.clone())
            self.importance = None
        self.conv = nn.Conv2d(cin, cout * self.K, 1)
        self.bn = nn.BatchNorm2d(cout)
        self.down = None
        if residual and cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
        self.residual = residual

    def graph(self) -> torch.Tensor:
        return self.A if self.importance is None else self.A * self.importance

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, _, T, V = x.shape
        K, C = self.K, self.cout
        y = self.conv(x).view(N, K, C, T, V).permute(0, 2, 3, 1, 4)  # (N, C, T, K, V)
        # all subsets in one GEMM: ((N*C*T), (k, v)) @ ((k, v), w)
        y = torch.mm(y.reshape(N * C * T, K * V), self.graph().reshape(K * V, V))
        y = self.bn(y.view(N, C, T, V))
        if self.residual:
            y = y + (x if self.down is None else self.down(x))
        return torch.relu(y)


class STGCNBlock(nn.Module):
    """Graph conv -> temporal module, plus the block residual (PYSKL ``STGCNBlock``)."""

    def __init__(self, gcn: nn.Module, tcn: nn.Module, cin: int, cout: int, stride: int,
                 residual: bool = True):  # fmt: skip
        super().__init__()
        self.gcn, self.tcn = gcn, tcn
        self.residual = residual
        self.down = None
        if residual and (cin != cout or stride != 1):
            self.down = TemporalConv(cin, cout, 1, stride, kaiming=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual:
            y = y + (x if self.down is None else self.down(x))
        return torch.relu(y)


class STGCN(nn.Module):
    """ST-GCN classifier: (N, C, T, V, M) -> logits (N, num_classes).

    Subclasses change the graph, the graph convolution and the temporal module through
    :meth:`partition`, :meth:`make_gcn` and :meth:`make_tcn` (see ST-GCN++).
    """

    def __init__(self, cfg: STGCNConfig):
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        A = torch.tensor(self.partition(layout), dtype=torch.float32)
        self.input_norm = InputNorm(
            cfg.in_channels, layout.num_joints, layout.max_persons, cfg.per_person_bn
        )
        blocks, cin = [], cfg.in_channels
        for i, (cout, stride) in enumerate(stage_plan(cfg.width, cfg.stage_blocks)):
            gcn, tcn = self.make_gcn(cin, cout, A), self.make_tcn(cout, stride)
            blocks.append(STGCNBlock(gcn, tcn, cin, cout, stride, residual=i > 0))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = ClassifierHead(
            cin, cfg.num_classes, layout.max_persons, cfg.dropout, init_std=0.01
        )

    def partition(self, layout: Layout) -> np.ndarray:
        """(K, V, V) graph subsets: ST-GCN's distance partition around the root joint."""
        return distance_partition(layout)

    def make_gcn(self, cin: int, cout: int, A: torch.Tensor) -> nn.Module:
        return GraphConv(cin, cout, A, adaptive="importance", residual=False)

    def make_tcn(self, channels: int, stride: int) -> nn.Module:
        return TemporalConv(channels, channels, self.cfg.temporal_kernel, stride, kaiming=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.input_norm(x)))
