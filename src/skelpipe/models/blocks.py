"""Layers shared by several architectures: input normalisation, temporal convs, the head.

Branches that the official code runs as separate convolutions on the same input are fused into
one convolution here (same parameters, same function): fewer, larger kernels run faster on CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def conv_init(conv: nn.Conv2d | nn.Conv1d, branches: int = 1) -> None:
    """Kaiming-normal (fan_out) weights, zero bias, as CTR-GCN / PYSKL ``conv_init``.

    ``branches`` > 1 marks a convolution that fuses that many official convolutions along its
    output channels; the fan-out (hence the std) is that of one of them.
    """
    w = conv.weight
    fan_out = w.shape[0] // branches * w[0, 0].numel()
    nn.init.normal_(w, 0.0, math.sqrt(2.0 / fan_out))
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def bn_init(bn: nn.BatchNorm2d | nn.BatchNorm1d, scale: float) -> None:
    nn.init.constant_(bn.weight, scale)
    nn.init.zeros_(bn.bias)


class InputNorm(nn.Module):
    """The ``data_bn`` of ST-GCN-style models: BatchNorm1d over (M, V, C) or (V, C) features.

    Input (N, C, T, V, M); output (N * M, C, T, V), contiguous.
    ``per_person=True`` keeps separate statistics per person slot (BatchNorm1d(M * V * C), as
    ST-GCN, CTR-GCN, InfoGCN), ``False`` shares them over persons (PYSKL's ``VC``).
    """

    def __init__(self, channels: int, num_joints: int, num_persons: int, per_person: bool = True):
        super().__init__()
        self.per_person = per_person
        groups = num_persons if per_person else 1
        self.bn = nn.BatchNorm1d(groups * num_joints * channels)
        bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, T, V, M = x.shape
        x = x.permute(0, 4, 3, 1, 2)  # (N, M, V, C, T)
        if self.per_person:
            x = self.bn(x.reshape(N, M * V * C, T))
        else:
            x = self.bn(x.reshape(N * M, V * C, T))
        return x.view(N * M, V, C, T).permute(0, 2, 3, 1).contiguous()  # (N*M, C, T, V)


class TemporalConv(nn.Module):
    """(k x 1) convolution over time + BatchNorm (``unit_tcn`` / ``TemporalConv`` upstream).

    ``kaiming`` selects CTR-GCN's ``conv_init``; PYSKL keeps PyTorch's default initialisation.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, kaiming: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, (kernel, 1), padding=((kernel - 1) // 2, 0),
                              stride=(stride, 1))  # fmt: skip
        self.bn = nn.BatchNorm2d(cout)
        if kaiming:
            conv_init(self.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class MultiScaleTCN(nn.Module):
    """CTR-GCN's multi-scale temporal convolution (also InfoGCN's ``MS_TCN``).

    Branches, each on ``cout / (len(dilations) + 2)`` channels: 1x1 -> BN -> ReLU -> dilated
    (k x 1) conv -> BN, one per dilation; 1x1 -> BN -> ReLU -> max-pool(3) -> BN; and a strided
    1x1 -> BN. The entry 1x1 convs of the first branches read the same input and are run as one
    convolution with one BatchNorm (per-channel, hence identical to separate ones); likewise the
    BatchNorms that close the dilated and pooling branches.

    Args:
        final_relu: ReLU on the concatenated output (InfoGCN's version; CTR-GCN has none).
        ctr_init: CTR-GCN's ``weights_init`` (kaiming fan_out, BN weight ~ N(1, 0.02));
            InfoGCN keeps PyTorch's defaults.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 5, stride: int = 1, dilations=(1, 2),
                 final_relu: bool = False, ctr_init: bool = True) -> None:  # fmt: skip
        super().__init__()
        n_branches = len(dilations) + 2
        if cout % n_branches:
            raise ValueError(f"MultiScaleTCN: {cout} channels not divisible by {n_branches}")
        bc = cout // n_branches
        self.bc, self.n_dil, self.final_relu = bc, len(dilations), final_relu
        self.entry = nn.Conv2d(cin, bc * (n_branches - 1), 1)
        self.entry_bn = nn.BatchNorm2d(bc * (n_branches - 1))
        self.dilated = nn.ModuleList(
            nn.Conv2d(bc, bc, (kernel, 1), (stride, 1), ((kernel - 1) * d // 2, 0), (d, 1))
            for d in dilations
        )
        self.pool = nn.MaxPool2d((3, 1), (stride, 1), (1, 0))
        self.exit_bn = nn.BatchNorm2d(bc * (n_branches - 1))
        self.skip = nn.Conv2d(cin, bc, 1, stride=(stride, 1))
        self.skip_bn = nn.BatchNorm2d(bc)
        if ctr_init:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    conv_init(m, branches=n_branches - 1 if m is self.entry else 1)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.normal_(m.weight, 1.0, 0.02)
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.entry_bn(self.entry(x)))  # (N, bc * (nb - 1), T, V)
        parts = h.split(self.bc, dim=1)
        outs = [conv(p) for conv, p in zip(self.dilated, parts, strict=False)]
        outs.append(self.pool(parts[self.n_dil]))
        y = self.exit_bn(torch.cat(outs, dim=1))
        y = torch.cat([y, self.skip_bn(self.skip(x))], dim=1)  # (N, cout, T / stride, V)
        return torch.relu(y) if self.final_relu else y


class ClassifierHead(nn.Module):
    """Global average over (T, V) and persons, dropout, linear classifier.

    Input (N * M, C, T, V) with ``num_persons`` = M; output logits (N, num_classes).
    """

    def __init__(
        self,
        channels: int,
        num_classes: int,
        num_persons: int,
        dropout: float = 0.0,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        self.num_persons = num_persons
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(channels, num_classes)
        # CTR-GCN / InfoGCN use std sqrt(2 / classes); PYSKL's GCNHead 0.01
        std = math.sqrt(2.0 / num_classes) if init_std is None else init_std
        nn.init.normal_(self.fc.weight, 0.0, std)
        nn.init.zeros_(self.fc.bias)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """(N * M, C, T, V) -> (N, C): mean over frames, joints and persons."""
        NM, C = x.shape[:2]
        return x.mean(dim=(2, 3)).view(NM // self.num_persons, self.num_persons, C).mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.pool(x)))
