"""The reproducible mode of the training stages: the same bytes on any x86-64 CPU with AVX2.

Floating-point results of the same program differ between CPUs because the libraries pick their
kernels by instruction set, cache size, vendor and thread count, and each kernel sums in its own
order. Measured with CTR-GCN (6-20 SGD steps, batch 16, 2 threads), every one of these alone
changed the weights: PyTorch's own kernels (``ATEN_CPU_CAPABILITY`` avx512 vs avx2), oneDNN's
convolutions (``ONEDNN_MAX_CPU_ISA``), MKL's GEMM code path (``MKL_CBWR``), NNPACK's convolutions
and the number of threads.

Pinning an instruction set is not enough across vendors. MKL honours ``MKL_CBWR=AVX2`` only on
Intel CPUs; elsewhere it runs its automatic branch (on an AMD EPYC, ``AVX2``, ``AVX``, ``SSE4_2``
and ``AVX512`` gave the same bytes, ``COMPATIBLE`` others), so an Intel machine and an AMD one
pinned to AVX2 still differ. oneDNN chooses its convolution blocking from the cache sizes, which
no variable pins. The mode therefore uses MKL's ``COMPATIBLE`` branch (the one MKL documents as
identical on every x86 CPU) and turns oneDNN and NNPACK off (:func:`configure_cpu_runtime` in
:mod:`skelpipe.training.runtime`), so convolutions run PyTorch's own im2col + GEMM kernels.

The environment must be set before torch (or numpy, numba) is imported, so :mod:`stages.launch`
sets it when it starts the stage process; the stage then checks it (:func:`env_mismatches`) and
enables deterministic algorithms. The thread count cannot be pinned without costing the run its
cores, so it is a tracked param. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping

# What every x86-64 CPU with AVX2 runs identically, whoever made it.
PINNED: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's vectorised CPU kernels (default: the best found)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (mkldnn) convolution / matmul JIT kernels
    "DNNL_MAX_CPU_ISA": "AVX2",  # ... its older name
    # MKL's vendor-independent branch; strict: the same result for any alignment
    "MKL_CBWR": "COMPATIBLE,STRICT",
    "NUMBA_CPU_NAME": "generic",  # numba code generation (no host-specific instructions)
    "PYTHONHASHSEED": "0",  # set and dict order of strings
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",  # required by deterministic cuBLAS on a GPU
}
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class ReproducibleModeError(RuntimeError):
    """The reproducible mode was asked for but the process does not run under it."""


def reproducible_env(threads: int) -> dict[str, str]:
    """The environment variables of the reproducible mode with ``threads`` intra-op threads.

    Raises:
        ReproducibleModeError: when ``threads`` is 0 (the machine's core count would decide).
    """
    if threads < 1:
        raise ReproducibleModeError(
            "reproducible mode needs an explicit thread count (threads >= 1): the sums of a "
            "multi-threaded kernel depend on how many threads split them"
        )
    return {**PINNED, **{var: str(threads) for var in THREAD_VARS}}


def env_mismatches(environ: Mapping[str, str], threads: int) -> list[str]:
    """The variables of :func:`reproducible_env` that ``environ`` lacks or sets otherwise."""
    expected = reproducible_env(threads)
    return [
        f"{key}={environ.get(key, '<unset>')} (expected {value})"
        for key, value in expected.items()
        if environ.get(key) != value
    ]
