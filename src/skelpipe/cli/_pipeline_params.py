"""The params sections that prediction and model export replay (user commands, not stages)."""

from __future__ import annotations

from pathlib import Path

import yaml

from stages._common import fail, load_params


def pipeline_params(params_file: Path):
    """The sections prediction and export replay
    (:class:`skelpipe.apps.predict.PipelineParams`), and the ``paths`` section. Sections a
    pipeline lacks (NW-UCLA: ``denoise``) are None."""
    from skelpipe.apps.predict import PipelineParams
    from skelpipe.params import (
        AlignParams,
        DenoiseParams,
        ShardParams,
        TokenizerParams,
        TrainParams,
    )

    try:
        doc = yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        fail(f"{params_file}: {err}")

    def section(cls: type, key: str, optional: bool = False):
        return None if optional and key not in doc else load_params(cls, key, params_file)

    p = PipelineParams(
        dataset=section(ShardParams, "shard").dataset,
        denoise=section(DenoiseParams, "denoise", optional=True),
        align=section(AlignParams, "align"),
        train=section(TrainParams, "train"),
        token_stream=section(TrainParams, "token_stream", optional=True),
        tokenizer=section(TokenizerParams, "tokenizer", optional=True),
    )
    return p, doc.get("paths") or {}
