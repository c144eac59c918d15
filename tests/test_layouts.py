"""Invariants of every skeleton layout in ``skelpipe.skeleton.LAYOUTS``, and ``bone_symmetry``."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from skelpipe.skeleton import (
    COCO17,
    COCO_WHOLEBODY133,
    H36M17,
    LAYOUTS,
    NTU25,
    OPENPOSE18,
    UCLA20,
    Layout,
    bone_symmetry,
    get_layout,
)

ALL = pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))

# PYSKL pyskl/utils/graph.py (kennymckormick/pyskl @ 3f6795f), Graph.get_layout: the 0-based
# ``inward`` (child, parent) pairs of the 'coco' and 'openpose' layouts.
PYSKL_COCO_INWARD = [
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6),
    (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2),
]  # fmt: skip
PYSKL_COCO_CENTER = 0
PYSKL_OPENPOSE_INWARD = [
    (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2), (5, 1),
    (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14),
]  # fmt: skip
PYSKL_OPENPOSE_CENTER = 1


def _edge_set(layout: Layout) -> set[tuple[int, int]]:
    return {(int(c), int(p)) for c, p in layout.edges()}


@ALL
def test_one_root_and_one_bone_per_joint(layout: Layout) -> None:
    pairs = np.asarray(layout.bone_pairs)
    V = layout.num_joints
    assert pairs.shape == (V, 2)
    assert (pairs[:, 0] == pairs[:, 1]).sum() == 1  # exactly one root self pair
    assert sorted(pairs[:, 0]) == list(range(1, V + 1))  # every joint is a child exactly once
    assert pairs.min() >= 1 and pairs.max() <= V  # 1-based


@ALL
def test_edges_form_a_tree(layout: Layout) -> None:
    V, edges = layout.num_joints, layout.edges()
    assert edges.shape == (V - 1, 2)
    root = list(range(V))  # union-find: an edge inside one component would close a cycle

    def find(v: int) -> int:
        while root[v] != v:
            v = root[v]
        return v

    for c, p in edges:
        rc, rp = find(int(c)), find(int(p))
        assert rc != rp, f"edge ({c}, {p}) closes a cycle"
        root[rc] = rp
    assert len({find(v) for v in range(V)}) == 1  # connected


@ALL
def test_body_parts_partition_the_joints(layout: Layout) -> None:
    joints = [j for part in layout.body_parts.values() for j in part]
    assert sorted(joints) == list(range(layout.num_joints))


@ALL
def test_mirror_permutation(layout: Layout) -> None:
    perm = layout.mirror_permutation()
    assert sorted(perm) == list(range(layout.num_joints))
    assert np.array_equal(perm[perm], np.arange(layout.num_joints))  # an involution
    for name, left in layout.body_parts.items():  # ``left``: the part itself for a midline one
        if name.startswith("left_"):
            right = layout.body_parts["right_" + name[len("left_") :]]
            assert len(left) == len(right)
            assert perm[list(left)].tolist() == list(right)
        elif not name.startswith("right_"):  # a midline part stays put
            assert perm[list(left)].tolist() == list(left)
    # Mirroring preserves the skeleton, with each bone's direction (child -> parent) too.
    edges = _edge_set(layout)
    assert {(int(perm[c]), int(perm[p])) for c, p in edges} == edges


@ALL
def test_names_and_indices(layout: Layout) -> None:
    V = layout.num_joints
    assert len(set(layout.joint_names)) == V
    assert LAYOUTS[layout.name] is layout and get_layout(layout.name) is layout
    assert 0 <= layout.center < V and layout.max_persons >= 1
    base, top = layout.spine_up
    right, left = layout.hip_line
    assert 0 <= base < V and 0 <= top < V and base != top
    assert 0 <= right < V and 0 <= left < V
    assert layout.mirror_permutation()[right] == left  # the hip line joins mirror joints


def test_coco17_and_openpose18_edges_are_pyskl() -> None:
    assert _edge_set(COCO17) == set(PYSKL_COCO_INWARD)
    assert COCO17.center == PYSKL_COCO_CENTER
    assert _edge_set(OPENPOSE18) == set(PYSKL_OPENPOSE_INWARD)
    assert OPENPOSE18.center == PYSKL_OPENPOSE_CENTER


def test_coco_wholebody133_blocks() -> None:
    W, names = COCO_WHOLEBODY133, COCO_WHOLEBODY133.joint_names
    assert W.num_joints == 133 and names[:17] == COCO17.joint_names
    edges = _edge_set(W)
    assert {e for e in edges if max(e) < 17} == _edge_set(COCO17)
    parent = dict(edges)
    assert [parent[j] for j in range(17, 23)] == [15] * 3 + [16] * 3  # feet on their ankle
    for root, wrist in ((91, 9), (112, 10)):
        assert parent[root] == wrist
        for finger in range(5):  # 4-joint chains, base on the hand root
            chain = [root + 1 + 4 * finger + k for k in range(4)]
            assert [parent[j] for j in chain] == [root, *chain[:3]]
    face = range(23, 91)
    assert all(parent[j] in face or parent[j] == 0 for j in face)  # hung from the nose
    # iBUG 68 mirror pairs, 0-based within the face (as in mmpose's COCO-WholeBody swap table).
    pairs = (
        [(i, 16 - i) for i in range(8)]
        + [(17 + i, 26 - i) for i in range(5)]
        + [(31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
        + [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67)]
    )
    expected = np.arange(68)
    for a, b in pairs:
        expected[a], expected[b] = b, a
    assert np.array_equal(W.mirror_permutation()[23:91] - 23, expected)
    assert np.array_equal(W.mirror_permutation()[91:112], np.arange(112, 133))


# The layouts before the new ones were added: edges as they were, and a hash of repr(layout).
NTU25_EDGES = [
    [0, 1], [1, 20], [2, 20], [3, 2], [4, 20], [5, 4], [6, 5], [7, 6], [8, 20], [9, 8], [10, 9],
    [11, 10], [12, 0], [13, 12], [14, 13], [15, 14], [16, 0], [17, 16], [18, 17], [19, 18],
    [21, 22], [22, 7], [23, 24], [24, 11],
]  # fmt: skip
UCLA20_EDGES = [
    [0, 1], [1, 2], [3, 2], [4, 2], [5, 4], [6, 5], [7, 6], [8, 2], [9, 8], [10, 9], [11, 10],
    [12, 0], [13, 12], [14, 13], [15, 14], [16, 0], [17, 16], [18, 17], [19, 18],
]  # fmt: skip
REPR_SHA256 = {
    "ntu25": "21c601d8695324ace5f3a361c88dfba4428ed2d54ad98575d863bc4268fbd43b",
    "ucla20": "d507c309e0353e7f4d6c0439d28ef5a3777daa9aad6cd48fe9cef67537c9c23d",
}


def test_ntu25_and_ucla20_unchanged() -> None:
    assert NTU25.edges().tolist() == NTU25_EDGES
    assert UCLA20.edges().tolist() == UCLA20_EDGES
    for layout in (NTU25, UCLA20):
        assert layout.shoulder_line == (8, 4)  # added later: the rest of the definition unchanged
        old = repr(layout).replace(f", shoulder_line={layout.shoulder_line!r}", "")
        assert hashlib.sha256(old.encode()).hexdigest() == REPR_SHA256[layout.name]


@ALL
def test_shoulder_line_names_the_right_then_left_shoulder(layout: Layout) -> None:
    right, left = (layout.joint_names[j].lower() for j in layout.shoulder_line)
    assert "shoulder" in right and "shoulder" in left
    assert ("right" in right or right.startswith("r_")) and (
        "left" in left or left.startswith("l_")
    )
    assert layout.mirror_permutation()[layout.shoulder_line[0]] == layout.shoulder_line[1]


def _symmetric_skeleton(layout: Layout, frames: int = 50, seed: int = 0) -> np.ndarray:
    """(frames, V, 3): one random pose plus small per-frame noise, made exactly mirror-symmetric
    in x as (x + mirror(x)) / 2, so each bone has the length of its mirror in every frame."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(layout.num_joints, 3)) + 0.05 * rng.normal(
        size=(frames, layout.num_joints, 3)
    )
    mirrored = x[:, layout.mirror_permutation()] * np.array([-1.0, 1.0, 1.0])
    return (x + mirrored) / 2


