"""InfoGCN: self-attention graph convolution with an information-bottleneck objective.

Chi et al., "InfoGCN: Representation Learning for Human Skeleton-Based Action Recognition",
CVPR 2022. Official code: github.com/stnoah1/infogcn (``model/infogcn.py``, ``model/modules.py``
``SA_GC`` / ``EncodingBlock``, ``model/ms_tcn.py``, ``main.py`` and ``get_mmd_loss`` for the loss).

* Input: the k-th mode representation ``x_v - x_{k-th ancestor of v}`` (``I - A_out^k`` on the
  joints), a linear joint embedding to 64 channels plus a learnt positional embedding, and
  BatchNorm1d over (M, V, 64).
* Nine encoding blocks 64-64-64-128-128-128-256-256-256: SA-GC (per-frame multi-head attention
  between joints, LayerNorm -> Linear q/k with d = C_in / 8, times a learnt per-head topology
  initialised to the identity; one 1x1 conv per head; BN, residual, ReLU) and the multi-scale TCN
  (kernel 5, dilations 1, 2, ReLU on its output), block residual.
* Information bottleneck: pooled features -> ReLU(fc) -> (mu, logvar); during training
  ``z = mu + eps * exp(noise_ratio * logvar)`` (std clamped at 100), at test ``z = mu``;
  logits = decoder(z). The auxiliary loss pulls the mean z of each class present in the batch to
  a fixed class prior (orthogonal rows scaled by ``z_prior_gain``; MSE, "MMD" upstream) and
  penalises the norm of the batch-mean z.

Efficiency: SA-GC applies each head's 1x1 conv before the attention (the same linear map,
reordered; the per-head biases are added after) so all heads aggregate in one batched matmul
contracting (joint, head), and activations stay in channels-last memory for the per-frame
attention. 1.56 M parameters on NTU60, as the official model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from skelpipe.models.blocks import MultiScaleTCN, TemporalConv, bn_init, conv_init
from skelpipe.models.config import ModelConfig, stage_plan
from skelpipe.models.graph import relative_mode
from skelpipe.skeleton import get_layout

CL = torch.channels_last


@dataclass(frozen=True)
class InfoGCNConfig(ModelConfig):
    """InfoGCN settings (defaults: the official NTU command line of the README).

    Attributes:
        mode_k: k of the k-th mode representation (1: bone-like vectors; > tree depth: joints).
        num_heads: attention heads of SA-GC.
        tcn_kernel: temporal kernel of the multi-scale TCN.
        tcn_dilations: dilations of its dilated branches.
        noise_ratio: scale of logvar in the sampling std (official `--noise_ratio`, default 0.5).
        z_prior_gain: gain of the orthogonal class prior (``--z_prior_gain``).
        mmd_weight: weight of the class-mean-to-prior loss (``--lambda_2``).
        l2_weight: weight of the batch-mean-z norm (``--lambda_1``).
    """

    stage_blocks: tuple[int, ...] = (3, 3, 3)
    mode_k: int = 1
    num_heads: int = 3
    tcn_kernel: int = 5
    tcn_dilations: tuple[int, ...] = (1, 2)
    noise_ratio: float = 0.5
    z_prior_gain: float = 3.0
    mmd_weight: float = 0.1
    l2_weight: float = 1e-4


class SAGraphConv(nn.Module):
    """Self-attention graph convolution (official ``SA_GC``) with BN, residual and ReLU.

    ``out[u] = sum_h sum_v (softmax(q_h k_h^T / sqrt(d))[u, v] * topology_h[u, v]) W_h x[v]
    + sum_h b_h``, attention computed per frame from LayerNorm(x).
    """

    def __init__(self, cin: int, cout: int, num_heads: int, num_joints: int):
        super().__init__()
        H, d = num_heads, cin // 8
        self.H, self.d, self.cout = H, d, cout
        self.topology = nn.Parameter(torch.eye(num_joints).repeat(H, 1, 1))  # (H, V, V)
        self.ln = nn.LayerNorm(cin)
        self.to_qk = nn.Linear(cin, 2 * H * d)
        nn.init.normal_(self.to_qk.weight, 0.0, 1.0)
        self.project = nn.Linear(cin, H * cout, bias=False)  # the per-head 1x1 convs
        nn.init.normal_(self.project.weight, 0.0, math.sqrt(2.0 / (cout * cin * H)))
        self.bias = nn.Parameter(torch.zeros(H, cout))
        self.bn = nn.BatchNorm2d(cout)
        bn_init(self.bn, 1e-6)
        self.down = None
        if cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
            conv_init(self.down[0])

    def attention(self, xl: torch.Tensor) -> torch.Tensor:
        """Per-frame attention (N*T, H, U, V) from channels-last x (N, T, V, C)."""
        N, T, V, _ = xl.shape
        qk = self.to_qk(self.ln(xl)).view(N * T, V, 2, self.H, self.d)
        q, k = qk.permute(2, 0, 3, 1, 4).unbind(0)  # (N*T, H, V, d) each
        dots = torch.matmul(q, k.transpose(-1, -2)) * self.d**-0.5
        return torch.softmax(dots, dim=-1, dtype=torch.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=CL)
        N, _, T, V = x.shape
        xl = x.permute(0, 2, 3, 1)  # (N, T, V, C), a view of the channels-last memory
        graph = self.attention(xl) * self.topology  # (N*T, H, U, V)
        graph = graph.permute(0, 2, 3, 1).reshape(N * T, V, V * self.H).to(x.dtype)  # [u, (v, h)]
        values = self.project(xl).view(N * T, V * self.H, self.cout)  # [(v, h), c]
        y = torch.bmm(graph, values) + self.bias.sum(0)  # (N*T, U, C_out)
        y = y.view(N, T, V, self.cout).permute(0, 3, 1, 2)  # (N, C_out, T, V), channels-last
        res = x if self.down is None else self.down(x)
        return torch.relu(self.bn(y) + res)


class EncodingBlock(nn.Module):
    """SA-GC -> multi-scale TCN with a block residual (official ``EncodingBlock``)."""

    def __init__(self, cin: int, cout: int, stride: int, num_joints: int, cfg: InfoGCNConfig):
        super().__init__()
        self.gcn = SAGraphConv(cin, cout, cfg.num_heads, num_joints)
        self.tcn = MultiScaleTCN(cout, cout, cfg.tcn_kernel, stride, cfg.tcn_dilations,
                                 final_relu=True, ctr_init=False)  # fmt: skip
        self.down = None
        if cin != cout or stride != 1:
            self.down = TemporalConv(cin, cout, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x if self.down is None else self.down(x)
        return torch.relu(self.tcn(self.gcn(x)) + res)


class JointEmbedding(nn.Module):
    """k-th mode representation, linear embedding, positional embedding, input BatchNorm.

    Input (N, C, T, V, M); output (N * M, width, T, V) in channels-last memory.
    """

    def __init__(self, cfg: InfoGCNConfig, num_joints: int, num_persons: int, mode: torch.Tensor):
        super().__init__()
        self.register_buffer("mode", mode)  # (V, V) = I - A_out^k
        self.embed = nn.Linear(cfg.in_channels, cfg.width)
        self.pos = nn.Parameter(torch.randn(num_joints, cfg.width))
        self.bn = nn.BatchNorm1d(num_persons * num_joints * cfg.width)
        bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, _, T, V, M = x.shape
        x = torch.matmul(self.mode.to(x.dtype), x.permute(0, 2, 4, 3, 1))  # (N, T, M, V, C)
        x = self.embed(x) + self.pos  # (N, T, M, V, W)
        # BatchNorm1d(M*V*W) over (N, features, T) == over (N*T, features)
        x = self.bn(x.reshape(N * T, -1)).view(N, T, M, V, -1)
        x = x.transpose(1, 2).reshape(N * M, T, V, -1)  # (N*M, T, V, W), one copy
        return x.permute(0, 3, 1, 2)  # (N*M, W, T, V) in channels-last memory


class InfoGCN(nn.Module):
    """InfoGCN classifier: (N, C, T, V, M) -> logits (N, num_classes).

    Training adds :meth:`aux_loss` on the latent returned by :meth:`forward_with_latent`::

        logits, z = model.forward_with_latent(x)
        loss = cross_entropy(logits, y) + model.aux_loss(z, y)
    """

    def __init__(self, cfg: InfoGCNConfig):
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        self.num_persons = layout.max_persons
        mode = torch.tensor(relative_mode(layout, cfg.mode_k), dtype=torch.float32)
        self.embedding = JointEmbedding(cfg, layout.num_joints, layout.max_persons, mode)
        blocks, cin = [], cfg.width
        for cout, stride in stage_plan(cfg.width, cfg.stage_blocks):
            blocks.append(EncodingBlock(cin, cout, stride, layout.num_joints, cfg))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, cin)
        self.fc_mu = nn.Linear(cin, cin)
        self.fc_logvar = nn.Linear(cin, cin)
        for fc in (self.fc, self.fc_mu, self.fc_logvar):
            nn.init.xavier_uniform_(fc.weight, gain=nn.init.calculate_gain("relu"))
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.decoder = nn.Linear(cin, cfg.num_classes)
        nn.init.normal_(self.decoder.weight, 0.0, math.sqrt(2.0 / cfg.num_classes))
        prior = torch.empty(cfg.num_classes, cin)
        nn.init.orthogonal_(prior, gain=cfg.z_prior_gain)
        self.register_buffer("z_prior", prior)  # fixed, not learnt (as upstream)

    def forward_with_latent(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (N, num_classes) and the latent z (N, 4 * width)."""
        h = self.blocks(self.embedding(x))  # (N*M, C, T', V)
        NM, C = h.shape[:2]
        h = h.mean(dim=(2, 3)).view(NM // self.num_persons, self.num_persons, C).mean(1)
        h = self.drop(F.relu(self.fc(h)))
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        z = mu
        if self.training:
            std = torch.clamp(torch.exp(logvar * self.cfg.noise_ratio), max=100.0)
            z = mu + torch.randn_like(std) * std
        return self.decoder(z), z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_latent(x)[0]

    def aux_losses(self, z: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Unweighted auxiliary terms (official ``get_mmd_loss``).

        ``mmd``: mean squared error between the mean z of each class present in the batch and
        that class's prior row; ``l2_z_mean``: L2 norm of the batch-mean z.
        """
        z = z.float()  # loss terms in float32, also under autocast
        onehot = F.one_hot(labels, self.cfg.num_classes).float()  # (N, classes)
        counts = onehot.sum(0)
        present = counts > 0
        means = (onehot.t() @ z) / counts.clamp(min=1).unsqueeze(1)  # (classes, D)
        sq = (means - self.z_prior).pow(2) * present.unsqueeze(1)
        mmd = sq.sum() / (present.sum() * z.shape[1])
        return {"mmd": mmd, "l2_z_mean": torch.linalg.vector_norm(z.mean(0))}

    def aux_loss(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``mmd_weight * mmd + l2_weight * l2_z_mean`` (lambda_2 and lambda_1 upstream)."""
        terms = self.aux_losses(z, labels)
        return self.cfg.mmd_weight * terms["mmd"] + self.cfg.l2_weight * terms["l2_z_mean"]
