"""PoseConv3D: a 3-D CNN (SlowOnly-R50) on pseudo-heatmaps of the keypoints.

Duan et al., "Revisiting Skeleton-based Action Recognition", CVPR 2022. Official code:
github.com/kennymckormick/pyskl, ``pyskl/models/cnns/resnet3d_slowonly.py`` and
``pyskl/models/cnns/resnet3d.py`` (``ResNet3d``, ``Bottleneck3d``), head ``I3DHead``
(``pyskl/models/heads/simple_head.py``), config ``configs/posec3d/slowonly_r50_ntu60_xsub/
joint.py``: 17 COCO joint heatmaps, base channels 32, three stages of (4, 6, 3) bottlenecks, no
stem strides, inflation (0, 1, 1), spatial strides (2, 2, 2), temporal strides (1, 1, 2);
2,024,860 parameters (NTU60, 17 channels). The heatmaps (:mod:`skelpipe.models.heatmaps`,
upstream a data-pipeline step) are rendered here as the model's fixed front end, so the model
takes keypoints (N, C, T, V, M) like every other one.

Same: the stem (1 x 7 x 7) conv -> BN -> ReLU -> (1 x 3 x 3) max-pool; bottlenecks 1x1 (or
(3 x 1 x 1) in inflated stages) -> (1 x 3 x 3) with the block's stride -> 1x1 (x4 channels),
BN after each, ReLU after the first two and after the residual sum; a strided 1x1 conv + BN on the
shortcut of each stage's first block; mean over (T, H, W), dropout 0.5, linear. Initialisation:
Kaiming-normal (fan-out) convs, BN weights 1 except the last BN of each block (0), the classifier
N(0, 0.01). Loading PYSKL's weights gives the same logits (checked: max abs diff 0).

Deviations: none in the network. The heatmap channels follow the layout (17 on coco17, 25 on
ntu25); limb maps use the layout's edges (16 on coco17, a tree; PYSKL's COCO limb list adds the
hip line, 17). The renderer is PYSKL's deterministic test-time chain at the training resolution
(56; its test pipeline renders 64): no random crop, flip or flip-averaging (``double=True``), which
belong to the data pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from skelpipe.models.config import ModelConfig
from skelpipe.models.heatmaps import HeatmapConfig, HeatmapRenderer
from skelpipe.skeleton import IMAGE_LAYOUTS, get_layout


@dataclass(frozen=True)
class PoseC3DConfig(ModelConfig):
    """PoseConv3D settings (defaults: PYSKL's NTU60 joint config; HRNet COCO keypoints x, y,
    score). ``width`` is ``base_channels``; stage i has ``width * 2**i`` planes, 4x as outputs.

    Attributes:
        heatmap: ``"joint"`` (one map per joint) or ``"limb"`` (one per skeleton edge).
        heatmap_size: side of the square maps (56 upstream in training, 64 in its test pipeline).
        sigma: Gaussian standard deviation in pixels.
        padding: PoseCompact's padding ratio of the keypoint box.
        score_channel: input channel 2 is the keypoint score; None: when the layout is 2-D
            (``IMAGE_LAYOUTS``) and the input has 3 channels.
        inflate: per stage, 1 for (3 x 1 x 1) first convs in its blocks (temporal mixing).
        spatial_strides: per stage, the spatial stride of its first block.
        temporal_strides: per stage, the temporal stride of its first block.
        init_std: std of the classifier's initial weights.
    """

    in_channels: int = 3
    layout: str = "coco17"
    width: int = 32
    stage_blocks: tuple[int, ...] = (4, 6, 3)
    dropout: float = 0.5
    heatmap: str = "joint"
    heatmap_size: int = 56
    sigma: float = 0.6
    padding: float = 0.25
    score_channel: bool | None = None
    inflate: tuple[int, ...] = (0, 1, 1)
    spatial_strides: tuple[int, ...] = (2, 2, 2)
    temporal_strides: tuple[int, ...] = (1, 1, 2)
    init_std: float = 0.01

    def heatmap_config(self) -> HeatmapConfig:
        score = self.score_channel
        if score is None:
            score = self.in_channels >= 3 and self.layout in IMAGE_LAYOUTS
        size = (self.heatmap_size, self.heatmap_size)
        return HeatmapConfig(self.heatmap, size, self.sigma, self.padding, True, score)


def _conv_bn(cin: int, cout: int, kernel, stride=1, padding=0) -> nn.Sequential:
    """Conv3d (no bias) -> BatchNorm3d: upstream's ``ConvModule`` without activation."""
    conv = nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
    return nn.Sequential(conv, nn.BatchNorm3d(cout))