@ALL
def test_bone_symmetry_is_one_on_a_symmetric_skeleton(layout: Layout) -> None:
    ratios = bone_symmetry(layout, _symmetric_skeleton(layout))
    assert ratios  # every layout has left/right bones
    assert np.allclose(list(ratios.values()), 1.0, rtol=1e-12, atol=0)


@ALL
def test_bone_symmetry_detects_a_wrong_joint_order(layout: Layout) -> None:
    x = _symmetric_skeleton(layout)
    shoulder, *_, wrist = layout.body_parts["left_arm"]
    x[:, [shoulder, wrist]] = x[:, [wrist, shoulder]]  # the order a faulty importer would give
    ratios = np.array(list(bone_symmetry(layout, x).values()))
    assert np.abs(np.log(ratios)).max() > np.log(1.2)


def test_bone_symmetry_on_h36m17_swapped_knee_and_ankle() -> None:
    # A standing body: legs along -y, arms along +-x; left is +x.
    x = np.zeros((17, 3))
    x[[1, 4], 0] = -0.1, 0.1  # hips
    x[[2, 5]] = x[[1, 4]] + [0, -0.45, 0]  # knees
    x[[3, 6]] = x[[2, 5]] + [0, -0.42, 0]  # ankles
    x[7:11, 1] = 0.25, 0.5, 0.6, 0.7  # spine, thorax, neck / nose, head
    x[[14, 11]] = [[-0.18, 0.5, 0], [0.18, 0.5, 0]]  # shoulders
    x[[15, 12]] = x[[14, 11]] + [[-0.28, 0, 0], [0.28, 0, 0]]  # elbows
    x[[16, 13]] = x[[15, 12]] + [[-0.25, 0, 0], [0.25, 0, 0]]  # wrists
    assert np.allclose(list(bone_symmetry(H36M17, x).values()), 1.0)
    wrong = x[[0, 1, 2, 3, 4, 6, 5, *range(7, 17)]]  # l_knee and l_ankle swapped
    ratios = bone_symmetry(H36M17, wrong)
    assert ratios["l_knee-l_hip"] == pytest.approx(0.87 / 0.45)  # hip -> ankle / thigh
    # A wholly left-right swapped body is its own mirror image: bone_symmetry cannot see it.
    assert np.allclose(list(bone_symmetry(H36M17, x[H36M17.mirror_permutation()]).values()), 1)


def test_bone_symmetry_leaves_out_missing_joints() -> None:
    x = np.repeat(_symmetric_skeleton(COCO17, frames=1), 10, axis=0)  # (10, 17, 3), one pose
    detected = np.ones((10, 17), dtype=bool)
    x[:4, 7], detected[:4, 7] = 99.0, False  # the left elbow is missing in 4 frames
    assert np.allclose(list(bone_symmetry(COCO17, x, detected).values()), 1.0)
    assert not np.allclose(list(bone_symmetry(COCO17, x).values()), 1.0)
    x[:4] = 0  # absent (all-zero) frames are left out by default; (M, T, V, C) works too
    assert np.allclose(list(bone_symmetry(COCO17, x[None]).values()), 1.0)
    assert np.isnan(bone_symmetry(COCO17, np.zeros((3, 17, 2)))["left_elbow-left_shoulder"])
    with pytest.raises(ValueError, match="17"):
        bone_symmetry(COCO17, np.zeros((3, 18, 2)))
