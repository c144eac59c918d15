"""Load a trained tokenizer from a ``train_tokenizer`` output folder."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from skelpipe.models.tokenizer import SkeletonTokenizer, TokenizerConfig


def load_tokenizer(folder: Path) -> SkeletonTokenizer:
    """The model of ``folder`` (config.json + model.pt), in eval mode, on the CPU."""
    raw = json.loads((Path(folder) / "config.json").read_text())
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    model = SkeletonTokenizer(TokenizerConfig(**fields))
    state = torch.load(Path(folder) / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
