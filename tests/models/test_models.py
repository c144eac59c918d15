"""Models: shapes on both layouts, parameter counts vs the official code, learning, graphs.

Official parameter counts (NTU60, paper configuration), counted on the official model code:
ST-GCN (PYSKL) 3.10 M and ST-GCN++ 1.40 M (PYSKL figures, held to 3 %); CTR-GCN
``model/ctrgcn.py`` 1,446,672; InfoGCN ``model/infogcn.py`` (k = 1, 3 heads) 1,556,807; TSGCNeXt
``model/tsmartaagcnext_3.py`` (stages 2-5-2) 4,232,316; PYSKL's AAGCN ``gcns/aagcn.py``
3,781,668, DG-STGCN ``gcns/dgstgcn.py`` 1,701,172, MS-G3D ``gcns/msg3d.py`` 3,194,595 (all three
equal here) and PoseConv3D ``cnns/resnet3d_slowonly.py`` + ``I3DHead`` on COCO-17 joint heatmaps
2,024,860 (equal); BlockGCN ``model/BlockGCN.py`` 1,372,780 (+240 here: the NTU hand bones of
``skeleton.py`` make the longest hop 12, one more hop weight per head). Held to 0.5 %.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from skelpipe.cli.main import app
from skelpipe.datasets import DATASETS
from skelpipe.models import build_model, model_config, registry
from skelpipe.models.graph import (
    adjacency,
    distance_partition,
    k_hop,
    parents,
    relative_mode,
    root_joint,
    spatial_partition,
)
from skelpipe.models.info import count_params, model_info
from skelpipe.skeleton import NTU25, UCLA20

OFFICIAL_PARAMS = {
    "stgcn": 3_100_000,
    "stgcnpp": 1_400_000,
    "ctrgcn": 1_446_672,
    "infogcn": 1_556_807,
    "tsgcnext": 4_232_316,
    "aagcn": 3_781_668,
    "dgstgcn": 1_701_172,
    "blockgcn": 1_372_780,
    "msg3d": 3_194_595,
    "posec3d": 2_024_860,  # SlowOnly-R50 on 17 COCO joint heatmaps
}
COUNT_LAYOUT = {"posec3d": "coco17"}  # the layout the official count is for
LAYOUTS = {"ntu60": NTU25, "nw_ucla": UCLA20}


def _batch(dataset: str, n: int = 4, frames: int = 16, seed: int = 0):
    layout = LAYOUTS[dataset]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, frames, layout.num_joints, layout.max_persons, generator=g)
    y = torch.arange(n) % DATASETS[dataset].num_classes
    return x, y


def _loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if hasattr(model, "aux_loss"):
        logits, z = model.forward_with_latent(x)
        return F.cross_entropy(logits, y) + model.aux_loss(z, y)
    return F.cross_entropy(model(x), y)


@pytest.mark.parametrize("dataset", ["ntu60", "nw_ucla"])
@pytest.mark.parametrize("name", sorted(registry))
def test_logits_shape_on_both_layouts(name: str, dataset: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, dataset, "cpu")
    x, y = _batch(dataset)
    logits = model(x)
    assert logits.shape == (4, DATASETS[dataset].num_classes)
    assert torch.isfinite(logits).all()
    _loss(model, x, y).backward()
    model.eval()
    with torch.no_grad():
        assert model(x[:1]).shape == (1, DATASETS[dataset].num_classes)


@pytest.mark.parametrize("name", sorted(registry))
def test_param_count_matches_official(name: str) -> None:
    layout = {"layout": COUNT_LAYOUT[name]} if name in COUNT_LAYOUT else {}
    n = count_params(build_model(name, "ntu60", "paper", **layout))
    tolerance = 0.03 if name in ("stgcn", "stgcnpp") else 0.005  # PYSKL rounds those to 0.01 M
    assert abs(n / OFFICIAL_PARAMS[name] - 1) < tolerance, (name, n)


@pytest.mark.parametrize("name", sorted(registry))
def test_loss_falls_on_a_fixed_batch(name: str) -> None:
    torch.manual_seed(0)
    if name == "tsgcnext":  # ConvNeXt-style: trained with AdamW upstream, no stochastic depth here
        model = build_model(name, "ntu60", "cpu", drop_path=0.0)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    else:
        model = build_model(name, "ntu60", "cpu")
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = _batch("ntu60", n=8)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = _loss(model, x, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) < 0.7 * sum(losses[:3]), losses


def test_registry_datasets_and_overrides() -> None:
    assert set(registry) == set(OFFICIAL_PARAMS)
    assert model_config("ctrgcn", "ntu120").num_classes == 120
    cfg = model_config("infogcn", "nw_ucla", "cpu", mode_k=2)
    assert (cfg.num_classes, cfg.layout, cfg.in_channels, cfg.mode_k) == (10, "ucla20", 3, 2)
    for bad in (
        ("nope", "ntu60", "paper"),
        ("stgcn", "kinetics", "paper"),
        ("stgcn", "ntu60", "x"),
    ):
        with pytest.raises(ValueError):
            model_config(*bad)
    with pytest.raises(ValueError, match="widht"):
        model_config("stgcn", "ntu60", widht=8)


@pytest.mark.parametrize("layout", [NTU25, UCLA20], ids=lambda lo: lo.name)
def test_graphs_are_built_from_the_skeleton_edges(layout) -> None:
    V = layout.num_joints
    A = adjacency(layout)
    assert np.array_equal(A, A.T) and np.all(np.diag(A) == 0)
    assert A.sum() == 2 * (V - 1)  # a tree over all joints
    for child, parent in layout.edges():
        assert A[child, parent] == A[parent, child] == 1
    assert np.array_equal(k_hop(A, 1), A)

    S = spatial_partition(layout)  # [I, inward, outward]
    assert S.shape == (3, V, V) and np.array_equal(S[0], np.eye(V))
    assert np.array_equal(S[1] > 0, (S[2] > 0).T)  # outward = inward reversed
    assert np.array_equal((S[1] + S[2]) > 0, A > 0)
    for sub in S[1:]:
        col = sub.sum(0)
        assert np.allclose(col[col > 0], 1.0)  # column-normalised

    D = distance_partition(layout)  # root / close / far
    assert D.shape == (3, V, V)
    assert np.allclose(D.sum(0).sum(0), 1.0)  # the subsets split a column-normalised A + I
    assert not np.any((D[1] > 0) & (D[2] > 0))
    assert np.array_equal(D.sum(0) > 0, (A + np.eye(V)) > 0)
    assert np.allclose(np.diag(D[0]), D.sum(0).diagonal())


def test_infogcn_mode_representation() -> None:
    root = NTU25.center
    parent = parents(NTU25, root)
    assert parent[root] == -1 and root_joint(NTU25) == 20
    M1 = relative_mode(NTU25, 1)  # x_v - x_parent(v); the root keeps its position
    for v in range(25):
        expected = np.eye(25)[v] - (np.eye(25)[parent[v]] if parent[v] >= 0 else 0)
        assert np.array_equal(M1[v], expected)
    assert np.array_equal(relative_mode(NTU25, 25), np.eye(25))  # deeper than the tree: joints
    with pytest.raises(ValueError):
        relative_mode(NTU25, 0)


def test_infogcn_aux_loss_finite_differentiable_and_exact() -> None:
    torch.manual_seed(0)
    model = build_model("infogcn", "ntu60", "cpu")
    x, _ = _batch("ntu60", n=6)
    y = torch.tensor([0, 0, 3, 3, 3, 7])
    logits, z = model.forward_with_latent(x)
    terms = model.aux_losses(z, y)
    assert all(torch.isfinite(t) for t in terms.values())
    # the official loop: mean z of each present class vs its prior row
    naive = torch.stack([F.mse_loss(z[y == c].mean(0), model.z_prior[c]) for c in (0, 3, 7)])
    torch.testing.assert_close(terms["mmd"], naive.mean())
    torch.testing.assert_close(terms["l2_z_mean"], z.mean(0).norm())
    model.aux_loss(z, y).backward()
    grad = model.fc_mu.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert not model.z_prior.requires_grad


def test_ctrgcn_chunked_aggregation_matches_whole_batch(monkeypatch) -> None:
    from skelpipe.models.ctrgcn import CTRGraphConv

    torch.manual_seed(0)
    model = build_model("ctrgcn", "ntu60", "cpu")
    for block in model.blocks:
        torch.nn.init.constant_(block.gcn.alpha, 0.5)  # let the refinement matter
    x, _ = _batch("ntu60")
    whole = model(x)
    monkeypatch.setattr(CTRGraphConv, "chunk_bytes", 1)  # one sample per chunk
    torch.testing.assert_close(model(x), whole, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(registry))
def test_runs_under_bfloat16_autocast(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, "nw_ucla", "cpu")
    x, y = _batch("nw_ucla")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = _loss(model, x, y)
    loss.backward()
    assert torch.isfinite(loss)


def test_model_info_and_cli() -> None:
    info = model_info("ctrgcn", "nw_ucla", "cpu")
    assert set(info) == {"model", "params", "gflops"}
    assert info["params"] == count_params(build_model("ctrgcn", "nw_ucla", "cpu"))
    assert 0 < info["gflops"] < 1
    result = CliRunner().invoke(
        app, ["model-info", "--model", "ctrgcn", "--dataset", "nw_ucla", "--preset", "cpu"]
    )
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0]) == info


def test_model_info_on_another_layout() -> None:
    result = CliRunner().invoke(
        app, ["model-info", "--model", "posec3d", "--dataset", "ntu60", "--layout", "coco17"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert abs(info["params"] / OFFICIAL_PARAMS["posec3d"] - 1) < 0.005 and info["gflops"] > 1
    bad = CliRunner().invoke(
        app, ["model-info", "--model", "posec3d", "--dataset", "ntu60", "--layout", "nope"]
    )
    assert bad.exit_code == 2 and "unknown skeleton layout" in bad.output
