"""MS-G3D: disentangled multi-scale graph convolution and unified spatial-temporal (G3D) windows.

Liu et al., "Disentangling and Unifying Graph Convolutions for Skeleton-Based Action
Recognition", CVPR 2020. Implemented as PYSKL ships it: github.com/kennymckormick/pyskl
(``pyskl/models/gcns/msg3d.py``, ``pyskl/models/gcns/utils/msg3d_utils.py`` for MSGCN, MSTCN,
MW_MSG3DBlock, ``pyskl/utils/graph.py`` ``k_adjacency`` / ``normalize_digraph``; config
``configs/msg3d/msg3d_pyskl_ntu60_xsub_3dkp/j.py``: binary skeleton adjacency, GCNHead).

Same function and parameters as the official model (3,194,595 on NTU60 with the head):

* three STGC blocks of 96, 192, 384 channels (stride 2 in the last two), each summing a G3D
  pathway and a factorised pathway, then ReLU and one more multi-scale TCN;
* G3D pathway: for each window size (3 and 5) the frames ``t*s - p .. t*s + p`` are stacked into
  one graph of ``w * V`` nodes, joined by the skeleton adjacency plus self-loops tiled over the
  window (``tile(A + I)``); a 6-scale disentangled aggregation on it, a 1x1 conv, BN, ReLU, then
  a (window x 1) convolution collapses the window (the official Conv3d) and BN;
* factorised pathway: a 13-scale disentangled aggregation over the skeleton, then two MSTCNs
  (the second without its final ReLU);
* disentangled adjacency of scale ``k``: the joints exactly ``k`` hops apart plus self-loops,
  column-normalised (scale 0 is the identity); a learnt offset ``PA`` (uniform +-1e-6 at
  start) is added to each stack of scales;
* MSTCN (PYSKL's, not the one of the MS-G3D repository): four (3 x 1) branches with dilations 1-4
  and a max-pool branch, each behind 1x1 -> BN -> ReLU, a strided 1x1 branch taking the
  remaining channels, BN, a residual (1x1 conv + BN when the shape changes), ReLU;
* BatchNorm1d(M * V * C) on the input; PyTorch's default initialisation (the official
  ``init_weights`` is a no-op), head weights ~ N(0, 0.01).

Computed more efficiently, with the same function:

* the aggregation of all scales is one batched matmul in a (N, C, V, T) layout whose output is
  already grouped as (channel, scale), so the 1x1 conv reads it without the (N, K, C, T, V)
  permute of the official einsum (its input channels are ordered (c, k) instead of (k, c));
* windows are built from strided slices of the padded sequence (no ``nn.Unfold``), and the
  window-collapsing Conv3d is a Conv2d dilated by V over the (window, joint) axis;
* in MSTCN the entry 1x1 convs of the five branches are one convolution, the strided 1x1 branch
  and the residual conv one convolution, and the BatchNorms closing the branches one BN.

Deviations: the first block reads ``cfg.in_channels`` channels (the official code hard-codes 3,
which is what its configs feed) and is recognised by position, not by ``in_channels == 3``;
``stage_blocks`` may repeat STGC blocks within a stage (the official model has one per stage);
window dilation is fixed at 1, the only value the official code uses. The graph is the layout's
(``skelpipe.skeleton``): for ntu25 the published bone pairs, where HandTip -> Thumb -> Hand,
whereas PYSKL's ``nturgb+d`` joins both to the Hand; the hop distances of those joints differ
(the diameter is 12, not 11), which changes the fixed adjacency buffers, not the parameters.
With PYSKL's own graph the helpers here reproduce its buffers exactly.

Checked against the official code: PYSKL's weights and buffers loaded here (conv input channels
permuted to (c, k)) give its logits within 3e-7 in eval mode, 1e-6 in training mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skelpipe.models.blocks import ClassifierHead, InputNorm
from skelpipe.models.config import ModelConfig, stage_plan
from skelpipe.models.graph import adjacency, k_hop, normalize_columns
from skelpipe.skeleton import get_layout


@dataclass(frozen=True)
class MSG3DConfig(ModelConfig):
    """MS-G3D settings (defaults: PYSKL's NTU configuration).

    Attributes:
        gcn_scales: scales (hops 0 .. gcn_scales - 1) of the factorised pathway's graph conv.
        g3d_scales: scales of the G3D graph conv over the spatial-temporal window graph.
        window_sizes: frames per G3D window, one G3D pathway per size, their outputs summed.
        tcn_kernel: temporal kernel of the dilated MSTCN branches.
        tcn_dilations: dilations of those branches.
        tcn_dropout: dropout after the MSTCN closing each block.
    """

    width: int = 96
    stage_blocks: tuple[int, ...] = (1, 1, 1)
    gcn_scales: int = 13
    g3d_scales: int = 6
    window_sizes: tuple[int, ...] = (3, 5)
    tcn_kernel: int = 3
    tcn_dilations: tuple[int, ...] = (1, 2, 3, 4)
    tcn_dropout: float = 0.0


def multiscale_adjacency(A: np.ndarray, num_scales: int) -> np.ndarray:
    """Disentangled scales of the binary graph ``A``: (num_scales, V, V).

    Scale 0 is the identity; scale ``k >= 1`` joins the nodes exactly ``k`` hops apart and adds
    self-loops, then divides every column by its sum (PYSKL ``k_adjacency(A, k, with_self=True)``
    followed by ``normalize_digraph``).
    """
    eye = np.eye(len(A))
    scales = [eye] + [normalize_columns(k_hop(A, k) + eye) for k in range(1, num_scales)]
    return np.stack(scales)


def window_graph(A: np.ndarray, window: int) -> np.ndarray:
    """(window * V, window * V) graph of a G3D window: ``A + I`` tiled over all frame pairs.

    Node ``j * V + v`` is joint ``v`` in the ``j``-th frame of the window; every joint is linked to
    itself and to its skeleton neighbours in every frame of the window.
    """
    return np.tile(A + np.eye(len(A)), (window, window))


def temporal_windows(x: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """Stack ``window`` consecutive frames, centred on every ``stride``-th frame (zero padded).

    Input (N, C, V, T); output (N, C, window * V, T_out), node ``j * V + v`` = joint ``v`` of frame
    ``t * stride - (window - 1) // 2 + j``; ``T_out = (T + 2 * pad - window) // stride + 1``.
    Static slices (no frame arithmetic), so exports stay dynamic in T.
    """
    pad = (window - 1) // 2
    xp = F.pad(x, (pad, pad))  # (N, C, V, T + 2 * pad)
    frames = [xp[..., j : (j - window + 1) or None : stride] for j in range(window)]
    return torch.cat(frames, dim=2)


class MultiScaleGraphConv(nn.Module):
    """Aggregation over every scale, 1x1 conv, BN, ReLU (PYSKL ``MSGCN`` / ``ST_MSGCN``).

    ``out = relu(bn(W [ (A_k + PA_k)-aggregated x ]_k))`` on the (N, C, V, T) layout; the
    aggregation ``y[n, c, k, u, t] = sum_v (A + PA)[k, v, u] x[n, c, v, t]`` is one matmul and
    ``W`` reads its channels in (c, k) order.
    """

    def __init__(self, cin: int, cout: int, scales: np.ndarray) -> None:
        super().__init__()
        self.num_scales = scales.shape[0]
        self.register_buffer("A", torch.tensor(scales, dtype=torch.float32))
        self.PA = nn.Parameter(torch.empty_like(self.A).uniform_(-1e-6, 1e-6))
        self.conv = nn.Conv2d(cin * self.num_scales, cout, 1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, V, T) -> (N, cout, V, T)."""
        N, C, V, T = x.shape
        K = self.num_scales
        a = (self.A + self.PA).transpose(1, 2).reshape(K * V, V)  # [(k, u), v]
        # one (K*V, V) @ (V, T) product per (sample, channel); a broadcast matmul would copy
        # x and its K-times larger output into a transposed layout
        y = torch.bmm(a.expand(N * C, K * V, V), x.reshape(N * C, V, T))  # (N*C, K*V, T)
        return torch.relu(self.bn(self.conv(y.view(N, C * K, V, T))))


class G3DPathway(nn.Module):
    """One G3D window size (PYSKL ``MSG3DBlock``, embed_factor 1): (N, C, V, T) -> (N, cout, V, T').

    The graph conv keeps ``cin`` channels, except in the first block which widens right away;
    the window-collapsing conv maps them to ``cout``.
    """

    def __init__(self, cin: int, cout: int, A: np.ndarray, num_scales: int, window: int,
                 stride: int, first: bool) -> None:  # fmt: skip
        super().__init__()
        V = len(A)
        embed = cout if first else cin
        self.window, self.stride = window, stride
        scales = multiscale_adjacency(window_graph(A, window), num_scales)
        self.gcn = MultiScaleGraphConv(cin, embed, scales)
        # (window x 1) kernel dilated by V: taps on node j * V + u, i.e. joint u of every frame
        self.collapse = nn.Conv2d(embed, cout, (window, 1), dilation=(V, 1))
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.gcn(temporal_windows(x, self.window, self.stride))  # (N, E, w * V, T')
        return self.bn(self.collapse(h))  # (N, cout, V, T')


class MultiScaleTemporalConv(nn.Module):
    """PYSKL's MS-G3D ``MSTCN``: (N, cin, T, V) -> (N, cout, T / stride, V).

    Dilated (k x 1) branches and a max-pool branch of ``cout // (len(dilations) + 2)`` channels,
    a strided 1x1 branch with the remaining channels, one BN over their concatenation, plus a
    residual (identity, or a strided 1x1 conv + BN), then ReLU (``act``) and dropout.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, kernel: int = 3,
                 dilations: tuple[int, ...] = (1, 2, 3, 4), act: bool = True,
                 dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        n_branches = len(dilations) + 2
        bc = cout // n_branches
        self.bc, self.rem = bc, cout - bc * (n_branches - 1)
        self.stride, self.act = stride, act
        self.res_conv = cin != cout or stride != 1
        self.entry = nn.Conv2d(cin, bc * (n_branches - 1), 1)
        self.entry_bn = nn.BatchNorm2d(bc * (n_branches - 1))
        self.dilated = nn.ModuleList(
            nn.Conv2d(bc, bc, (kernel, 1), (stride, 1), ((kernel - 1) * d // 2, 0), (d, 1))
            for d in dilations
        )
        self.pool = nn.MaxPool2d((3, 1), (stride, 1), (1, 0))
        # the strided 1x1 branch and the residual conv read the same frames: one conv
        self.short = nn.Conv2d(cin, self.rem + (cout if self.res_conv else 0), 1)
        self.bn = nn.BatchNorm2d(cout)  # the BNs closing every branch
        self.res_bn = nn.BatchNorm2d(cout) if self.res_conv else None
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.relu(self.entry_bn(self.entry(x))).split(self.bc, dim=1)
        outs = [conv(p) for conv, p in zip(self.dilated, parts, strict=False)]
        outs.append(self.pool(parts[-1]))
        short = self.short(x[:, :, :: self.stride] if self.stride > 1 else x)  # (N, *, T', V)
        if self.res_bn is None:
            skip, res = short, x
        else:
            skip, res = short.split([self.rem, short.shape[1] - self.rem], dim=1)
            res = self.res_bn(res)
        y = self.bn(torch.cat([*outs, skip], dim=1)) + res  # (N, cout, T', V)
        return self.drop(torch.relu(y) if self.act else y)


class STGCBlock(nn.Module):
    """G3D pathways + factorised pathway, ReLU of their sum, then one MSTCN.

    Official ``gcn3d{i}``, ``sgcn{i}`` and ``tcn{i}``: (N, cin, T, V) -> (N, cout, T / stride, V).
    """

    def __init__(self, cin: int, cout: int, stride: int, A: np.ndarray, cfg: MSG3DConfig,
                 first: bool) -> None:  # fmt: skip
        super().__init__()
        mid = cout if first else cin
        tcn = {"kernel": cfg.tcn_kernel, "dilations": cfg.tcn_dilations}
        self.g3d = nn.ModuleList(
            G3DPathway(cin, cout, A, cfg.g3d_scales, w, stride, first) for w in cfg.window_sizes
        )
        self.gcn = MultiScaleGraphConv(cin, mid, multiscale_adjacency(A, cfg.gcn_scales))
        self.tcn1 = MultiScaleTemporalConv(mid, cout, stride, **tcn)
        self.tcn2 = MultiScaleTemporalConv(cout, cout, act=False, **tcn)
        self.out = MultiScaleTemporalConv(cout, cout, dropout=cfg.tcn_dropout, **tcn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xt = x.transpose(2, 3)  # (N, C, V, T)
        s = self.tcn2(self.tcn1(self.gcn(xt).transpose(2, 3)))  # (N, cout, T', V)
        g = self.g3d[0](xt)
        for pathway in self.g3d[1:]:
            g = g + pathway(xt)  # (N, cout, V, T')
        return self.out(torch.relu(s + g.transpose(2, 3)))


class MSG3D(nn.Module):
    """MS-G3D classifier: (N, C, T, V, M) -> logits (N, num_classes)."""

    def __init__(self, cfg: MSG3DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        A = adjacency(layout)  # PYSKL graph mode 'binary_adj'
        self.input_norm = InputNorm(cfg.in_channels, layout.num_joints, layout.max_persons)
        blocks, cin = [], cfg.in_channels
        for i, (cout, stride) in enumerate(stage_plan(cfg.width, cfg.stage_blocks)):
            blocks.append(STGCBlock(cin, cout, stride, A, cfg, first=i == 0))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = ClassifierHead(
            cin, cfg.num_classes, layout.max_persons, cfg.dropout, init_std=0.01
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.input_norm(x)))
