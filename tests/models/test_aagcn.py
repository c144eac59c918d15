"""AAGCN: shapes, the official parameter count, learning, exports, and the fused graph
convolution and attention against direct per-subset / step-by-step computations.

Official count (NTU60, backbone + GCNHead), counted on PYSKL ``pyskl/models/gcns/aagcn.py`` with
``configs/aagcn/aagcn_pyskl_ntu60_xsub_3dkp/j.py``: 3,781,668.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from skelpipe.models.aagcn import AAGCN, AAGCNConfig, AdaptiveGraphConv, STCAttention
from skelpipe.models.graph import spatial_partition
from skelpipe.models.info import count_params
from skelpipe.skeleton import get_layout
from tests.helpers import skeleton_batch as _input

OFFICIAL_PARAMS = 3_781_668
CPU = {"width": 24, "stage_blocks": (2, 2, 2), "preset": "cpu"}

pytestmark = pytest.mark.usefixtures("single_thread")


def _cfg(**kw) -> AAGCNConfig:
    return AAGCNConfig(**{**CPU, **kw})


def _wake(model: torch.nn.Module) -> torch.nn.Module:
    """Non-zero alpha and attention weights (zero at init), so every branch shapes the output."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, AdaptiveGraphConv):
                m.alpha.fill_(0.5)
                m.project_bias.normal_(0, 0.1, generator=g)
                m.bn.weight.fill_(1.0)
            if isinstance(m, STCAttention):
                for p in (m.time.weight, m.time.bias, m.excite.weight, m.excite.bias):
                    p.normal_(0, 0.2, generator=g)
    return model


