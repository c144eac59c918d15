"""DG-STGCN: shapes on three layouts, the official parameter count, learning, exports, and the
dynamic group GCN / dynamic multi-branch TCN against direct formulas.

Official parameter count (NTU60, ``configs/dgstgcn/ntu60_xsub_3dkp/j.py``, backbone + head),
counted on PYSKL's ``pyskl/models/gcns/dgstgcn.py``: 1,701,172.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skelpipe.models.dgstgcn import (
    DGSTGCN,
    DGSTGCNConfig,
    DynamicGroupGCN,
    DynamicMultiBranchTCN,
)
from skelpipe.models.info import count_params
from skelpipe.models.stgcnpp import MultiBranchTCN
from skelpipe.skeleton import get_layout
from tests.helpers import skeleton_batch as _input

OFFICIAL_PARAMS = 1_701_172
TINY = {"width": 12, "stage_blocks": (1, 1, 1)}  # K * R = 12 with 4 groups of 3 channels
TINY_GCN = {**TINY, "num_groups": 4, "gcn_ratio": 0.25}
TOL = 1e-4

pytestmark = pytest.mark.usefixtures("single_thread")


def _model(**kw) -> DGSTGCN:
    torch.manual_seed(0)
    return DGSTGCN(DGSTGCNConfig(**{**TINY_GCN, **kw}))


def _wake(model: torch.nn.Module, seed: int = 1) -> None:
    """Non-zero dynamic-graph scales and joint-fusion coefficients (all zero at init)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("alpha", "beta", "add_coeff")):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize(
    ("layout", "channels", "classes"), [("ntu25", 3, 60), ("ucla20", 3, 10), ("coco17", 2, 60)]
)
def test_logits_shape(layout: str, channels: int, classes: int) -> None:
    model = _model(layout=layout, in_channels=channels, num_classes=classes)
    x = _input(layout, channels=channels)
    logits = model(x)
    assert logits.shape == (2, classes) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert model.blocks[0].tcn.add_coeff.numel() == get_layout(layout).num_joints
    with torch.no_grad():
        other = _input(layout, n=1, frames=24, channels=channels)
        assert model.eval()(other).shape == (1, classes)


def test_param_count_matches_official() -> None:
    n = count_params(DGSTGCN(DGSTGCNConfig()))
    assert abs(n / OFFICIAL_PARAMS - 1) < 0.005, n


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch(exports_match, fmt: str) -> None:
    net = _model()
    _wake(net)
    net.eval()
    x = 0.3 * _input("ntu25", n=2, frames=16)
    other = 0.3 * _input("ntu25", n=1, frames=24, seed=1)
    exports_match(net, fmt, x, other, TOL)


def test_runs_under_bfloat16_autocast() -> None:
    model = _model(layout="ucla20", num_classes=10)
    _wake(model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(_input("ucla20")), torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss)


def _reference_gcn(g: DynamicGroupGCN, x: torch.Tensor) -> torch.Tensor:
    """DG-GCN written from its formula, one einsum over (sample, group, channel, frame)."""
    n, _, t, v = x.shape
    K, R = g.K, g.R
    value = g.pre(x).reshape(n, K, R, t, v)
    qk = g.query_key(x.mean(2))  # (n, 2 K R, v)
    q, k = qk[:, : K * R].reshape(n, K, R, v), qk[:, K * R :].reshape(n, K, R, v)
    a = g.alpha.view(1, K, 1, 1, 1) if g.subset_wise else g.alpha[0]
    b = g.beta.view(1, K, 1, 1, 1) if g.subset_wise else g.beta[0]
    topo = g.A[None, :, None].expand(n, K, R, v, v)
    if g.ctr:
        topo = topo + a * torch.tanh(q[..., :, None] - k[..., None, :])
    if g.ada:
        logits = torch.einsum("nkcv,nkcw->nkvw", q, k)
        topo = topo + b * torch.softmax(logits, dim=-2)[:, :, None]
    y = torch.einsum("nkctv,nkcvw->nkctw", value, topo).reshape(n, K * R, t, v)
    res = x if g.down is None else g.down(x)
    return torch.relu(g.bn(g.post(y)) + res)


@pytest.mark.parametrize(
    "flags",
    [
        {"ctr": True, "ada": True},
        {"ctr": True, "ada": True, "subset_wise": True},
        {"ctr": False, "ada": True},
        {"ctr": True, "ada": False},
    ],
    ids=str,
)
@pytest.mark.parametrize("cin", [3, 12])
def test_dynamic_group_gcn_equals_its_formula(flags: dict, cin: int) -> None:
    torch.manual_seed(0)
    cfg = DGSTGCNConfig(**TINY_GCN, **flags)
    g = DynamicGroupGCN(cin, 12, 0.1 * torch.randn(4, 25, 25), cfg)
    _wake(g)
    x = torch.randn(3, cin, 10, 25)
    torch.testing.assert_close(g(x), _reference_gcn(g, x), rtol=1e-5, atol=1e-5)
    topo = g.topology(x)  # per sample; per channel only with the channel-wise term
    assert topo.shape == (3, 4, 3 if flags["ctr"] else 1, 25, 25)
    assert not torch.allclose(topo[0], topo[1], atol=1e-3)


def test_dynamic_terms_start_at_zero_and_static_affinity_is_shared() -> None:
    torch.manual_seed(0)
    g = DynamicGroupGCN(12, 12, 0.1 * torch.randn(4, 25, 25), DGSTGCNConfig(**TINY_GCN))
    x = torch.randn(2, 12, 8, 25)
    before = g(x)
    with torch.no_grad():
        g.query_key.weight.normal_()  # alpha = beta = 0: q and k do not matter yet
    torch.testing.assert_close(g(x), before)

    model = DGSTGCN(DGSTGCNConfig())  # official: one N(0.04, 0.02^2) draw, K = 8, every block
    graphs = torch.stack([b.gcn.A for b in model.blocks])  # (10, 8, 25, 25)
    assert graphs.shape == (10, 8, 25, 25) and torch.equal(graphs, graphs[:1].expand_as(graphs))
    assert abs(graphs[0].mean() - 0.04) < 0.004 and abs(graphs[0].std() - 0.02) < 0.002
    assert len({b.gcn.A.data_ptr() for b in model.blocks}) == 10  # separately learnt copies
    assert [b.gcn.R for b in model.blocks] == [8] * 4 + [16] * 3 + [32] * 3


def test_joint_fusion_of_the_dynamic_tcn() -> None:
    torch.manual_seed(0)
    dg = DynamicMultiBranchTCN(12, 12, num_joints=25, stride=2).eval()
    plain = MultiBranchTCN(12, 12, stride=2).eval()
    plain.load_state_dict({k: v for k, v in dg.state_dict().items() if k != "add_coeff"})
    x = torch.randn(2, 12, 16, 25)
    with torch.no_grad():
        torch.testing.assert_close(dg(x), plain(x))  # zero coefficients: the plain mstcn
        dg.add_coeff.copy_((torch.arange(25) >= 10).float())  # joints 10-24 get the mean joint
        y, ref = dg(x), plain(x)
    assert y.shape == (2, 12, 8, 25)
    torch.testing.assert_close(y[..., :10], ref[..., :10])
    assert (y[..., 10:] - ref[..., 10:]).abs().amax(dim=(0, 1, 2)).gt(1e-3).all()
