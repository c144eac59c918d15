"""Per-epoch curves with DVCLive (``dvcyaml=None, save_dvc_exp=False``: dvc.yaml declares plots).

The epoch history lives in the training checkpoint; on resume the DVCLive folder is rebuilt from
it, so curves never hold duplicated or missing epochs after an interruption.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from dvclive import Live

from skelpipe.training import distributed

CURVES = ("train_loss", "lr", "val_top1")


class LiveLog:
    def __init__(self, path: Path, history: list[dict], curves: tuple[str, ...] = CURVES) -> None:
        self.live = Live(str(path), resume=False, dvcyaml=None, save_dvc_exp=False)
        self.curves = curves
        for row in history:
            self.log_epoch(row)

    def log_epoch(self, row: dict) -> None:
        for key in self.curves:
            if key in row:
                self.live.log_metric(key, row[key], plot=True)
        self.live.next_step()


def resumed_history(ckpt: Path, run_id: str) -> list[dict]:
    """The epoch rows of the checkpoint a run will resume from (none if it belongs elsewhere)."""
    if not ckpt.exists():
        return []
    data = torch.load(ckpt, map_location="cpu", weights_only=True)
    return list(data["history"]) if data.get("run_id") == run_id else []


def live_logger(
    path: Path, history: list[dict], curves: tuple[str, ...] = CURVES
) -> Callable[[dict], None]:
    """``LiveLog.log_epoch`` on rank 0; a no-op on the other ranks of a torchrun job."""
    if not distributed.is_main():
        return lambda row: None
    return LiveLog(path, history, curves).log_epoch
