"""Process settings of the torch stages: threads, denormals, allocator, the reproducible mode."""

from __future__ import annotations

from typing import Protocol

from skelpipe.reproducible import ReproducibleModeError
from skelpipe.training.runtime import configure_cpu_runtime, runtime_metrics
from stages._common import fail


class RuntimeParams(Protocol):
    threads: int
    reproducible: bool


def start_runtime(p: RuntimeParams) -> dict:
    """Configure the process from its params section; returns the runtime metrics to record."""
    try:
        configure_cpu_runtime(p.threads or None, reproducible=p.reproducible)
    except ReproducibleModeError as err:
        fail(str(err))
    return runtime_metrics(p.reproducible)
