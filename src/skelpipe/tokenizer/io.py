"""Save / load a trained tokenizer: the output folder of ``train_tokenizer``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from skelpipe.models.tokenizer import SkeletonTokenizer, TokenizerConfig


def save_tokenizer(model: SkeletonTokenizer, folder: Path) -> None:
    """Write ``model.pt`` (state dict) and ``config.json`` (its config) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "model.pt")
    (folder / "config.json").write_text(json.dumps(asdict(model.cfg), indent=2) + "\n")


class TokenizerLoadError(Exception):
    """A folder that does not hold a loadable trained tokenizer; the message names it."""


def load_tokenizer(folder: Path) -> SkeletonTokenizer:
    """The model of ``folder`` (config.json + model.pt), in eval mode, on the CPU.

    Raises:
        TokenizerLoadError: a file is missing or unreadable, the config has unknown or invalid
            keys, or the weights do not fit the config.
    """
    try:
        raw = json.loads((Path(folder) / "config.json").read_text())
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        model = SkeletonTokenizer(TokenizerConfig(**fields))
        state = torch.load(Path(folder) / "model.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError) as err:
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        raise TokenizerLoadError(f"{folder}: not a trained tokenizer ({reason})") from None
    return model.eval()
