"""AAGCN: attention-enhanced adaptive graph convolutional network, as retrained in PYSKL.

Shi et al., "Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph Convolutional
Networks", IEEE TIP 2020; Duan et al., "PYSKL: Towards Good Practices for Skeleton Action
Recognition", ACM MM 2022. Official code: github.com/kennymckormick/pyskl
(``pyskl/models/gcns/aagcn.py``, ``utils/gcn.py`` ``unit_aagcn``, ``utils/tcn.py`` ``unit_tcn``,
``heads/simple_head.py`` ``GCNHead``; config ``configs/aagcn/aagcn_pyskl_ntu60_xsub_3dkp/j.py``,
graph layout ``nturgb+d``, mode ``spatial``, all ``unit_aagcn`` defaults).

Same architecture as the official model: ten blocks 64-64-64-64-128-128-128-256-256-256 (stride
2 at blocks 5 and 8), each an adaptive graph convolution followed by a (9 x 1) temporal
convolution + BN, a block residual (none in the first block) and ReLU; BatchNorm1d(M * V * C) on
the input; the GCNHead (mean over frames, joints and persons, linear). The graph convolution
sums, over the three subsets k of the spatial graph, ``W_k (x @ G_k) + b_k`` with the learnt
graph ``G_k = A_k + alpha * tanh(theta_k(x)^T phi_k(x) / (C_e * T))`` (``A_k`` learnt from the
spatial partition, ``alpha`` from zero, ``theta_k`` / ``phi_k`` 1x1 convs to C_e = C_out / 4),
then BN, a residual, ReLU, and the spatial, temporal and channel attention, each applied as
``y * (1 + attention)`` in that order. 3,781,668 parameters on NTU60, as the official model.

Computed more efficiently, same function and parameters:

* the 2K embedding convs are one convolution; the graph is aggregated before the output
  projection (cheaper when C_in < C_out), all subsets in one broadcast matmul, and the K output
  convs are one convolution over the (subset, channel) stack, whose K biases are kept as
  parameters and summed;
* the three attentions are folded into one rescaling ``y * (1 + s_v)(1 + t_t)(1 + c_c)``: the
  temporal and channel descriptors of the attended tensors are computed from ``y`` by
  contracting with the joint and time factors, so no intermediate attended tensor is written.

Deviations: the graph comes from :mod:`skelpipe.skeleton`, whose NTU hand bones (22-23-8,
24-25-12, CTR-GCN's) differ from PYSKL's hand-written ``nturgb+d`` edges (22-8, 23-8, 24-12,
25-12); as the graph is a learnt parameter initialised from it, a PYSKL checkpoint still loads
and computes the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from skelpipe.models.blocks import TemporalConv, bn_init, conv_init
from skelpipe.models.graph import spatial_partition
from skelpipe.models.stgcn import STGCN, STGCNConfig
from skelpipe.skeleton import Layout


@dataclass(frozen=True)
class AAGCNConfig(STGCNConfig):
    """AAGCN settings (defaults: PYSKL's NTU configuration).

    Attributes:
        embed_reduction: embedding channels of the data-dependent graph = C_out // this
            (``coff_embedding``).
        adaptive: learn the graph and add the data-dependent graph (False: fixed spatial graph).
        attention: spatial, temporal and channel attention after each graph convolution.
        channel_reduction: hidden width of the channel attention = C_out // this.
        attention_kernel: kernel of the temporal attention's convolution over frames.
    """

    embed_reduction: int = 4
    adaptive: bool = True
    attention: bool = True
    channel_reduction: int = 2
    attention_kernel: int = 9


class STCAttention(nn.Module):
    """Spatial, then temporal, then channel attention of ``unit_aagcn``, as one rescaling.

    Officially ``y1 = y (1 + s)``, ``s = sigmoid(conv_V(mean_T y))`` over joints;
    ``y2 = y1 (1 + t)``, ``t = sigmoid(conv_T(mean_V y1))`` over frames; ``y3 = y2 (1 + c)``,
    ``c = sigmoid(fc2(relu(fc1(mean_TV y2))))`` over channels. Here ``mean_V y1`` is the
    contraction of ``y`` with ``(1 + s) / V`` and ``mean_TV y2`` the mean over T of that times
    ``(1 + t)``; the output is ``y`` times the three factors, written once.
    """

    def __init__(self, channels: int, num_joints: int, time_kernel: int = 9, reduction: int = 2):
        super().__init__()
        joint_kernel = num_joints if num_joints % 2 else num_joints - 1  # odd: same-length output
        self.joint = nn.Conv1d(channels, 1, joint_kernel, padding=(joint_kernel - 1) // 2)
        self.time = nn.Conv1d(channels, 1, time_kernel, padding=(time_kernel - 1) // 2)
        self.squeeze = nn.Linear(channels, channels // reduction)
        self.excite = nn.Linear(channels // reduction, channels)
        # official init: temporal and channel attention start at sigmoid(0) = 0.5 everywhere
        nn.init.zeros_(self.time.weight)
        nn.init.zeros_(self.time.bias)
        nn.init.xavier_normal_(self.joint.weight)
        nn.init.zeros_(self.joint.bias)
        nn.init.kaiming_normal_(self.squeeze.weight)
        nn.init.zeros_(self.squeeze.bias)
        nn.init.zeros_(self.excite.weight)
        nn.init.zeros_(self.excite.bias)

    def factors(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three gains ``1 + attention``: joints (N, 1, 1, V), frames (N, 1, T, 1) and
        channels (N, C, 1, 1), for ``y`` (N, C, T, V)."""
        N, C, T, V = y.shape
        g_joint = 1 + torch.sigmoid(self.joint(y.mean(2)))  # (N, 1, V)
        # mean over V of y * g_joint: (N, C*T, V) @ (N, V, 1)
        pooled = torch.bmm(y.reshape(N, C * T, V), g_joint.transpose(1, 2)) / V
        pooled = pooled.view(N, C, T)
        g_time = 1 + torch.sigmoid(self.time(pooled))  # (N, 1, T)
        desc = (pooled * g_time).mean(2)  # (N, C): mean over T, V of y * g_joint * g_time
        g_chan = 1 + torch.sigmoid(self.excite(torch.relu(self.squeeze(desc))))  # (N, C)
        return g_joint.unsqueeze(2), g_time.unsqueeze(3), g_chan.view(N, C, 1, 1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C, T, V)."""
        g_joint, g_time, g_chan = self.factors(y)
        return y * (g_time * g_joint) * g_chan


class AdaptiveGraphConv(nn.Module):
    """PYSKL ``unit_aagcn``: adaptive graph convolution, BN, residual, ReLU, attention.

    ``out = relu(BN(sum_k W_k (x @ G_k) + b_k) + down(x))`` with ``x @ G_k`` contracting joints,
    ``out[c, t, w] = sum_v x[c, t, v] G_k[v, w]``, and ``G_k`` the learnt graph plus, when
    ``adaptive``, ``alpha * tanh(a_k^T b_k / (C_e * T))`` for the embeddings ``a_k``, ``b_k``
    (C_e, T, V) of ``x`` flattened over (channel, frame).
    """

    def __init__(self, cin: int, cout: int, A: torch.Tensor, cfg: AAGCNConfig):
        super().__init__()
        K, V = A.shape[0], A.shape[-1]
        self.K, self.embed_c = K, cout // cfg.embed_reduction
        self.adaptive = cfg.adaptive
        if cfg.adaptive:
            self.A = nn.Parameter(A.clone())
            self.alpha = nn.Parameter(torch.zeros(1))
            # theta_k and phi_k of every subset, channels ordered (theta | phi, k, c_e)
            self.embed = nn.Conv2d(cin, 2 * K * self.embed_c, 1)
            conv_init(self.embed, branches=2 * K)
        else:
            self.register_buffer("A", A.clone())
        # the K output convs W_k over the stacked (k, c_in) channels; their K biases summed
        self.project = nn.Conv2d(K * cin, cout, 1, bias=False)
        self.project_bias = nn.Parameter(torch.zeros(K, cout))
        nn.init.normal_(self.project.weight, 0.0, math.sqrt(2.0 / (cout * cin * K)))
        self.bn = nn.BatchNorm2d(cout)
        bn_init(self.bn, 1e-6)
        self.down = None
        if cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
            conv_init(self.down[0])
            bn_init(self.down[1], 1.0)
        self.attention = None
        if cfg.attention:
            self.attention = STCAttention(cout, V, cfg.attention_kernel, cfg.channel_reduction)

    def graph(self, x: torch.Tensor) -> torch.Tensor:
        """The subset graphs G (N, K, V, V) for ``x`` (N, C_in, T, V), or (1, K, V, V) if fixed."""
        if not self.adaptive:
            return self.A.unsqueeze(0)
        N, _, T, V = x.shape
        K, E = self.K, self.embed_c
        theta, phi = self.embed(x).chunk(2, dim=1)  # (N, K * E, T, V) each
        theta = theta.reshape(N, K, E * T, V)
        phi = phi.reshape(N, K, E * T, V)
        sim = torch.matmul(theta.transpose(2, 3), phi) / (E * T)  # (N, K, V, V)
        return self.A + self.alpha * torch.tanh(sim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, T, V) -> (N, C_out, T, V)."""
        N, C, T, V = x.shape
        G = self.graph(x)
        # every subset in one broadcast matmul: (N, 1, C*T, V) @ (N, K, V, V)
        agg = torch.matmul(x.reshape(N, 1, C * T, V), G)  # (N, K, C*T, V)
        y = self.project(agg.reshape(N, self.K * C, T, V)) + self.project_bias.sum(0).view(
            1, -1, 1, 1
        )
        y = torch.relu(self.bn(y) + (x if self.down is None else self.down(x)))
        return y if self.attention is None else self.attention(y)


class AAGCN(STGCN):
    """AAGCN classifier: (N, C, T, V, M) -> logits (N, num_classes).

    The ST-GCN skeleton of :class:`~skelpipe.models.stgcn.STGCN` (input BN, ten blocks with
    residuals, head with std-0.01 init), with the spatial graph, :class:`AdaptiveGraphConv` and
    a Kaiming-initialised (9 x 1) temporal convolution (``unit_tcn.init_weights``).
    """

    cfg: AAGCNConfig

    def partition(self, layout: Layout) -> np.ndarray:
        """(3, V, V) spatial partition [identity, inward, outward] (PYSKL ``spatial``)."""
        return spatial_partition(layout)

    def make_gcn(self, cin: int, cout: int, A: torch.Tensor) -> nn.Module:
        return AdaptiveGraphConv(cin, cout, A, self.cfg)

    def make_tcn(self, channels: int, stride: int) -> nn.Module:
        return TemporalConv(channels, channels, self.cfg.temporal_kernel, stride, kaiming=True)
