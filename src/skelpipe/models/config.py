"""The config fields every architecture shares, and the stage plan of the 10-block GCN family."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelConfig:
    """Shared model settings; each architecture extends it with its own fields.

    Attributes:
        num_classes: output classes (60 NTU60, 120 NTU120, 10 NW-UCLA).
        in_channels: input channels per joint (3 for xyz).
        layout: skeleton layout name (``skelpipe.skeleton.LAYOUTS``); fixes V and M.
        width: channels of the first stage; each later stage doubles them.
        stage_blocks: blocks per stage; the first block of every stage after the first halves T.
        dropout: dropout before the classifier (0 in all official configs).
        preset: name of the preset this config came from (informational).
    """

    num_classes: int = 60
    in_channels: int = 3
    layout: str = "ntu25"
    width: int = 64
    stage_blocks: tuple[int, ...] = (4, 3, 3)
    dropout: float = 0.0
    preset: str = "paper"


def stage_plan(width: int, stage_blocks: tuple[int, ...]) -> list[tuple[int, int]]:
    """(out_channels, temporal stride) per block: ``width * 2**stage``, stride 2 at stage starts.

    ``stage_plan(64, (4, 3, 3))`` is the ST-GCN / CTR-GCN plan 64x4, 128x3, 256x3 with strides at
    blocks 5 and 8.
    """
    plan = []
    for stage, n_blocks in enumerate(stage_blocks):
        for b in range(n_blocks):
            stride = 2 if (stage > 0 and b == 0) else 1
            plan.append((width * 2**stage, stride))
    return plan