class Bottleneck3d(nn.Module):
    """ResNet bottleneck in 3-D: (N, cin, T, H, W) -> (N, 4 * planes, T / st, H / ss, W / ss).

    ``inflate`` makes the first conv (3 x 1 x 1) (upstream's ``inflate_style='3x1x1'``).
    """

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: tuple[int, int], inflate: bool) -> None:
        super().__init__()
        st, ss = stride
        cout = planes * self.expansion
        k1, p1 = ((3, 1, 1), (1, 0, 0)) if inflate else (1, 0)
        self.conv1 = _conv_bn(cin, planes, k1, padding=p1)
        self.conv2 = _conv_bn(planes, planes, (1, 3, 3), (st, ss, ss), (0, 1, 1))
        self.conv3 = _conv_bn(planes, cout, 1)
        self.downsample = None
        if ss != 1 or cin != cout:  # upstream's condition (the temporal stride is not checked)
            self.downsample = _conv_bn(cin, cout, 1, (st, ss, ss))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.conv1(x))
        out = torch.relu(self.conv2(out))
        out = self.conv3(out)
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class PoseC3D(nn.Module):
    """PoseConv3D classifier: keypoints (N, C, T, V, M) -> logits (N, num_classes)."""

    def __init__(self, cfg: PoseC3DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layout = get_layout(cfg.layout)
        edges = layout.edges()
        self.render = HeatmapRenderer(cfg.heatmap_config(), edges)
        maps = layout.num_joints if cfg.heatmap == "joint" else len(edges)
        n_stages = len(cfg.stage_blocks)
        per_stage = (cfg.inflate, cfg.spatial_strides, cfg.temporal_strides)
        if {len(p) for p in per_stage} != {n_stages}:
            raise ValueError("inflate, spatial_strides and temporal_strides need one entry a stage")
        self.stem = _conv_bn(maps, cfg.width, (1, 7, 7), padding=(0, 3, 3))
        self.pool = nn.MaxPool3d((1, 3, 3), stride=1, padding=(0, 1, 1))
        self.stages = nn.ModuleList(self._stage(i) for i in range(n_stages))
        channels = cfg.width * 2 ** (n_stages - 1) * Bottleneck3d.expansion
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.fc = nn.Linear(channels, cfg.num_classes)
        self._init_weights()

    def _stage(self, i: int) -> nn.Sequential:
        cfg = self.cfg
        planes = cfg.width * 2**i
        cin = cfg.width if i == 0 else planes * 2  # the previous stage's 4 * planes / 2
        stride = (cfg.temporal_strides[i], cfg.spatial_strides[i])
        inflate = cfg.inflate[i] == 1
        blocks = [Bottleneck3d(cin, planes, stride, inflate)]
        blocks += [
            Bottleneck3d(planes * Bottleneck3d.expansion, planes, (1, 1), inflate)
            for _ in range(cfg.stage_blocks[i] - 1)
        ]
        return nn.Sequential(*blocks)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():  # zero-initialised residual branches: each block starts as id
            if isinstance(m, Bottleneck3d):
                nn.init.zeros_(m.conv3[1].weight)
        nn.init.normal_(self.fc.weight, 0.0, self.cfg.init_std)
        nn.init.zeros_(self.fc.bias)

    def features(self, heatmaps: torch.Tensor) -> torch.Tensor:
        """Heatmaps (N, K, T, H, W) -> pooled features (N, 16 * width)."""
        h = self.pool(torch.relu(self.stem(heatmaps)))  # (N, width, T, H, W)
        for stage in self.stages:
            h = stage(h)
        return h.mean(dim=(2, 3, 4))  # (N, 16 * width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.features(self.render(x))))
