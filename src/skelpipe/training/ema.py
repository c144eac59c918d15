"""Model EMA: an exponential moving average of the weights, evaluated instead of them.

ConvNeXt / TSGCNeXt train with timm's ``ModelEmaV2`` (decay 0.9999) and report the averaged model.
After every optimizer step each floating-point parameter and buffer (BatchNorm statistics too)
becomes ``decay * ema + (1 - decay) * current``; integer buffers (batch counters) are copied.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """The averaged copy of ``model`` (same device), never trained directly."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must lie in (0, 1), not {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval()
        for param in self.module.parameters():
            param.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One step towards ``model``'s current weights."""
        current = model.state_dict()
        for name, avg in self.module.state_dict().items():
            if avg.dtype.is_floating_point:
                avg.mul_(self.decay).add_(current[name].detach(), alpha=1.0 - self.decay)
            else:
                avg.copy_(current[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
