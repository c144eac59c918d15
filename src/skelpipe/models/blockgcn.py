"""BlockGCN: block-diagonal graph convolution with topological encodings.

Zhou et al., "BlockGCN: Redefine Topology Awareness for Skeleton-Based Action Recognition",
CVPR 2024. Official code: github.com/ZhouYuxuanYX/BlockGCN (``model/BlockGCN.py``; NTU configs
``config/nturgbd-cross-subject/*.yaml`` with ``--model model.BlockGCN.Model`` as in ``train.sh``).
The persistence layers it imports come from torch-topological (``VietorisRipsComplex(dim=0)``,
``make_tensor``, ``StructureElementLayer``).

Same architecture as the official model (1,372,780 parameters on NTU60, 1,373,020 here):

* a linear joint embedding to 128 channels plus a learnt positional embedding, then
  BatchNorm1d over (M, V, 128);
* ten blocks 128x4, 256x6 (stride 2 at blocks 5 and 8): BlockGC -> multi-scale TCN (kernel 5,
  dilations 1, 2), block residual;
* BlockGC, per subset k of 3 and head h of 8: a learnt (V, V) topology initialised to the
  identity, column-normalised, plus the static hop-distance encoding (a learnt scalar per
  (k, h, hop distance), indexed by the skeleton's hop-distance matrix and column-normalised),
  aggregates the head's channels; a grouped 1x1 conv (block-diagonal weight, one block per head)
  projects them; subsets are summed, then BN, residual, ReLU;
* the dynamic topological encoding, added to the input of every block: 0-dimensional persistence
  of each sample -> 64 learnt structure elements -> per block Linear -> BN -> ReLU.

What the topological encoding computes (read off the official ``Topo`` and torch-topological):
the joint positions averaged over frames and persons give a (V, V) Euclidean distance matrix D,
min-max normalised over the batch; the rows of D are V points in R^V whose Vietoris-Rips
0-dimensional persistence has births 0 and, as finite deaths, the V - 1 edge lengths of their
minimum spanning tree (the infinite class is dropped). So it is computed from each sample's data,
not from the layout or a file. Here it is an MST (Prim's algorithm, V - 1 unrolled steps of
min / gather, no Python control flow on values) in torch, exactly reproducing the ripser output
without a dependency; :func:`zero_dim_persistence` is the numpy form. ``topo_source="layout"``
instead feeds the layout's hop-distance matrix through the same chain once (numpy, a buffer); the
diagram is then the same for every sample and the branch reduces to a learnt per-channel bias.

Deviations (the first three only change batches of N > 1 samples or degenerate inputs):

* the official ``TopoTrans`` tiles the (N, 64) encoding with ``repeat(2, 1)`` against features
  ordered (sample, person), so row ``n * 2 + m`` gets sample ``(2n + m) mod N``'s encoding; here
  each sample's persons get its own (identical for N = 1, and BN sees the same rows);
* zero-length MST edges (coincident points) are dropped as ripser drops them; the official code
  then pads such diagrams to the batch's longest with NaN rows, each adding 1 to every element;
* a constant input (zero distances) gives zero diagrams here, NaN upstream (0 / 0);
* ``topo_norm="sample"`` (not official) normalises D per sample, so that a sample's logits do not
  depend on the rest of the batch; the default ``"batch"`` is the official global min-max;
* the topology is computed from the model input, which is the joints for the joint stream; the
  official code always feeds it the raw joints, also for bone / motion streams;
* the classifier bias starts at zero (PyTorch's uniform default upstream);
* the graph is the layout's (``skelpipe.skeleton``): for ntu25 the published bone pairs, where
  HandTip -> Thumb -> Hand, whereas the official ``graph/ntu_rgb_d.py`` joins both to the Hand;
  the hop distances of those joints differ and the diameter is 12, not 11, so every block has
  one more hop weight per (subset, head): 1,373,020 parameters, +240 (0.02 %).

Efficiency: the three subsets' grouped convs run as one grouped conv (applied before the
aggregation, which commutes with a per-head channel projection; the biases are added after) and
one batched matmul per head contracts (subset, joint). With the official graph's hop matrix
swapped in and the official weights loaded, eval logits equal the official model's within 5e-5
(float32, logits ~80; N = 1, and N = 4 with its tiling made per-sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from skelpipe.models.blocks import ClassifierHead, MultiScaleTCN, TemporalConv, bn_init, conv_init
from skelpipe.models.config import ModelConfig
from skelpipe.models.graph import hop_distance
from skelpipe.skeleton import Layout, get_layout

NUM_SUBSETS = 3  # the official per-subset weights (it builds them from the 3-subset spatial graph)


@dataclass(frozen=True)
class BlockGCNConfig(ModelConfig):
    """BlockGCN settings (defaults: the official NTU configuration).

    Attributes:
        width: channels of the joint embedding and the first stage.
        stage_widths: channel multiplier of each stage (official 128, 256, 256).
        num_heads: groups of BlockGC (1 when a block has <= 8 input channels, as upstream).
        tcn_kernel: temporal kernel of the multi-scale TCN branches.
        tcn_dilations: dilations of the dilated TCN branches.
        topo_elements: structure elements of the persistence layer.
        topo_source: ``"data"`` (official: per-sample persistence) or ``"layout"`` (static).
        topo_norm: min-max of the distance matrix over the ``"batch"`` (official) or ``"sample"``.
    """

    width: int = 128
    stage_widths: tuple[int, ...] = (1, 2, 2)
    num_heads: int = 8
    tcn_kernel: int = 5
    tcn_dilations: tuple[int, ...] = (1, 2)
    topo_elements: int = 64
    topo_source: str = "data"
    topo_norm: str = "batch"


def zero_dim_persistence(dist: np.ndarray) -> np.ndarray:
    """Finite deaths of the 0-dim Vietoris-Rips persistence of a finite metric (V, V), ascending.

    All births are 0 and the deaths are the V - 1 edge lengths of a minimum spanning tree of the
    complete graph weighted by ``dist`` (Prim's algorithm; the multiset does not depend on ties).
    """
    V = len(dist)
    in_tree = np.zeros(V, dtype=bool)
    in_tree[0] = True
    best = dist[0].astype(np.float64).copy()  # distance of each vertex to the tree
    deaths = []
    for _ in range(V - 1):
        j = int(np.argmin(np.where(in_tree, np.inf, best)))
        deaths.append(best[j])
        in_tree[j] = True
        best = np.minimum(best, dist[j])
    return np.sort(np.asarray(deaths))


def mst_edge_lengths(dist: torch.Tensor) -> torch.Tensor:
    """Batched Prim: (N, V, V) symmetric distances -> (N, V - 1) MST edge lengths (in the order
    added). Traceable: V - 1 unrolled steps of masked min and gather."""
    N, V, _ = dist.shape
    joints = torch.arange(V, device=dist.device)
    in_tree = joints.unsqueeze(0).expand(N, V) == 0  # (N, V), the tree starts at vertex 0
    best = dist[:, 0]  # (N, V)
    deaths = []
    for _ in range(V - 1):
        d, j = best.masked_fill(in_tree, float("inf")).min(dim=1)  # (N,)
        deaths.append(d)
        in_tree = in_tree | (joints.unsqueeze(0) == j.unsqueeze(1))
        row = dist.gather(1, j.view(N, 1, 1).expand(N, 1, V)).squeeze(1)  # (N, V)
        best = torch.minimum(best, row)
    return torch.stack(deaths, dim=1)


def row_distances(D: torch.Tensor) -> torch.Tensor:
    """(N, V, V) -> (N, V, V) Euclidean distances between the rows of D (as ``torch.cdist``)."""
    return (D.unsqueeze(2) - D.unsqueeze(1)).pow(2).sum(-1).sqrt()


def joint_distance_matrix(x: torch.Tensor, per_sample: bool) -> torch.Tensor:
    """(N, C, T, V, M) -> (N, V, V): distances between frame- and person-averaged joints,
    min-max normalised over the batch (official) or each sample."""
    p = x.mean(dim=(2, 4))  # (N, C, V)
    D = (p.unsqueeze(-1) - p.unsqueeze(-2)).pow(2).sum(1).sqrt()  # (N, V, V)
    dims = (1, 2) if per_sample else (0, 1, 2)
    lo, hi = D.amin(dim=dims, keepdim=True), D.amax(dim=dims, keepdim=True)
    return (D - lo) / (hi - lo).clamp_min(1e-12)


def layout_persistence(layout: Layout) -> np.ndarray:
    """(V - 1,) deaths of the ``topo_source="layout"`` variant: the hop-distance matrix through
    the same chain as the data (max-normalised, rows as points, 0-dim persistence)."""
    D = hop_distance(layout, layout.num_joints - 1)
    D = D / D.max()
    rows = np.sqrt(((D[:, None, :] - D[None, :, :]) ** 2).sum(-1))
    return zero_dim_persistence(rows)


class StructureElements(nn.Module):
    """torch-topological's ``StructureElementLayer`` on 0-dim diagrams {(0, d_i)}.

    ``out[n, e] = sum_i [d_i > 0] exp(-(s_e0^2 c_e0^2 + s_e1^2 (c_e1 - d_i)^2))`` with learnt
    centres c (uniform [0, 1) at start) and sharpness s (3 at start). (N, P) deaths -> (N, E).
    """

    def __init__(self, n_elements: int) -> None:
        super().__init__()
        self.centres = nn.Parameter(torch.rand(n_elements, 2))
        self.sharpness = nn.Parameter(torch.full((n_elements, 2), 3.0))

    def forward(self, deaths: torch.Tensor) -> torch.Tensor:
        s2 = self.sharpness.pow(2)  # (E, 2)
        birth_term = s2[:, 0] * self.centres[:, 0].pow(2)  # (E,), births are all 0
        death_term = s2[:, 1] * (self.centres[:, 1] - deaths.unsqueeze(-1)).pow(2)  # (N, P, E)
        present = (deaths > 0).to(deaths.dtype).unsqueeze(-1)  # ripser drops zero-length pairs
        return (torch.exp(-(birth_term + death_term)) * present).sum(1)


class TopologyEncoding(nn.Module):
    """(N, C, T, V, M) -> (N, topo_elements) persistence features (official ``Topo``)."""

    def __init__(self, cfg: BlockGCNConfig, layout: Layout) -> None:
        super().__init__()
        if cfg.topo_source not in ("data", "layout"):
            raise ValueError(f"topo_source must be 'data' or 'layout', not {cfg.topo_source!r}")
        if cfg.topo_norm not in ("batch", "sample"):
            raise ValueError(f"topo_norm must be 'batch' or 'sample', not {cfg.topo_norm!r}")
        self.from_data = cfg.topo_source == "data"
        self.per_sample = cfg.topo_norm == "sample"
        static = torch.tensor(layout_persistence(layout), dtype=torch.float32).unsqueeze(0)
        self.register_buffer("static_deaths", static, persistent=False)  # (1, V - 1)
        self.elements = StructureElements(cfg.topo_elements)

    def deaths(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) -> (N, V - 1) finite deaths; no gradient flows to the input."""
        if not self.from_data:
            return self.static_deaths.expand(x.shape[0], -1)
        D = joint_distance_matrix(x.detach(), self.per_sample)
        return mst_edge_lengths(row_distances(D))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.elements(self.deaths(x))


class TopoProjection(nn.Module):
    """Per-block Linear -> BN -> ReLU of the encoding (official ``TopoTrans``).

    (N, E) -> (N * M, C, 1, 1), each sample's row repeated for its M persons.
    """

    def __init__(self, n_elements: int, channels: int, num_persons: int) -> None:
        super().__init__()
        self.num_persons = num_persons
        self.fc = nn.Linear(n_elements, channels)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, topo: torch.Tensor) -> torch.Tensor:
        N, E = topo.shape
        rows = topo.unsqueeze(1).expand(N, self.num_persons, E).reshape(-1, E)  # (N*M, E)
        return torch.relu(self.bn(self.fc(rows)))[:, :, None, None]


