"""BlockGCN: shapes, the official parameter count, learning, exports, and its three encodings.

The official count (1,372,780) was measured on ``model/BlockGCN.py`` of ZhouYuxuanYX/BlockGCN with
its NTU60 config (graph ``graph.ntu_rgb_d.Graph``, spatial labelling).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skelpipe.models.blockgcn import (
    BlockGCN,
    BlockGCNConfig,
    BlockGraphConv,
    StructureElements,
    joint_distance_matrix,
    mst_edge_lengths,
    row_distances,
    zero_dim_persistence,
)
from skelpipe.models.graph import adjacency, hop_distance
from skelpipe.models.info import count_params
from skelpipe.skeleton import get_layout

OFFICIAL_PARAMS = 1_372_780
TINY = {"width": 16, "stage_blocks": (1, 1, 1)}

pytestmark = pytest.mark.usefixtures("single_thread")


def _model(**kw) -> BlockGCN:
    torch.manual_seed(0)
    return BlockGCN(BlockGCNConfig(**{**TINY, **kw}))


def _input(layout: str, n: int = 2, frames: int = 16, channels: int = 3, seed: int = 0):
    lay = get_layout(layout)
    g = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(n, channels, frames, lay.num_joints, lay.max_persons, generator=g)


@pytest.mark.parametrize(
    ("layout", "channels", "classes"), [("ntu25", 3, 60), ("ucla20", 3, 10), ("coco17", 2, 60)]
)
def test_logits_shape_and_gradients(layout: str, channels: int, classes: int) -> None:
    model = _model(layout=layout, in_channels=channels, num_classes=classes)
    x = _input(layout, channels=channels)
    logits = model(x)
    assert logits.shape == (2, classes) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(model.eval()(x[:1])).all()


def test_param_count_matches_official() -> None:
    n = count_params(BlockGCN(BlockGCNConfig()))
    assert abs(n / OFFICIAL_PARAMS - 1) < 0.005, n
    assert n - OFFICIAL_PARAMS == 10 * 3 * 8  # one more hop (diameter 12) per block, subset, head


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch(exports_match, fmt: str) -> None:
    net = _model().eval()
    x = _input("ntu25", n=2, frames=16)
    exports_match(net, fmt, x, _input("ntu25", n=3, frames=24, seed=1))


def test_zero_dim_persistence_of_hand_built_graphs() -> None:
    # four vertices, weighted: a-b 1, c-d 1, then the cheapest bridge b-c 2 (not a-c, b-d, d-a)
    w = np.array([[0, 1, 2.5, 3], [1, 0, 2, 2.2], [2.5, 2, 0, 1], [3, 2.2, 1, 0]])
    assert zero_dim_persistence(w).tolist() == [1.0, 1.0, 2.0]
    line = np.array([0.0, 1.0, 3.0, 7.0])  # points on a line: the gaps
    assert zero_dim_persistence(np.abs(line[:, None] - line[None])).tolist() == [1.0, 2.0, 4.0]
    deaths = mst_edge_lengths(torch.tensor(w).unsqueeze(0)).sort(dim=1).values
    assert deaths.tolist() == [[1.0, 1.0, 2.0]]


def test_torch_mst_equals_numpy_on_random_metrics() -> None:
    g = torch.Generator().manual_seed(0)
    points = torch.rand(8, 25, 6, generator=g, dtype=torch.float64)
    dist = row_distances(points)
    ours = mst_edge_lengths(dist).sort(dim=1).values.numpy()
    ref = np.stack([zero_dim_persistence(d) for d in dist.numpy()])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert (ours > 0).all()


def test_structure_elements_formula_and_zero_pairs() -> None:
    layer = StructureElements(1)
    with torch.no_grad():
        layer.centres.copy_(torch.tensor([[0.0, 0.5]]))
        layer.sharpness.copy_(torch.tensor([[1.0, 2.0]]))
        out = layer(torch.tensor([[0.5, 1.0], [0.0, 1.0]]))
    # (0, 0.5) sits on the centre: exp(0); (0, 1): exp(-4 * 0.25); a zero-length pair adds nothing
    assert out[0, 0].item() == pytest.approx(1 + math.exp(-1))
    assert out[1, 0].item() == pytest.approx(math.exp(-1))


def test_topology_is_per_sample_under_sample_norm_and_static_from_layout() -> None:
    x = _input("ntu25", n=3)
    D = joint_distance_matrix(x, per_sample=True)
    assert torch.allclose(D.amax(dim=(1, 2)), torch.ones(3))
    assert torch.allclose(D, D.transpose(1, 2))
    net = _model(topo_norm="sample").eval()
    with torch.no_grad():
        assert torch.allclose(net(x)[:1], net(x[:1]), atol=1e-5)  # companions do not matter
    static = _model(topo_source="layout").topology
    deaths = static.deaths(x)
    assert deaths.shape == (3, 24) and (deaths == deaths[0]).all() and (deaths > 0).all()


def test_hop_encoding_is_the_skeleton_hop_distance() -> None:
    layout = get_layout("ntu25")
    gcn = _model().blocks[0].gcn
    hops = gcn.hops.numpy()
    assert (hops == hop_distance(layout, 24)).all() and (hops == hops.T).all()
    assert ((hops == 1) == (adjacency(layout) > 0)).all()
    # distances 0 .. 12 (e.g. HandTipLeft to HandTipRight)
    assert gcn.hop_weight.shape == (3, 8, 13)
    # at start (identity topologies, zero hop weights) every aggregation matrix is the identity
    eye = torch.eye(25).repeat(3, 1) / (1 + 1e-4)
    assert torch.allclose(gcn.graph(), eye.expand(8, 75, 25))


def _per_subset_reference(gcn: BlockGraphConv, x: torch.Tensor) -> torch.Tensor:
    """The official order, one subset at a time: aggregate each head, then its grouped conv."""
    N, C, T, V = x.shape
    H, K, cout = gcn.H, 3, gcn.cout
    A = gcn.graph().view(H, K, V, V)
    w = gcn.project.weight.view(H, K, cout // H, C // H, 1, 1)
    y = 0
    for k in range(K):
        z = torch.einsum("nhctv,hvw->nhctw", x.view(N, H, C // H, T, V), A[:, k])
        wk = w[:, k].reshape(cout, C // H, 1, 1)
        y = y + F.conv2d(z.reshape(N, C, T, V), wk, gcn.bias[k], groups=H)
    return torch.relu(gcn.bn(y) + (x if gcn.down is None else gcn.down(x)))


def test_blockgc_is_block_diagonal_and_equals_the_per_subset_form() -> None:
    torch.manual_seed(0)
    gcn = BlockGraphConv(16, 16, torch.tensor(hop_distance(get_layout("ntu25"), 24)).long(), 8)
    with torch.no_grad():
        for p in (gcn.topology, gcn.hop_weight, gcn.bias, gcn.bn.weight):
            p.normal_(0, 1)
    gcn.eval()
    x = torch.randn(2, 16, 8, 25)
    with torch.no_grad():
        torch.testing.assert_close(gcn(x), _per_subset_reference(gcn, x), atol=1e-5, rtol=1e-5)
        bumped = x.clone()
        bumped[:, 2:4] += 1.0  # head 1 of 8 (channels 2, 3)
        changed = (gcn(bumped) - gcn(x)).abs().amax(dim=(0, 2, 3)) > 0
    assert changed.tolist() == [c in (2, 3) for c in range(16)]
