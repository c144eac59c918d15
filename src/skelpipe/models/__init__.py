"""Skeleton action-recognition models and the registry that builds them by name.

Every model takes one typed config and maps (N, C, T, V, M) inputs to (N, num_classes) logits::

    from skelpipe.models import build_model
    model = build_model("ctrgcn", "ntu60", preset="cpu")
    logits = model(x)  # x: (N, 3, T, 25, 2)

Presets: ``paper`` is the official configuration, ``cpu`` a narrow, shallower variant for 2-core
CPU training. Models with training-time auxiliary losses (InfoGCN) expose
``forward_with_latent(x)`` and ``aux_loss(z, labels)``; see :mod:`skelpipe.models.infogcn`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from skelpipe.datasets import get_dataset
from skelpipe.models.aagcn import AAGCN, AAGCNConfig
from skelpipe.models.blockgcn import BlockGCN, BlockGCNConfig
from skelpipe.models.config import ModelConfig
from skelpipe.models.ctrgcn import CTRGCN, CTRGCNConfig
from skelpipe.models.dgstgcn import DGSTGCN, DGSTGCNConfig
from skelpipe.models.infogcn import InfoGCN, InfoGCNConfig
from skelpipe.models.msg3d import MSG3D, MSG3DConfig
from skelpipe.models.posec3d import PoseC3D, PoseC3DConfig
from skelpipe.models.stgcn import STGCN, STGCNConfig
from skelpipe.models.stgcnpp import STGCNPP, STGCNPPConfig
from skelpipe.models.tsgcnext import TSGCNeXt, TSGCNeXtConfig

# cpu presets: about a third of the paper width and two blocks per stage (~1/9 of the FLOPs)
_GCN_CPU = {"width": 24, "stage_blocks": (2, 2, 2), "preset": "cpu"}


@dataclass(frozen=True)
class ModelEntry:
    """A registered architecture: its class and its named configs."""

    cls: type[nn.Module]
    presets: dict[str, ModelConfig]


def _entry(cls: type[nn.Module], cfg_cls: type[ModelConfig], cpu: dict[str, Any]) -> ModelEntry:
    return ModelEntry(cls, {"paper": cfg_cls(), "cpu": cfg_cls(**cpu)})


registry: dict[str, ModelEntry] = {
    "stgcn": _entry(STGCN, STGCNConfig, _GCN_CPU),
    "stgcnpp": _entry(STGCNPP, STGCNPPConfig, _GCN_CPU),
    "ctrgcn": _entry(CTRGCN, CTRGCNConfig, _GCN_CPU),
    "aagcn": _entry(AAGCN, AAGCNConfig, _GCN_CPU),
    "dgstgcn": _entry(DGSTGCN, DGSTGCNConfig, _GCN_CPU),
    # paper width 128: a third of it, in multiples of the 8 heads x 4 temporal branches
    "blockgcn": _entry(
        BlockGCN, BlockGCNConfig, {"width": 40, "stage_blocks": (2, 2, 2), "preset": "cpu"}
    ),
    # MS-G3D: the narrow width keeps both scales' graphs but drops the 5-frame G3D window
    "msg3d": _entry(MSG3D, MSG3DConfig, {"width": 24, "window_sizes": (3,), "preset": "cpu"}),
    # PoseConv3D: half the channels, 20 x 20 heatmaps (the cost grows with their area: 15 samples
    # a second on one thread at 52 frames, as the GCN presets' order of magnitude)
    "posec3d": _entry(
        PoseC3D,
        PoseC3DConfig,
        {"width": 16, "heatmap_size": 20, "stage_blocks": (2, 2, 2), "preset": "cpu"},
    ),
    "infogcn": _entry(InfoGCN, InfoGCNConfig, _GCN_CPU),
    "tsgcnext": _entry(
        TSGCNeXt,
        TSGCNeXtConfig,
        {"width": 32, "stage_blocks": (1, 2, 1), "drop_path": 0.1, "preset": "cpu"},
    ),
}


def model_config(name: str, dataset: str, preset: str = "paper", **overrides: Any) -> ModelConfig:
    """The config of model ``name`` for ``dataset`` (3 input channels), with optional overrides."""
    entry = get_dataset(dataset)
    fixed = {"num_classes": entry.num_classes, "layout": entry.layout, "in_channels": 3}
    return _config(name, preset, fixed, overrides)


def store_model_config(name: str, attrs: Mapping[str, Any], preset: str = "paper") -> ModelConfig:
    """The config of model ``name`` for a sample store: its classes, layout and channels (a store
    of a registered dataset gives what :func:`model_config` gives for that dataset)."""
    fixed = {
        "num_classes": int(attrs["num_classes"]),
        "layout": str(attrs["layout"]),
        "in_channels": len(attrs.get("channels", ("x", "y", "z"))),
    }
    return _config(name, preset, fixed, {})


def _config(
    name: str, preset: str, fixed: dict[str, Any], overrides: dict[str, Any]
) -> ModelConfig:
    if name not in registry:
        raise ValueError(f"unknown model {name!r}; known: {sorted(registry)}")
    presets = registry[name].presets
    if preset not in presets:
        raise ValueError(f"unknown preset {preset!r} for {name}; known: {sorted(presets)}")
    fields = {f.name for f in dataclasses.fields(presets[preset])}
    for key in overrides:
        if key not in fields:
            raise ValueError(f"unknown {name} config key {key!r}; known: {sorted(fields)}")
    return dataclasses.replace(presets[preset], **{**fixed, **overrides})


def build_model(name: str, dataset: str, preset: str = "paper", **overrides: Any) -> nn.Module:
    """Instantiate model ``name`` for ``dataset`` (ntu60, ntu120, nw_ucla) with a preset."""
    cfg = model_config(name, dataset, preset, **overrides)
    return registry[name].cls(cfg)


def build_store_model(name: str, attrs: Mapping[str, Any], preset: str = "paper") -> nn.Module:
    """Instantiate model ``name`` for the sample store with attributes ``attrs``."""
    return registry[name].cls(store_model_config(name, attrs, preset))


__all__ = [
    "ModelConfig",
    "ModelEntry",
    "build_model",
    "build_store_model",
    "model_config",
    "registry",
    "store_model_config",
]
