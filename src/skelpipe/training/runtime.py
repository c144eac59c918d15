"""Process-wide CPU settings for training: threads, denormals, and the glibc allocator.

Call :func:`configure_cpu_runtime` once at the start of a training or benchmark process (it is
never run on import). Measured on the 2-core reference machine (CTR-GCN, batch 16, T = 64):

* denormal floats appear in the gradients of these models (the graph convs' BatchNorms start at
  weight 1e-6); without flush-to-zero, steps randomly take 2-10x longer;
* glibc returns every large freed block to the OS, so each training step page-faults its
  activations back in (about 10 M minor faults a minute, a third of the time in the kernel).
  Keeping big blocks on the heap (no mmap below 1 GiB, no trimming below 1 GiB) removes that;
  the price is that the process keeps its peak memory.

Together they make a training step about twice as fast as the defaults here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

import torch

from skelpipe.reproducible import ReproducibleModeError, env_mismatches

_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 1 << 30


def tune_glibc_malloc(keep_bytes: int = _KEEP_BYTES) -> bool:
    """Serve allocations below ``keep_bytes`` from the heap and keep freed memory.

    Returns False (and changes nothing) when the C library is not glibc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    ok_mmap = libc.mallopt(_M_MMAP_THRESHOLD, keep_bytes)
    ok_trim = libc.mallopt(_M_TRIM_THRESHOLD, keep_bytes)
    return bool(ok_mmap and ok_trim)


def configure_cpu_runtime(
    num_threads: int | None = None, tune_malloc: bool = True, reproducible: bool = False
) -> dict:
    """Set torch threads, flush denormals to zero and (on glibc) tune the allocator.

    ``reproducible``: require the pinned kernels of :mod:`skelpipe.reproducible` (set by
    ``stages.launch`` before this process imported torch), use deterministic algorithms and
    turn oneDNN and NNPACK off.

    Returns:
        the settings applied, for logging.

    Raises:
        ReproducibleModeError: ``reproducible`` is asked for and the environment is not pinned.
    """
    if reproducible:
        wrong = env_mismatches(os.environ, num_threads or 0)
        if wrong:
            raise ReproducibleModeError(
                "reproducible mode: start the stage through `python -m stages.launch` (it pins "
                f"the CPU kernels before torch is imported), or set reproducible: false; {wrong[0]}"
            )
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        # oneDNN blocks by cache size and NNPACK by its own tiling: neither is pinned by an
        # instruction-set variable, so convolutions run ATen's im2col + GEMM (MKL, COMPATIBLE).
        torch.backends.mkldnn.enabled = False
        torch.backends.nnpack.set_flags(False)
    if num_threads:
        torch.set_num_threads(num_threads)
    flush = torch.set_flush_denormal(True)
    malloc = tune_glibc_malloc() if tune_malloc else False
    return {"threads": torch.get_num_threads(), "flush_denormal": flush, "malloc_tuned": malloc}


def runtime_metrics(reproducible: bool) -> dict:
    """What decides the floating-point bytes of a run, for the stage's metrics JSON."""
    return {
        "reproducible": reproducible,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "mkl_cbwr": os.environ.get("MKL_CBWR", ""),
        "onednn": bool(torch.backends.mkldnn.enabled),
        "nnpack": bool(torch._C._get_nnpack_enabled()),
    }
