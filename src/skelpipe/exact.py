"""CPU-independent small linear algebra for the data path.

NumPy sends ``@``, ``np.dot``, ``np.tensordot``, ``np.linalg.norm`` of 1-D vectors and
``np.linalg.inv`` to OpenBLAS / LAPACK, which picks its kernels by CPU type at run time
(``OPENBLAS_CORETYPE``): the kernels differ in accumulation order and in FMA use, so the same
inputs give results a few ulps apart on different machines, and the synthetic data set and the
aligned samples differ byte for byte between machines.

Everything here is built from element-wise ufuncs (``+ - * /`` and ``sqrt``, each correctly
rounded by IEEE 754, with no fused multiply-add) applied in a fixed order; sums run over
k = 0, 1, 2, ... one term at a time. Each result is therefore exactly determined by its inputs,
on any CPU and for any memory layout. Agreement with BLAS is to rounding (~1e-15 relative in
float64), not bit for bit. The loops run over the short axis only (3 for points, S for streams).
"""

from __future__ import annotations

import numpy as np


def _dtype(*arrays: np.ndarray) -> np.dtype:
    """The float dtype NumPy's matmul would give (integers and bools promote to float64)."""
    dt = np.result_type(*arrays)
    return dt if np.issubdtype(dt, np.inexact) else np.dtype(np.float64)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with NumPy's matmul broadcasting, summed over k in order.

    Shapes: (..., n, k) @ (..., k, m) -> (..., n, m) (batch axes broadcast);
    (..., n, k) @ (k,) -> (..., n); (k,) @ (..., k, m) -> (..., m); (k,) @ (k,) -> ().
    ``points @ R.T`` with points (..., k) and R (m, k) is the first form, -> (..., m).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: scalar operands are not allowed; use *")
    dt = _dtype(a, b)
    a2 = a.astype(dt, copy=False)[None, :] if a.ndim == 1 else a.astype(dt, copy=False)
    b2 = b.astype(dt, copy=False)[:, None] if b.ndim == 1 else b.astype(dt, copy=False)
    k = a2.shape[-1]
    if b2.shape[-2] != k:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align on k")
    out = a2[..., :, 0:1] * b2[..., 0:1, :]  # (..., n, m)
    for i in range(1, k):
        out = out + a2[..., :, i : i + 1] * b2[..., i : i + 1, :]
    if b.ndim == 1:
        out = out[..., 0]
    if a.ndim == 1:
        out = out[..., 0] if b.ndim == 1 else out[..., 0, :]
    return out


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Inner product along the last axis, broadcast: (..., k), (..., k) -> (...)."""
    a, b = np.asarray(a), np.asarray(b)
    dt = _dtype(a, b)
    a, b = a.astype(dt, copy=False), b.astype(dt, copy=False)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"dot: last axes differ: {a.shape} and {b.shape}")
    out = a[..., 0] * b[..., 0]
    for i in range(1, a.shape[-1]):
        out = out + a[..., i] * b[..., i]
    return out


def norm(v: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """Euclidean length along ``axis``: (..., k) -> (...), or (..., 1) with ``keepdims``."""
    v = np.moveaxis(np.asarray(v), axis, -1)
    out = np.sqrt(dot(v, v))
    return np.expand_dims(out, axis) if keepdims else out


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of 3-vectors, broadcast: (..., 3), (..., 3) -> (..., 3)."""
    a, b = np.asarray(a), np.asarray(b)
    dt = _dtype(a, b)
    a, b = a.astype(dt, copy=False), b.astype(dt, copy=False)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def inv3(m: np.ndarray) -> np.ndarray:
    """Inverse of 3x3 matrices by adjugate / determinant: (..., 3, 3) -> (..., 3, 3).

    Rows r0, r1, r2 give the columns r1 x r2, r2 x r0, r0 x r1 over det = r0 . (r1 x r2). A
    singular matrix gives inf / nan (with NumPy's warning); the inputs here are body frames.
    """
    m = np.asarray(m)
    m = m.astype(_dtype(m), copy=False)
    r0, r1, r2 = m[..., 0, :], m[..., 1, :], m[..., 2, :]  # rows, each (..., 3)
    c0, c1, c2 = cross(r1, r2), cross(r2, r0), cross(r0, r1)  # cofactor rows
    det = dot(r0, c0)  # (...)
    adj = np.stack([c0, c1, c2], axis=-1)  # adj[i, j] = cofactor[j, i]
    return adj / det[..., None, None]


def weighted_sum(weights: np.ndarray, stack: np.ndarray) -> np.ndarray:
    """``np.tensordot(weights, stack, axes=1)``: (S,), (S, ...) -> (...), summed s = 0, 1, ..."""
    w, x = np.asarray(weights), np.asarray(stack)
    if w.ndim != 1 or x.shape[0] != w.shape[0]:
        raise ValueError(f"weighted_sum: weights {w.shape} do not match stack {x.shape}")
    dt = _dtype(w, x)
    w, x = w.astype(dt, copy=False), x.astype(dt, copy=False)
    if w.shape[0] == 0:
        return np.zeros(x.shape[1:], dtype=dt)
    out = w[0] * x[0]
    for s in range(1, w.shape[0]):
        out = out + w[s] * x[s]
    return out
