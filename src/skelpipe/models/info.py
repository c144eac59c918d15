"""Model size and cost: parameters and GFLOPs per sample at T = 64."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from skelpipe.models import build_model
from skelpipe.skeleton import get_layout

FLOPS_FRAMES = 64


def count_params(model: torch.nn.Module) -> int:
    """Number of learnable parameters (buffers such as fixed graphs or priors excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass as counted by ``FlopCounterMode`` (2 per multiply-accumulate of
    convolutions and matrix products; normalisations and activations are not counted)."""
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def model_info(name: str, dataset: str, preset: str = "paper", layout: str | None = None) -> dict:
    """``{"model", "params", "gflops"}``; gflops = 2 * MACs for one (1, C, 64, V, M) sample.

    ``layout`` replaces the dataset's skeleton (PoseConv3D's official count is on COCO-17)."""
    model = build_model(name, dataset, preset, **({"layout": layout} if layout else {}))
    layout = get_layout(model.cfg.layout)
    x = torch.zeros(1, model.cfg.in_channels, FLOPS_FRAMES, layout.num_joints, layout.max_persons)
    return {
        "model": name,
        "params": count_params(model),
        "gflops": round(count_flops(model, x) / 1e9, 4),
    }