def _calibrate(model: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    """BatchNorm statistics of the batch ``x`` (as a trained model has), then eval mode."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: exactly the batch statistics
    with torch.no_grad():
        model.train()(x)
    return model.eval()


@pytest.mark.parametrize(
    ("layout", "channels", "classes"), [("ntu25", 3, 60), ("ucla20", 3, 10), ("coco17", 2, 60)]
)
def test_logits_shape_and_gradients(layout: str, channels: int, classes: int) -> None:
    torch.manual_seed(0)
    model = AAGCN(_cfg(layout=layout, in_channels=channels, num_classes=classes))
    x = _input(layout, n=3, channels=channels)
    logits = model(x)
    assert logits.shape == (3, classes) and torch.isfinite(logits).all()
    logits.logsumexp(1).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        assert model(_input(layout, n=1, frames=24, channels=channels)).shape == (1, classes)


def test_param_count_matches_official() -> None:
    model = AAGCN(AAGCNConfig())
    assert model.cfg.preset == "paper" and model.cfg.num_classes == 60
    n = count_params(model)
    assert abs(n / OFFICIAL_PARAMS - 1) < 0.005, n
    assert n == OFFICIAL_PARAMS  # the same layers, not just a similar size


def test_fixed_graph_variant_drops_exactly_the_adaptive_parameters() -> None:
    cfg = AAGCNConfig()
    fixed = AAGCN(dataclasses.replace(cfg, adaptive=False))
    K, V = 3, 25
    adaptive = 0
    for block in fixed.blocks:  # per layer: learnt graph, alpha, the 2K embedding convs
        cin, cout = block.gcn.project.in_channels // K, block.gcn.project.out_channels
        adaptive += K * V * V + 1 + 2 * K * (cin * (cout // 4) + cout // 4)
    assert count_params(fixed) == OFFICIAL_PARAMS - adaptive
    assert all(not b.gcn.A.requires_grad for b in fixed.blocks)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch(exports_match, fmt: str) -> None:
    torch.manual_seed(0)
    x = 0.3 * _input("ntu25", n=2, frames=16)
    model = _calibrate(_wake(AAGCN(_cfg())), 0.3 * _input("ntu25", n=4, seed=2))
    with torch.no_grad():  # samples differ by far more than the tolerance
        assert (model(x[:1]) - model(x[1:])).abs().max() > 1e-2
    other = 0.3 * _input("ntu25", n=1, frames=24, seed=1)
    exports_match(model, fmt, x, other)


def test_runs_under_bfloat16_autocast() -> None:
    torch.manual_seed(0)
    model = _wake(AAGCN(_cfg(layout="ucla20", num_classes=10)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(_input("ucla20", n=4)), torch.arange(4))
    loss.backward()
    assert torch.isfinite(loss)


def _reference_gcn(gcn: AdaptiveGraphConv, x: torch.Tensor) -> torch.Tensor:
    """``unit_aagcn`` before attention, one subset at a time, with per-subset convolutions."""
    N, C, T, V = x.shape
    K, E = gcn.K, gcn.embed_c
    theta_w, phi_w = gcn.embed.weight.chunk(2)  # (K*E, C, 1, 1) each
    theta_b, phi_b = gcn.embed.bias.chunk(2)
    w_out = gcn.project.weight.view(-1, K, C)  # (C_out, K, C)
    y = 0
    for k in range(K):
        sl = slice(k * E, (k + 1) * E)
        a = F.conv2d(x, theta_w[sl], theta_b[sl]).permute(0, 3, 1, 2).reshape(N, V, E * T)
        b = F.conv2d(x, phi_w[sl], phi_b[sl]).reshape(N, E * T, V)
        graph = gcn.A[k] + gcn.alpha * torch.tanh(a @ b / (E * T))  # (N, V, V)
        agg = (x.reshape(N, C * T, V) @ graph).view(N, C, T, V)
        y = y + F.conv2d(agg, w_out[:, k, :, None, None], gcn.project_bias[k])
    res = x if gcn.down is None else gcn.down(x)
    return torch.relu(gcn.bn(y) + res)


def _reference_attention(att: STCAttention, y: torch.Tensor) -> torch.Tensor:
    """Spatial, temporal, channel attention applied one after another (``unit_aagcn``)."""
    y = y * torch.sigmoid(att.joint(y.mean(2))).unsqueeze(2) + y
    y = y * torch.sigmoid(att.time(y.mean(3))).unsqueeze(3) + y
    c = torch.sigmoid(att.excite(torch.relu(att.squeeze(y.mean((2, 3))))))
    return y * c[:, :, None, None] + y


@pytest.mark.parametrize(("cin", "layout"), [(3, "ntu25"), (16, "ucla20"), (16, "coco17")])
def test_fused_graph_conv_equals_per_subset_computation(cin: int, layout: str) -> None:
    torch.manual_seed(0)
    A = torch.tensor(spatial_partition(get_layout(layout)), dtype=torch.float32)
    gcn = _wake(AdaptiveGraphConv(cin, 16, A, _cfg(layout=layout))).eval()
    x = torch.randn(3, cin, 12, A.shape[-1])
    with torch.no_grad():
        y = _reference_gcn(gcn, x)
        torch.testing.assert_close(gcn(x), _reference_attention(gcn.attention, y))
        assert not torch.allclose(gcn.attention(y), 1.5 * y)  # the attention really varies


def test_attention_starts_as_a_constant_temporal_and_channel_gain() -> None:
    """Officially the temporal conv and the second channel fc start at zero: their gains are
    exactly 1 + sigmoid(0) = 1.5; the joint gain varies over joints (Xavier init)."""
    torch.manual_seed(0)
    att = STCAttention(16, 20)  # even V: kernel 19 keeps 20 outputs
    assert att.joint.kernel_size == (19,)
    y = torch.randn(2, 16, 10, 20)
    g_joint, g_time, g_chan = att.factors(y)
    assert g_joint.shape == (2, 1, 1, 20) and g_joint.std() > 0
    assert torch.equal(g_time, torch.full((2, 1, 10, 1), 1.5))
    assert torch.equal(g_chan, torch.full((2, 16, 1, 1), 1.5))


def test_graph_starts_as_the_spatial_partition_per_layer() -> None:
    model = AAGCN(_cfg())
    S = torch.tensor(spatial_partition(get_layout("ntu25")), dtype=torch.float32)
    gcns = [b.gcn for b in model.blocks]
    for gcn in gcns:
        assert torch.equal(gcn.A, S) and gcn.alpha.item() == 0.0  # data term off at start
    assert len({g.A.data_ptr() for g in gcns}) == len(gcns)  # each layer learns its own graph
    x = torch.randn(2, 3, 8, 25)
    assert torch.equal(gcns[0].graph(x), S.expand(2, 3, 25, 25))