class BlockGraphConv(nn.Module):
    """BlockGC + BN, residual and ReLU (official ``unit_gcn``). (N, Cin, T, V) -> (N, Cout, T, V).

    ``out[h, o, w] = sum_k sum_v (W_kh x_h)[o, v] A_kh[v, w] + sum_k b_k`` with
    ``A_kh = P_kh / |P_kh|_col + R_kh[hops] / |R_kh[hops]|_col`` (column 2-norms plus 1e-4):
    ``W_kh`` is head h's block of subset k's grouped 1x1 conv, ``P`` the learnt topologies,
    ``R`` the hop-distance encoding.
    """

    def __init__(self, cin: int, cout: int, hops: torch.Tensor, num_heads: int) -> None:
        super().__init__()
        H = num_heads if cin > 8 else 1
        if cin % H or cout % H:
            raise ValueError(f"BlockGC: {cin} -> {cout} channels not divisible by {H} heads")
        K, V = NUM_SUBSETS, hops.shape[0]
        self.H, self.cout = H, cout
        self.register_buffer("hops", hops.clone(), persistent=False)  # (V, V) long
        self.topology = nn.Parameter(torch.eye(V).repeat(K, H, 1, 1))  # (K, H, V, V)
        self.hop_weight = nn.Parameter(torch.zeros(K, H, int(hops.max()) + 1))
        # the K official grouped convs, outputs ordered (head, subset, channel); biases apart
        self.project = nn.Conv2d(cin, K * cout, 1, groups=H, bias=False)
        self.bias = nn.Parameter(torch.zeros(K, cout))
        self.bn = nn.BatchNorm2d(cout)
        self.down = None
        if cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
            conv_init(self.down[0])
            bn_init(self.down[1], 1.0)
        conv_init(self.project, branches=K)
        bn_init(self.bn, 1e-6)

    def graph(self) -> torch.Tensor:
        """(H, K * V, V) aggregation matrices, rows ordered (subset, joint)."""
        K, H, V, _ = self.topology.shape
        learnt = self.topology / (self.topology.norm(dim=-2, keepdim=True) + 1e-4)
        hop = self.hop_weight[:, :, self.hops]  # (K, H, V, V)
        A = learnt + hop / (hop.norm(dim=-2, keepdim=True) + 1e-4)
        return A.transpose(0, 1).reshape(H, K * V, V)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, _, T, V = x.shape
        H, K, C = self.H, NUM_SUBSETS, self.cout
        z = self.project(x).view(N, H, K, C // H * T, V)
        z = z.transpose(2, 3).reshape(N, H, C // H * T, K * V)  # (N, H, (c, t), (k, v))
        y = torch.matmul(z, self.graph()).view(N, C, T, V)
        y = self.bn(y + self.bias.sum(0).view(1, C, 1, 1))
        res = x if self.down is None else self.down(x)
        return torch.relu(y + res)


class BlockGCNBlock(nn.Module):
    """BlockGC -> multi-scale TCN, with a block residual (official ``TCN_GCN_unit``)."""

    def __init__(self, cin: int, cout: int, stride: int, hops: torch.Tensor,
                 cfg: BlockGCNConfig) -> None:  # fmt: skip
        super().__init__()
        self.gcn = BlockGraphConv(cin, cout, hops, cfg.num_heads)
        self.tcn = MultiScaleTCN(cout, cout, cfg.tcn_kernel, stride, cfg.tcn_dilations)
        self.down = None
        if cin != cout or stride != 1:
            self.down = TemporalConv(cin, cout, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x if self.down is None else self.down(x)
        return torch.relu(self.tcn(self.gcn(x)) + res)


class JointEmbedding(nn.Module):
    """Linear embedding + learnt positional embedding + BatchNorm1d over (M, V, D).

    (N, C, T, V, M) -> (N * M, D, T, V).
    """

    def __init__(self, cin: int, dim: int, num_joints: int, num_persons: int) -> None:
        super().__init__()
        self.linear = nn.Linear(cin, dim)
        self.pos = nn.Parameter(torch.randn(1, num_joints, dim))
        self.bn = nn.BatchNorm1d(num_persons * num_joints * dim)
        bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, _, T, V, M = x.shape
        D = self.pos.shape[-1]
        h = self.linear(x.permute(0, 4, 3, 2, 1)) + self.pos.view(1, 1, V, 1, D)  # (N, M, V, T, D)
        h = self.bn(h.transpose(3, 4).reshape(N, M * V * D, T))  # (N, (m, v, d), T)
        return h.view(N, M, V, D, T).permute(0, 1, 3, 4, 2).reshape(N * M, D, T, V)


def block_plan(cfg: BlockGCNConfig) -> list[tuple[int, int]]:
    """(out_channels, temporal stride) per block: ``width * stage_widths[s]``, stride 2 at the
    first block of every stage after the first (official: 128x4, 256x3, 256x3)."""
    if len(cfg.stage_widths) != len(cfg.stage_blocks):
        raise ValueError("stage_widths and stage_blocks must have the same length")
    plan = []
    for stage, (mult, n_blocks) in enumerate(zip(cfg.stage_widths, cfg.stage_blocks, strict=True)):
        plan += [(cfg.width * mult, 2 if stage > 0 and b == 0 else 1) for b in range(n_blocks)]
    return plan


class BlockGCN(nn.Module):
    """BlockGCN classifier: (N, C, T, V, M) -> logits (N, num_classes)."""

    def __init__(self, cfg: BlockGCNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        V, M = layout.num_joints, layout.max_persons
        hops = torch.tensor(hop_distance(layout, V - 1), dtype=torch.long)
        self.embed = JointEmbedding(cfg.in_channels, cfg.width, V, M)
        self.topology = TopologyEncoding(cfg, layout)
        blocks, projections, cin = [], [], cfg.width
        for cout, stride in block_plan(cfg):
            projections.append(TopoProjection(cfg.topo_elements, cin, M))
            blocks.append(BlockGCNBlock(cin, cout, stride, hops, cfg))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.topo_proj = nn.ModuleList(projections)
        self.head = ClassifierHead(cin, cfg.num_classes, M, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        topo = self.topology(x)  # (N, E)
        h = self.embed(x)  # (N*M, width, T, V)
        for block, proj in zip(self.blocks, self.topo_proj, strict=True):
            h = block(h + proj(topo))
        return self.head(h)
