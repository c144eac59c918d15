"""The body shared by the classifier-stream stages (``train`` and ``train_tokens``).

Fit with resumption and DVCLive curves, then on rank 0 score validation and test, write the
output folder atomically (model.pt, scores by name, per-class table, confusion data) and the
metrics JSON.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from skelpipe.classify.outputs import write_outputs
from skelpipe.params import TrainParams
from skelpipe.store.reader import SampleStore
from skelpipe.training import distributed
from skelpipe.training.loop import evaluate, fit, global_batch, peak_lr, resolve_device
from stages._common import atomic_dir, write_metrics
from stages._live import live_logger, resumed_history


def train_and_report(
    net: nn.Module,
    datasets: dict,
    p: TrainParams,
    store: SampleStore,
    run_id: str,
    label: str,
    paths: dict[str, Path],
    runtime: dict,
) -> None:
    """Train ``net`` on ``datasets`` (train / val / test) and write the stream's outputs.

    ``paths`` holds ``checkpoint`` (folder of the resumable ``last.pt``), ``live`` (DVCLive),
    ``out`` (output folder), ``plots`` (confusion data) and ``metrics`` (JSON); ``runtime``
    (threads, kernels, reproducible mode) goes into the metrics beside the scores.
    """
    paths["checkpoint"].mkdir(parents=True, exist_ok=True)
    ckpt = paths["checkpoint"] / "last.pt"
    on_epoch = live_logger(paths["live"], resumed_history(ckpt, run_id))
    state = fit(net, datasets, p, ckpt, run_id, label, on_epoch)
    if distributed.is_main():
        device = distributed.local_device(resolve_device(p))
        with atomic_dir(paths["out"]) as tmp:
            results = {part: evaluate(net, datasets[part], p, device) for part in ("val", "test")}
            summary = write_outputs(tmp, paths["plots"], net, store, results, state.history)
        recipe = {}  # the linear lr rule in use: the learning rate it gave, for which batch
        if p.lr_reference_batch > 0:
            recipe = {"global_batch": global_batch(p), "lr_effective": peak_lr(p)}
        write_metrics(paths["metrics"], {**summary, **recipe, **runtime})
