"""MS-G3D: shapes, the official parameter count, learning, exports, the disentangled multi-scale
adjacencies against their definition, and the fused aggregation and windows against direct ones.

Official count (NTU60, backbone + GCNHead), counted on PYSKL ``pyskl/models/gcns/msg3d.py`` with
``configs/msg3d/msg3d_pyskl_ntu60_xsub_3dkp/j.py``: 3,194,595.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skelpipe.models.graph import adjacency
from skelpipe.models.info import count_params
from skelpipe.models.msg3d import (
    MSG3D,
    MSG3DConfig,
    MultiScaleGraphConv,
    multiscale_adjacency,
    temporal_windows,
    window_graph,
)
from skelpipe.skeleton import get_layout
from tests.helpers import skeleton_batch as _input

OFFICIAL_PARAMS = 3_194_595
CPU = {"width": 24, "window_sizes": (3,), "preset": "cpu"}
TINY = {"width": 12, "gcn_scales": 4, "g3d_scales": 3}  # both windows, few scales: fast tests

pytestmark = pytest.mark.usefixtures("single_thread")


def _cfg(**kw) -> MSG3DConfig:
    return MSG3DConfig(**{**TINY, **kw})


def _hops(A: np.ndarray) -> np.ndarray:
    """All-pairs hop distance by breadth-first search (inf when unreachable)."""
    V = len(A)
    dist = np.full((V, V), np.inf)
    for s in range(V):
        dist[s, s], queue = 0, deque([s])
        while queue:
            v = queue.popleft()
            for u in np.flatnonzero(A[v]):
                if dist[s, u] == np.inf:
                    dist[s, u] = dist[s, v] + 1
                    queue.append(u)
    return dist


def _assert_scales_match(scales: np.ndarray, dist: np.ndarray) -> None:
    """Scale k: nodes exactly k hops apart plus self-loops, each column divided by its count."""
    V = len(dist)
    assert np.array_equal(scales[0], np.eye(V))
    for k in range(1, len(scales)):
        pattern = (dist == k) | np.eye(V, dtype=bool)
        assert np.array_equal(scales[k] > 0, pattern), k
        assert np.allclose(scales[k], pattern / pattern.sum(0, keepdims=True)), k


@pytest.mark.parametrize("layout", ["ntu25", "ucla20", "coco17"])
def test_multiscale_adjacency_is_exact_k_hops_normalised(layout: str) -> None:
    A = adjacency(get_layout(layout))
    dist = _hops(A)
    scales = multiscale_adjacency(A, 13)
    _assert_scales_match(scales, dist)
    far = int(dist.max())  # the diameter: its scale links joints, later scales are self-loops
    assert (scales[far] > 0).sum() > len(A)
    assert all(np.array_equal(s, np.eye(len(A))) for s in scales[far + 1 :])


@pytest.mark.parametrize("window", [3, 5])
def test_g3d_window_graph_scales_follow_the_skeleton_hops(window: int) -> None:
    A = adjacency(get_layout("ntu25"))
    V, d = len(A), _hops(A)
    G = window_graph(A, window)
    assert G.shape == (window * V, window * V) and np.array_equal(G, G.T)
    # joint v of frame i and joint u of frame j: the skeleton distance, except that a joint is
    # one hop from itself in another frame of the window
    frame = np.repeat(np.arange(window), V)
    same_joint = np.tile(np.eye(V, dtype=bool), (window, window))
    expected = np.where(
        same_joint & (frame[:, None] != frame[None, :]), 1.0, np.tile(d, (2 * (window,)))
    )
    assert np.array_equal(_hops(G - np.diag(np.diag(G))), expected)
    _assert_scales_match(multiscale_adjacency(G, 6), expected)


def test_model_graphs_are_the_definitions_plus_a_tiny_learnt_offset() -> None:
    torch.manual_seed(0)
    model = MSG3D(MSG3DConfig())
    A = adjacency(get_layout("ntu25"))
    block = model.blocks[1]
    assert np.allclose(block.gcn.A.numpy(), multiscale_adjacency(A, 13))
    for pathway, w in zip(block.g3d, (3, 5), strict=True):
        assert pathway.gcn.A.shape == (6, w * 25, w * 25)
        assert np.allclose(pathway.gcn.A.numpy(), multiscale_adjacency(window_graph(A, w), 6))
        assert 0 < pathway.gcn.PA.abs().max() <= 1e-6
    assert not any(name.endswith(".A") for name, _ in model.named_parameters())  # fixed buffers


@pytest.mark.parametrize(
    ("window", "stride", "frames"), [(3, 1, 7), (5, 1, 6), (3, 2, 7), (5, 2, 8)]
)
def test_temporal_windows_gather_the_right_frames(window: int, stride: int, frames: int) -> None:
    x = torch.randn(2, 3, 4, frames)  # (N, C, V, T)
    out = temporal_windows(x, window, stride)
    pad = (window - 1) // 2
    t_out = (frames + 2 * pad - window) // stride + 1
    assert out.shape == (2, 3, window * 4, t_out)
    for t in range(t_out):
        for j in range(window):
            src = t * stride - pad + j
            want = x[..., src] if 0 <= src < frames else torch.zeros_like(x[..., 0])
            torch.testing.assert_close(out[:, :, j * 4 : (j + 1) * 4, t], want, rtol=0, atol=0)


def test_fused_aggregation_equals_the_per_scale_einsum() -> None:
    torch.manual_seed(0)
    A = adjacency(get_layout("ucla20"))
    gcn = MultiScaleGraphConv(5, 7, multiscale_adjacency(A, 4)).eval()
    with torch.no_grad():
        gcn.PA.normal_(0, 0.1)
        gcn.bn.running_mean.normal_(0, 0.3)
    x = torch.randn(2, 5, 9, 20)  # (N, C, T, V)
    # official order: aggregate per scale, channels grouped (scale, channel), then the 1x1 conv
    agg = torch.einsum("kvu,nctv->nkctu", gcn.A + gcn.PA, x).reshape(2, 4 * 5, 9, 20)
    w = gcn.conv.weight.view(7, 5, 4).transpose(1, 2).reshape(7, 20, 1, 1)  # (c, k) -> (k, c)
    want = torch.relu(gcn.bn(F.conv2d(agg, w, gcn.conv.bias)))
    torch.testing.assert_close(gcn(x.transpose(2, 3)).transpose(2, 3), want)


@pytest.mark.parametrize(
    ("layout", "channels", "classes"), [("ntu25", 3, 60), ("ucla20", 3, 10), ("coco17", 2, 60)]
)
def test_logits_shape_and_gradients(layout: str, channels: int, classes: int) -> None:
    torch.manual_seed(0)
    model = MSG3D(_cfg(layout=layout, in_channels=channels, num_classes=classes))
    x = _input(layout, n=3, frames=15, channels=channels)  # odd T: both pathways stay aligned
    logits = model(x)
    assert logits.shape == (3, classes) and torch.isfinite(logits).all()
    logits.logsumexp(1).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        assert model(_input(layout, n=1, frames=24, channels=channels)).shape == (1, classes)


def test_param_count_matches_official() -> None:
    n = count_params(MSG3D(MSG3DConfig()))
    assert abs(n / OFFICIAL_PARAMS - 1) < 0.005, n
    assert n == OFFICIAL_PARAMS  # exactly: every official tensor has its counterpart


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch(exports_match, fmt: str) -> None:
    torch.manual_seed(0)
    model = MSG3D(_cfg())
    with torch.no_grad():  # a trained-looking model: learnt graph offsets, BN statistics
        for m in model.modules():
            if isinstance(m, MultiScaleGraphConv):
                m.PA.normal_(0, 0.05)
        model.train()(_input("ntu25", n=4, seed=1))
    model.eval()
    x = 0.3 * _input("ntu25", n=2)
    other = 0.3 * _input("ntu25", n=1, frames=25, seed=2)  # an odd length too
    exports_match(model, fmt, x, other)


def test_runs_under_bfloat16_autocast() -> None:
    torch.manual_seed(0)
    model = MSG3D(_cfg(layout="ucla20", num_classes=10))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(_input("ucla20", n=3)), torch.arange(3))
    loss.backward()
    assert torch.isfinite(loss)


def test_cpu_preset_is_a_narrow_single_window_variant() -> None:
    model = MSG3D(MSG3DConfig(**CPU))
    assert [len(b.g3d) for b in model.blocks] == [1, 1, 1]
    assert model.head.fc.in_features == 4 * CPU["width"]
    assert count_params(model) < OFFICIAL_PARAMS / 10
