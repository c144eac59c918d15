"""PoseConv3D: parameter count vs PYSKL, shapes on every kind of layout, the heatmap front end,
zero-initialised residuals, learning, bfloat16 and exports.

Official count, on PYSKL's ``ResNet3dSlowOnly`` + ``I3DHead`` with the NTU60 joint config
(17 channels, 60 classes): 2,024,860.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from skelpipe.models.info import count_params
from skelpipe.models.posec3d import Bottleneck3d, PoseC3D, PoseC3DConfig
from skelpipe.skeleton import get_layout

pytestmark = pytest.mark.usefixtures("single_thread")
OFFICIAL_PARAMS = 2_024_860
TINY = {"width": 8, "stage_blocks": (1, 1, 1), "heatmap_size": 32}


def _model(layout: str = "ntu25", channels: int = 3, **kw) -> PoseC3D:
    torch.manual_seed(0)
    return PoseC3D(PoseC3DConfig(layout=layout, in_channels=channels, **{**TINY, **kw}))


def _keypoints(layout: str, n: int = 2, frames: int = 8, channels: int = 3, seed: int = 0):
    lo = get_layout(layout)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, channels, frames, lo.num_joints, lo.max_persons, generator=g)
    if channels == 3 and layout == "coco17":
        x[:, 2] = torch.rand(x[:, 2].shape, generator=g)  # scores in [0, 1]
    return x


def test_param_count_matches_official() -> None:
    n = count_params(PoseC3D(PoseC3DConfig(num_classes=60, layout="coco17", heatmap="joint")))
    assert abs(n / OFFICIAL_PARAMS - 1) < 0.005, n


@pytest.mark.parametrize(
    ("layout", "channels", "classes"),
    [("ntu25", 3, 60), ("ucla20", 3, 10), ("coco17", 2, 60), ("coco17", 3, 60)],
)
def test_logits_shape(layout: str, channels: int, classes: int) -> None:
    model = _model(layout, channels, num_classes=classes)
    x = _keypoints(layout, channels=channels)
    logits = model(x)
    assert logits.shape == (2, classes) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    model.eval()
    with torch.no_grad():
        assert model(_keypoints(layout, n=1, frames=11, channels=channels)).shape == (1, classes)


def test_heatmap_channels_and_scores_follow_the_layout() -> None:
    for layout, mode, maps in [("ntu25", "joint", 25), ("coco17", "joint", 17),
                               ("coco17", "limb", 16), ("ucla20", "limb", 19)]:  # fmt: skip
        model = _model(layout, heatmap=mode)
        assert model.stem[0].in_channels == maps
        heat = model.render(_keypoints(layout, frames=5))
        assert heat.shape == (2, maps, 5, 32, 32)
    assert PoseC3DConfig(layout="coco17").heatmap_config().score_channel  # x, y, score
    assert not PoseC3DConfig(layout="coco17", in_channels=2).heatmap_config().score_channel
    assert not PoseC3DConfig(layout="ntu25").heatmap_config().score_channel  # x, y of xyz
    # ntu25: z is ignored; coco17 with scores: the score is the peak
    x = _keypoints("ntu25")
    z_changed = x.clone()
    z_changed[:, 2] += 1.0
    model = _model("ntu25")
    assert torch.equal(model.render(x), model.render(z_changed))
    coco = _model("coco17")
    x = _keypoints("coco17")
    x[:, 2] = 0.1 + 0.9 * x[:, 2]  # halved scores stay above the 1e-3 drawing threshold
    halved = x.clone()
    halved[:, 2] *= 0.5
    torch.testing.assert_close(coco.render(halved), 0.5 * coco.render(x))


def test_official_structure_and_zero_initialised_residuals() -> None:
    model = PoseC3D(PoseC3DConfig())
    stem = model.stem[0]
    assert (stem.in_channels, stem.out_channels, stem.kernel_size) == (17, 32, (1, 7, 7))
    assert [len(s) for s in model.stages] == [4, 6, 3] and model.fc.in_features == 512
    kernels = [s[0].conv1[0].kernel_size for s in model.stages]
    assert kernels == [(1, 1, 1), (3, 1, 1), (3, 1, 1)]  # inflation (0, 1, 1)
    strides = [s[0].conv2[0].stride for s in model.stages]
    assert strides == [(1, 2, 2), (1, 2, 2), (2, 2, 2)]
    feats = model.pool(torch.relu(model.stem(torch.rand(1, 17, 8, 56, 56))))
    for stage in model.stages:
        feats = stage(feats)
    assert feats.shape == (1, 512, 4, 7, 7)
    # every block without a shortcut conv is the identity on ReLU outputs at initialisation
    block = model.stages[1][2]
    assert isinstance(block, Bottleneck3d) and block.downsample is None
    h = torch.rand(2, 256, 4, 7, 7)
    torch.testing.assert_close(block.eval()(h), h)


def test_runs_under_bfloat16_autocast() -> None:
    model = _model("ucla20", num_classes=10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(_keypoints("ucla20")), torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("heatmap", ["joint", "limb"])
def test_export_matches_pytorch(exports_match, fmt: str, heatmap: str) -> None:
    net = _model("coco17", heatmap=heatmap).eval()
    for m in net.modules():  # non-trivial residual branches (zero-initialised by default)
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
    x = _keypoints("coco17", frames=16)
    exports_match(net, fmt, x, _keypoints("coco17", n=1, frames=24, seed=1))


def test_config_is_the_official_one() -> None:
    cfg = PoseC3DConfig()
    assert (cfg.width, cfg.stage_blocks, cfg.inflate) == (32, (4, 6, 3), (0, 1, 1))
    assert (cfg.spatial_strides, cfg.temporal_strides) == ((2, 2, 2), (1, 1, 2))
    assert (cfg.heatmap, cfg.heatmap_size, cfg.sigma, cfg.dropout) == ("joint", 56, 0.6, 0.5)
    with pytest.raises(ValueError, match="mode"):
        PoseC3D(dataclasses.replace(cfg, heatmap="bones", **TINY))
