"""Skeleton adjacency matrices, built from the edge lists of :mod:`skelpipe.skeleton`.

Conventions follow the official graph tools that the models were published with
(ST-GCN ``net/utils/graph.py``, CTR-GCN / InfoGCN ``graph/tools.py``, PYSKL ``utils/graph.py``):

* ``edge_matrix(links, V)[j, i] = 1`` for every directed link ``(i, j)``;
* *inward* links run child -> parent (towards the root), *outward* links parent -> child;
* ``normalize_columns(A) = A @ diag(1 / column sums)`` (empty columns stay zero), so every
  non-empty column sums to one.

A model aggregating ``out[w] = sum_v x[v] A[v, w]`` (ST-GCN, PYSKL) therefore averages over the
neighbours of ``w``; CTR-GCN and InfoGCN contract the other index (``out[u] = sum_v A[u, v] x[v]``)
with the very same matrices, exactly as their official code does.

Nothing here redefines a skeleton: joints and edges come from ``Layout.edges()``; the root is the
joint whose published bone pair is a self-loop (``(21, 21)`` SpineShoulder for NTU, ``(3, 3)``
ShoulderCenter for NW-UCLA), which is also the centre joint ST-GCN's NTU graph uses.
"""

from __future__ import annotations

import numpy as np

from skelpipe.skeleton import Layout


def root_joint(layout: Layout) -> int:
    """0-based joint whose bone pair is a self-loop (the root of the published bone tree)."""
    roots = [a - 1 for a, b in layout.bone_pairs if a == b]
    if len(roots) != 1:
        raise ValueError(f"layout {layout.name!r} has {len(roots)} root bones, expected 1")
    return roots[0]


def edge_matrix(links: np.ndarray | list[tuple[int, int]], num_joints: int) -> np.ndarray:
    """Binary (V, V) matrix with ``A[j, i] = 1`` for each directed link ``(i, j)``."""
    A = np.zeros((num_joints, num_joints), dtype=np.float64)
    for i, j in links:
        A[j, i] = 1.0
    return A


def normalize_columns(A: np.ndarray) -> np.ndarray:
    """``A @ diag(1 / column sums)``; columns summing to zero are left at zero."""
    col = A.sum(axis=0)
    scale = np.divide(1.0, col, out=np.zeros_like(col), where=col > 0)
    return A * scale[None, :]


def adjacency(layout: Layout) -> np.ndarray:
    """Symmetric binary (V, V) skeleton adjacency without self-loops."""
    inward = layout.edges()
    return edge_matrix(inward, layout.num_joints) + edge_matrix(inward[:, ::-1], layout.num_joints)


def hop_distance(layout: Layout, max_hop: int) -> np.ndarray:
    """(V, V) graph distance between joints, ``inf`` beyond ``max_hop`` (ST-GCN's hop_dis)."""
    V = layout.num_joints
    reach = adjacency(layout) + np.eye(V)
    dist = np.full((V, V), np.inf)
    power = np.eye(V)
    arrive = [power > 0]
    for _ in range(max_hop):
        power = power @ reach
        arrive.append(power > 0)
    for d in range(max_hop, -1, -1):
        dist[arrive[d]] = d
    return dist


def spatial_partition(layout: Layout) -> np.ndarray:
    """(3, V, V) [identity, inward, outward], column-normalised (CTR-GCN / PYSKL ``spatial``)."""
    V = layout.num_joints
    inward = layout.edges()
    return np.stack(
        [
            np.eye(V),
            normalize_columns(edge_matrix(inward, V)),
            normalize_columns(edge_matrix(inward[:, ::-1], V)),
        ]
    )


def distance_partition(layout: Layout, center: int | None = None, max_hop: int = 1) -> np.ndarray:
    """ST-GCN's ``spatial`` strategy (PYSKL ``stgcn_spatial``): root / centripetal / centrifugal.

    The column-normalised (A + I) restricted to ``max_hop`` is split by comparing each neighbour's
    hop distance to ``center`` with that of the receiving joint: closer-or-equal neighbours (and the
    joint itself) go to the first subset of each hop, farther ones to the second. The subsets sum
    to the normalised adjacency, so every column of the sum adds up to one. As in the official
    code, distances to the centre are themselves capped at ``max_hop`` (``inf`` beyond, and
    ``inf >= inf``), so away from the centre every neighbour falls in the first subset.

    Returns:
        (1 + 2 * max_hop, V, V) array.
    """
    center = root_joint(layout) if center is None else center
    dist = hop_distance(layout, max_hop)
    norm = normalize_columns((dist <= max_hop).astype(np.float64))
    subsets = []
    for hop in range(max_hop + 1):
        at_hop = dist == hop  # [j, i]
        # PYSKL's a_close: neighbour j at least as far from the centre as receiving joint i
        close = dist[:, center][:, None] >= dist[:, center][None, :]
        subsets.append(np.where(at_hop & close, norm, 0.0))
        if hop > 0:
            subsets.append(np.where(at_hop & ~close, norm, 0.0))
    return np.stack(subsets)


def k_hop(A: np.ndarray, k: int) -> np.ndarray:
    """Binary matrix of joints exactly ``k`` hops apart in the binary graph ``A`` (MS-G3D style)."""
    V = len(A)
    reach = A + np.eye(V)
    if k == 0:
        return np.eye(V)
    within_k = np.minimum(np.linalg.matrix_power(reach, k), 1)
    within_k_1 = np.minimum(np.linalg.matrix_power(reach, k - 1), 1)
    return within_k - within_k_1


def parents(layout: Layout, root: int) -> np.ndarray:
    """Parent of each joint in the skeleton tree re-rooted at ``root`` (the root's parent is -1)."""
    V = layout.num_joints
    adj = adjacency(layout)
    parent = np.full(V, -2, dtype=np.int64)
    parent[root] = -1
    frontier = [root]
    while frontier:
        nxt = []
        for p in frontier:
            for c in np.flatnonzero(adj[p]):
                if parent[c] == -2:
                    parent[c] = p
                    nxt.append(c)
        frontier = nxt
    if (parent == -2).any():
        raise ValueError(f"layout {layout.name!r} skeleton is not connected")
    return parent


def relative_mode(layout: Layout, k: int, root: int | None = None) -> np.ndarray:
    """InfoGCN's k-th mode representation matrix ``I - A_out^k`` (V, V).

    ``A_out[v, parent(v)] = 1`` in the tree rooted at ``root`` (default ``layout.center``,
    SpineMid for NTU, the root of InfoGCN's NTU graph). Applied to joint positions
    (``x' = M @ x``) it yields ``x_v - x_{k-th ancestor of v}``; joints with no k-th ancestor keep
    their absolute position, so ``k`` larger than the tree depth gives back the joints.
    """
    if k < 1:
        raise ValueError("k must be >= 1 (k = 0 would zero the input)")
    root = layout.center if root is None else root
    parent = parents(layout, root)
    V = layout.num_joints
    a_out = np.zeros((V, V))
    child = np.flatnonzero(parent >= 0)
    a_out[child, parent[child]] = 1.0
    return np.eye(V) - np.linalg.matrix_power(a_out, k)
