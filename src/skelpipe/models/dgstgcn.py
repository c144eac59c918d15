"""DG-STGCN: dynamic group spatial-temporal GCN.

Duan et al., "DG-STGCN: Dynamic Spatial-Temporal Modeling for Skeleton-based Action Recognition",
arXiv:2210.05895, 2022. Official code: github.com/kennymckormick/pyskl
(``pyskl/models/gcns/dgstgcn.py``; ``pyskl/models/gcns/utils/gcn.py`` ``dggcn``;
``pyskl/models/gcns/utils/tcn.py`` ``dgmstcn``; config ``configs/dgstgcn/ntu60_xsub_3dkp/j.py``:
``gcn_ratio=0.125, gcn_ctr='T', gcn_ada='T'``, graph mode ``random`` with 8 filters).

Same architecture as the official model, 1,701,172 parameters on NTU60:

* BatchNorm1d over (V, C) shared by the persons (PYSKL's ``VC``), then ten blocks
  64-64-64-64-128-128-128-256-256-256 (stride 2 at blocks 5 and 8), each DG-GCN -> DG-TCN with a
  block residual (none in the first block) and ReLU; pooled over (T, V, M), linear classifier.
* DG-GCN (:class:`DynamicGroupGCN`): K = 8 groups of ``R = ratio * C_out`` channels. Each group
  aggregates over joints with ``A_k + alpha * tanh(q[c, v] - k[c, w]) + beta * softmax_v(q^T k)``:
  a learnt static affinity ``A_k`` (no skeleton prior: drawn ~ N(0.04, 0.02^2) once and given to
  every block, as PYSKL's ``random`` graph), a channel-wise dynamic term and a group-wise dynamic
  term (the ``ctr`` and ``ada`` options, both on the time-averaged input: mode ``'T'``). ``alpha``
  and ``beta`` start at zero; as upstream with ``subset_wise=False`` they hold K entries of which
  the first scales every group. Then a 1x1 conv, BN, its own residual and ReLU.
* DG-TCN (:class:`DynamicMultiBranchTCN`): PYSKL's six-branch TCN (dilations 1-4, max-pool, 1x1)
  run on the joints plus their mean as an extra joint; the mean joint's output, times a learnt
  per-joint coefficient (zero at start), is added to every joint before the closing transform.

Efficiency: ``q`` and ``k`` come from one 1x1 conv on the time-averaged input, and each block's
aggregation is a single batched matmul over (sample, group, channel) (over (sample, group) when
the channel-wise term is off), on a dynamic topology built by broadcasting.

Deviations: the static affinity is drawn from torch's RNG instead of numpy's (initial values only);
the per-joint coefficient has V entries for the layout (upstream always 25 and uses the first V;
identical on NTU); only the temporal-mean (``'T'``) variant of ``ctr`` / ``ada`` is implemented
(``ctr`` / ``ada`` are on/off flags; PYSKL's per-frame ``'NA'`` variant is not).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from skelpipe.models.blocks import ClassifierHead, InputNorm
from skelpipe.models.config import ModelConfig, stage_plan
from skelpipe.models.stgcn import STGCNBlock
from skelpipe.models.stgcnpp import MultiBranchTCN
from skelpipe.skeleton import get_layout


@dataclass(frozen=True)
class DGSTGCNConfig(ModelConfig):
    """DG-STGCN settings (defaults: PYSKL's NTU60 configuration).

    Attributes:
        num_groups: K, groups of the DG-GCN, i.e. filters of the learnt affinity (``num_filter``).
        gcn_ratio: channels per group = ``int(gcn_ratio * C_out)`` (``gcn_ratio``).
        ctr: channel-wise dynamic affinity ``tanh(q[c, v] - k[c, w])`` (``gcn_ctr='T'``).
        ada: group-wise dynamic affinity ``softmax_v(sum_c q[c, v] k[c, w])`` (``gcn_ada='T'``).
        subset_wise: one ``alpha`` / ``beta`` per group instead of the first for all (upstream
            default False).
        graph_init_offset: mean of the initial static affinity (``init_off``).
        graph_init_std: std of the initial static affinity (``init_std``).
        tcn_dilations: dilations of the (3 x 1) branches of the DG-TCN (``tcn_ms_cfg``).
    """

    num_groups: int = 8
    gcn_ratio: float = 0.125
    ctr: bool = True
    ada: bool = True
    subset_wise: bool = False
    graph_init_offset: float = 0.04
    graph_init_std: float = 0.02
    tcn_dilations: tuple[int, ...] = (1, 2, 3, 4)


def random_affinity(num_groups: int, num_joints: int, std: float, offset: float) -> torch.Tensor:
    """(K, V, V) initial static affinity ~ N(offset, std^2) (PYSKL ``Graph`` mode ``random``)."""
    return torch.randn(num_groups, num_joints, num_joints) * std + offset


class DynamicGroupGCN(nn.Module):
    """PYSKL ``dggcn``: grouped graph conv on a learnt static plus dynamic affinity.

    With ``value = ReLU(BN(conv_pre(x)))`` viewed as (N, K, R, T, V) and ``q``, ``k`` (N, K, R, V)
    1x1 convs of the time-averaged input, ``out[k, c, t, w] = sum_v value[k, c, t, v] *
    (A[k, v, w] + alpha * tanh(q[k, c, v] - k[k, c, w]) + beta * softmax_v(q^T k)[k, v, w])``,
    then ``ReLU(BN(conv_post(out)) + down(x))``. Input (N, C_in, T, V) -> (N, C_out, T, V).
    """

    def __init__(self, cin: int, cout: int, A: torch.Tensor, cfg: DGSTGCNConfig) -> None:
        super().__init__()
        K = A.shape[0]
        R = int(cfg.gcn_ratio * cout)
        self.K, self.R, self.ctr, self.ada = K, R, cfg.ctr, cfg.ada
        self.subset_wise = cfg.subset_wise
        self.A = nn.Parameter(A.clone())  # (K, V, V) learnt static affinity
        self.pre = nn.Sequential(nn.Conv2d(cin, K * R, 1), nn.BatchNorm2d(K * R), nn.ReLU())
        self.post = nn.Conv2d(K * R, cout, 1)
        self.alpha = nn.Parameter(torch.zeros(K))  # scale of the channel-wise term
        self.beta = nn.Parameter(torch.zeros(K))  # scale of the group-wise term
        # conv1 and conv2 upstream (queries, keys), applied to the time-averaged input
        self.query_key = nn.Conv1d(cin, 2 * K * R, 1) if (cfg.ctr or cfg.ada) else None
        self.down = None
        if cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
        self.bn = nn.BatchNorm2d(cout)

    def _scale(self, p: torch.Tensor) -> torch.Tensor:
        """A (1, K, 1, 1, 1) per-group scale, or the first entry for every group."""
        return p.view(1, self.K, 1, 1, 1) if self.subset_wise else p[0]

    def topology(self, x: torch.Tensor) -> torch.Tensor:
        """Affinity (N or 1, K, R or 1, V, V), indexed [.., v, w] (from joint v to joint w)."""
        N, _, _, V = x.shape
        topo = self.A[None, :, None]  # (1, K, 1, V, V)
        if self.query_key is None:
            return topo
        qk = self.query_key(x.mean(2)).view(N, 2, self.K, self.R, V)
        q, k = qk[:, 0], qk[:, 1]  # (N, K, R, V) each
        if self.ada:
            aff = torch.softmax(torch.matmul(q.transpose(-1, -2), k), dim=-2)  # (N, K, V, V)
            topo = topo + self._scale(self.beta) * aff.unsqueeze(2)
        if self.ctr:
            diff = torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))  # (N, K, R, V, V)
            topo = topo + self._scale(self.alpha) * diff
        return topo

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, _, T, V = x.shape
        topo = self.topology(x)
        G = topo.shape[2]  # R when the topology is channel-wise, else 1
        value = self.pre(x).view(N, self.K, G, (self.R // G) * T, V)
        y = torch.matmul(value, topo)  # (N, K, G, R / G * T, V)
        y = self.post(y.view(N, self.K * self.R, T, V))
        res = x if self.down is None else self.down(x)
        return torch.relu(self.bn(y) + res)


class DynamicMultiBranchTCN(MultiBranchTCN):
    """PYSKL ``dgmstcn``: the multi-branch TCN with a learnt joint-to-skeleton fusion.

    The branches see V + 1 joints, the last the mean over joints; before the closing
    BN -> ReLU -> 1x1 -> BN, the mean joint's features times ``add_coeff[v]`` are added to each
    joint v. Input (N, C, T, V) -> (N, C_out, T / stride, V).
    """

    def __init__(self, cin: int, cout: int, num_joints: int, stride: int = 1,
                 dilations: tuple[int, ...] = (1, 2, 3, 4)) -> None:  # fmt: skip
        super().__init__(cin, cout, stride, dilations)
        self.add_coeff = nn.Parameter(torch.zeros(num_joints))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        V = x.shape[-1]
        x = torch.cat([x, x.mean(-1, keepdim=True)], dim=-1)  # (N, C, T, V + 1)
        parts = self.entry(x).split(self.widths, dim=1)
        outs = [conv(p) for conv, p in zip(self.dilated, parts, strict=False)]
        outs += [self.pool(parts[-1]), self.skip(x)]
        y = torch.cat(outs, dim=1)  # (N, C_out, T', V + 1)
        y = y[..., :V] + y[..., V:] * self.add_coeff  # (N, C_out, T', V)
        return self.bn(self.transform(y))


class DGSTGCN(nn.Module):
    """DG-STGCN classifier: (N, C, T, V, M) -> logits (N, num_classes)."""

    def __init__(self, cfg: DGSTGCNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        V, M = layout.num_joints, layout.max_persons
        A = random_affinity(cfg.num_groups, V, cfg.graph_init_std, cfg.graph_init_offset)
        self.input_norm = InputNorm(cfg.in_channels, V, M, per_person=False)
        blocks, cin = [], cfg.in_channels
        for i, (cout, stride) in enumerate(stage_plan(cfg.width, cfg.stage_blocks)):
            gcn = DynamicGroupGCN(cin, cout, A, cfg)  # every block starts from the same draw
            tcn = DynamicMultiBranchTCN(cout, cout, V, stride, cfg.tcn_dilations)
            blocks.append(STGCNBlock(gcn, tcn, cin, cout, stride, residual=i > 0))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = ClassifierHead(cin, cfg.num_classes, M, cfg.dropout, init_std=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.input_norm(x)))
