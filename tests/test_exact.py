"""skelpipe.exact: agrees with NumPy / BLAS to rounding, and does not depend on memory layout."""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.exact import cross, dot, inv3, matmul, norm, weighted_sum

RTOL = 1e-12

# (a shape, b shape) as the data path uses them
MATMUL_SHAPES = [
    ((3, 3), (3, 3)),  # rotation products (features.rotation_matrix)
    ((7, 3, 3), (7, 3, 3)),  # batched (synth.body)
    ((3, 3), (5, 4, 3, 3)),  # rotation @ joint frames (synth.camera.orientations)
    ((7, 3, 3), (3,)),  # matrices @ vector (synth.body)
    ((7, 3, 3), (7, 3, 1)),  # matrices @ column vectors
    ((3,), (3, 3)),  # vector @ matrix
    ((6, 25, 3), (3, 3)),  # points @ R.T
    ((4, 2, 25, 3), (3, 3)),  # (T, M, V, 3) @ rot.T (features)
    ((7, 3), (3,)),  # spine @ right (synth.render)
    ((3,), (3,)),
]


def _strided(x: np.ndarray) -> np.ndarray:
    """The same values in a non-contiguous (reversed-axes, then transposed back, strided) array."""
    big = np.zeros(x.shape[::-1] + (2,), dtype=x.dtype)
    big[..., 0] = x.T
    view = big[..., 0].T
    assert not view.flags.c_contiguous or x.ndim == 0 or x.size <= 1
    return view


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul_matches_numpy(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    out = matmul(a, b)
    ref = a @ b
    assert np.shape(out) == ref.shape
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=1e-14)


def test_matmul_keeps_float32_and_promotes_mixed() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 2, 25, 3)).astype(np.float32)
    r = rng.normal(size=(3, 3)).astype(np.float32)
    assert matmul(a, r.T).dtype == np.float32
    np.testing.assert_allclose(matmul(a, r.T), a @ r.T, rtol=1e-5, atol=1e-6)
    assert matmul(a, r.astype(np.float64)).dtype == np.float64


def test_matmul_rejects_misaligned() -> None:
    with pytest.raises(ValueError):
        matmul(np.ones((2, 3)), np.ones((2, 3)))


def test_dot_and_norm_match_numpy() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(6, 25, 3)), rng.normal(size=(6, 25, 3))
    np.testing.assert_allclose(dot(a, b), np.sum(a * b, axis=-1), rtol=RTOL)
    np.testing.assert_allclose(dot(a[0, 0], b[0, 0]), np.dot(a[0, 0], b[0, 0]), rtol=RTOL)
    np.testing.assert_allclose(norm(a[0, 0]), np.linalg.norm(a[0, 0]), rtol=RTOL)
    np.testing.assert_allclose(norm(a), np.linalg.norm(a, axis=-1), rtol=RTOL)
    np.testing.assert_allclose(norm(a, axis=1), np.linalg.norm(a, axis=1), rtol=RTOL)
    kept = norm(a, axis=-1, keepdims=True)
    assert kept.shape == (6, 25, 1)
    np.testing.assert_allclose(kept, np.linalg.norm(a, axis=-1, keepdims=True), rtol=RTOL)


def test_cross_is_numpy_cross() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 18, 3)), rng.normal(size=(5, 18, 3))
    np.testing.assert_allclose(cross(a, b), np.cross(a, b), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(cross([0.0, 1.0, 0.0], b), np.cross([0.0, 1.0, 0.0], b))


def test_inv3_inverts() -> None:
    rng = np.random.default_rng(4)
    m = rng.normal(size=(10, 3, 3)) + 3.0 * np.eye(3)
    inv = inv3(m)
    np.testing.assert_allclose(inv, np.linalg.inv(m), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(inv @ m, np.broadcast_to(np.eye(3), m.shape), atol=1e-12)
    np.testing.assert_allclose(inv3(m[0]), np.linalg.inv(m[0]), rtol=1e-11, atol=1e-13)


def test_inv3_of_rotation_is_transpose() -> None:
    q, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(3, 3)))
    np.testing.assert_allclose(inv3(q), q.T, atol=1e-14)


def test_weighted_sum_matches_tensordot() -> None:
    rng = np.random.default_rng(6)
    w, stack = rng.uniform(size=4), rng.normal(size=(4, 30, 12)).astype(np.float32)
    out = weighted_sum(w, stack)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.tensordot(w, stack, axes=1), rtol=RTOL, atol=1e-14)
    one_hot = weighted_sum(np.array([0.0, 1.0, 0.0, 0.0]), stack)
    np.testing.assert_array_equal(one_hot, stack[1])


def test_results_do_not_depend_on_memory_layout() -> None:
    rng = np.random.default_rng(7)
    for sa, sb in MATMUL_SHAPES:
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        np.testing.assert_array_equal(matmul(_strided(a), _strided(b)), matmul(a, b))
    v, u = rng.normal(size=(6, 25, 3)), rng.normal(size=(6, 25, 3))
    np.testing.assert_array_equal(norm(_strided(v)), norm(v))
    np.testing.assert_array_equal(dot(_strided(v), _strided(u)), dot(v, u))
    np.testing.assert_array_equal(cross(_strided(v), _strided(u)), cross(v, u))
    m = rng.normal(size=(10, 3, 3)) + 3.0 * np.eye(3)
    np.testing.assert_array_equal(inv3(_strided(m)), inv3(m))
    np.testing.assert_array_equal(inv3(np.ascontiguousarray(m.T).T), inv3(m))
    w, stack = rng.uniform(size=4), rng.normal(size=(4, 30, 12))
    np.testing.assert_array_equal(
        weighted_sum(_strided(w), _strided(stack)), weighted_sum(w, stack)
    )
