"""Skeleton layouts: THE one place joints, edges, bone pairs and centre joints live.

Layouts (``LAYOUTS`` key -- joints, persons -- source of the joint order and the edges):

* ``ntu25`` -- Kinect v2, 25 joints, up to 2 persons (NTU RGB+D 60/120). Joint order and names
  follow the NTU paper (Shahroudy et al., CVPR 2016); the bone pairs are those of CTR-GCN
  (``feeders/bone_pairs.py``: ``ntu_pairs``), 1-based child -> parent, with the root bone (21, 21).
* ``ucla20`` -- Kinect v1, 20 joints, 1 person (Northwestern-UCLA). Bone pairs as in CTR-GCN's
  NW-UCLA feeder (1-based, child -> parent, root bone (3, 3)).
* ``coco17`` -- COCO keypoints (Lin et al., ECCV 2014), 17 joints, 2 persons; edges and centre
  (nose) are PYSKL's ``coco`` graph (``pyskl/utils/graph.py``, its ``inward`` pairs).
* ``openpose18`` -- OpenPose COCO-18 in the Kinetics-skeleton order of ST-GCN (Yan et al., AAAI
  2018), 2 persons; edges and centre (neck) are PYSKL's ``openpose`` graph, the same as ST-GCN's.
* ``coco_wholebody133`` -- COCO-WholeBody (Jin et al., ECCV 2020): body 0-16 (= ``coco17``),
  feet 17-22, the 68 iBUG / 300-W face landmarks 23-90, left hand 91-111, right hand 112-132;
  2 persons. The dataset publishes no tree, so ours is a spanning tree: the ``coco17`` body, feet
  on their ankle, each hand's root on the body wrist, and the face as open curves on the nose.
* ``mars19`` -- MARS (An and Ogras, mmWave point clouds, Kinect v2 labels): the Kinect v2 joints
  without the six hand joints, 1 person; the tree is Kinect's (``ntu25`` without the hands).
* ``h36m17`` -- Human3.6M 17 joints (Ionescu et al., TPAMI 2014) in the common order of
  VideoPose3D and MM-Fi (Yang et al., NeurIPS 2023), 1 person, rooted at the pelvis. The order
  comes from the convention, not from the data files: check it on real data with
  :func:`bone_symmetry` (every ratio near 1 when left and right joints line up; a wrong order
  gives ratios far from 1). Swapping joints with their own mirrors (one pair, or the whole left
  side for the right) keeps every ratio at 1, so handedness needs a look at a picture.

Everything downstream (graphs, bone streams, drawings, body-part losses) derives from these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """A skeleton layout.

    Attributes:
        name: short identifier used in params and store attributes.
        joint_names: one name per joint, 0-based order.
        bone_pairs: (child, parent) pairs, **1-based** as published; a pair (j, j) is the root.
        center: 0-based index of the joint used as the translation origin (SpineMid for NTU).
        max_persons: persons stored per frame.
        body_parts: named groups of 0-based joints (used by per-part losses and metrics).
        spine_up: (base, top) 0-based joints whose difference is the body's "up" direction.
        hip_line: (right, left) 0-based joints whose difference is the body's lateral axis.
        shoulder_line: (right, left) 0-based shoulder joints (PYSKL PreNormalize3D's x axis).
    """

    name: str
    joint_names: tuple[str, ...]
    bone_pairs: tuple[tuple[int, int], ...]
    center: int
    max_persons: int
    body_parts: dict[str, tuple[int, ...]]
    spine_up: tuple[int, int]
    hip_line: tuple[int, int]
    shoulder_line: tuple[int, int]

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def edges(self) -> np.ndarray:
        """Undirected skeleton edges as 0-based (child, parent) pairs, root self-loop removed.

        Returns:
            int array of shape (V - 1, 2).
        """
        pairs = np.asarray(self.bone_pairs, dtype=np.int64) - 1  # (V, 2)
        return pairs[pairs[:, 0] != pairs[:, 1]]

    def mirror_permutation(self) -> np.ndarray:
        """(V,) joint order of the left-right mirrored skeleton: every ``left_<part>`` joint
        swaps with the joint at the same position of ``right_<part>``; the others stay."""
        perm = np.arange(self.num_joints)
        for name, left in self.body_parts.items():
            if name.startswith("left_"):
                right = self.body_parts["right_" + name[len("left_") :]]
                perm[list(left)], perm[list(right)] = right, left
        return perm

    def bone_index(self) -> tuple[np.ndarray, np.ndarray]:
        """0-based (child, parent) index arrays for the bone stream, one bone per joint.

        The bone of joint v is ``x[v] - x[parent[v]]``; the root's bone is zero, as in CTR-GCN.
        """
        pairs = np.asarray(self.bone_pairs, dtype=np.int64) - 1
        return pairs[:, 0], pairs[:, 1]


def _names(text: str) -> tuple[str, ...]:
    """Joint names from one whitespace-separated string, in order."""
    return tuple(text.split())


def _pairs_from_parents(parents: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """1-based (child, parent) bone pairs from the 0-based parent of each joint (root: itself)."""
    return tuple((v + 1, p + 1) for v, p in enumerate(parents))


# Parent of each joint, 0-based; the root is its own parent.
# PYSKL pyskl/utils/graph.py, layout 'coco': its ``inward`` (child, parent) pairs, root the nose.
_COCO17_PARENTS = (0, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14)
# PYSKL layout 'openpose' (= ST-GCN net/utils/graph.py 'openpose'), root the neck.
_OPENPOSE18_PARENTS = (1, 1, 1, 2, 3, 1, 5, 6, 2, 8, 9, 5, 11, 12, 0, 0, 14, 15)
# Kinect v2's tree (ntu25's bone pairs without the six hand joints), root SpineShoulder.
_MARS19_PARENTS = (1, 18, 18, 2, 18, 4, 5, 18, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 18)
# The common H36M tree (the skeleton parents of VideoPose3D), root the pelvis.
_H36M17_PARENTS = (0, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

# The 68 iBUG / 300-W face landmarks, 0-based within the face, as (subject's right, subject's left)
# mirror pairs; the right comes first in the numbering (jaw 0-7, brow 17-21, eye 36-41), i.e. the
# image's left of a frontal face. Landmarks in no pair lie on the midline. The pairs are the
# ``swap`` entries of mmpose's COCO-WholeBody dataset info (configs/_base_/datasets).
_FACE_MIRROR_PAIRS = (
    [(i, 16 - i) for i in range(8)]  # jaw contour
    + [(17 + i, 26 - i) for i in range(5)]  # eyebrows, outer end first
    + [(31, 35), (32, 34)]  # nostrils
    + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    + [(48, 54), (49, 53), (50, 52), (59, 55), (58, 56)]  # outer lips
    + [(60, 64), (61, 63), (67, 65)]  # inner lips
)
# Open curves of the face tree as (landmarks along the curve, anchor): each joint's parent is its
# neighbour towards the anchor, and the anchor hangs from the body's nose. A curve that crosses
# the midline is cut so that it is its own mirror image (hence the lips as four arcs); the left
# brow and eye are built as the mirror images of the right ones, so mirroring keeps the tree.
_FACE_CURVES = (
    (range(0, 17), 8),  # jaw contour, anchored at the chin
    (range(17, 22), 21),  # right brow, at its inner end
    (range(27, 31), 30),  # nose bridge, at the tip
    (range(31, 36), 33),  # nostrils, at the middle one
    (range(36, 42), 39),  # right eye, at its inner corner
    (range(48, 55), 51),  # upper outer lip, at its middle
    (range(55, 60), 57),  # lower outer lip
    (range(60, 65), 62),  # upper inner lip
    (range(65, 68), 66),  # lower inner lip
)
_FACE0, _LEFT_HAND0, _RIGHT_HAND0 = 23, 91, 112  # first joint of each block in the 133
_NOSE, _LEFT_WRIST, _RIGHT_WRIST, _LEFT_ANKLE, _RIGHT_ANKLE = 0, 9, 10, 15, 16  # coco17 joints


def _face_parents() -> list[int]:
    """(68,) parent of each face landmark, 0-based within the 133 joints."""
    mirror = list(range(68))
    for right, left in _FACE_MIRROR_PAIRS:
        mirror[right], mirror[left] = left, right
    curves = [(list(path), anchor) for path, anchor in _FACE_CURVES]
    curves += [([mirror[j] for j in path], mirror[a]) for path, a in curves if mirror[a] != a]
    parent = [-1] * 68
    for path, anchor in curves:
        a = path.index(anchor)
        parent[anchor] = _NOSE
        for i, j in enumerate(path):
            if i != a:  # the neighbour towards the anchor
                parent[j] = _FACE0 + path[i + 1 if i < a else i - 1]
    return parent


def _hand_parents(first: int, wrist: int) -> list[int]:
    """(21,) parents of a hand: root on the body wrist, then thumb, index, middle, ring and pinky
    of 4 joints each, base to tip, each base on the root."""
    return [wrist] + [first if k % 4 == 1 else first + k - 1 for k in range(1, 21)]


def _hand_names(side: str) -> tuple[str, ...]:
    """The 21 joint names of one hand, as in mmpose's COCO-WholeBody dataset info."""
    fingers = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")
    return (f"{side}_hand_root", *(f"{side}_{f}{k}" for f in fingers for k in range(1, 5)))


def _wholebody_parents() -> tuple[int, ...]:
    """(133,) parent of each COCO-WholeBody joint, 0-based; the nose is the root."""
    feet = [_LEFT_ANKLE] * 3 + [_RIGHT_ANKLE] * 3  # big toe, small toe, heel on the ankle
    return (
        *_COCO17_PARENTS,
        *feet,
        *_face_parents(),
        *_hand_parents(_LEFT_HAND0, _LEFT_WRIST),
        *_hand_parents(_RIGHT_HAND0, _RIGHT_WRIST),
    )


NTU25 = Layout(
    name="ntu25",
    joint_names=(
        "SpineBase",
        "SpineMid",
        "Neck",
        "Head",
        "ShoulderLeft",
        "ElbowLeft",
        "WristLeft",
        "HandLeft",
        "ShoulderRight",
        "ElbowRight",
        "WristRight",
        "HandRight",
        "HipLeft",
        "KneeLeft",
        "AnkleLeft",
        "FootLeft",
        "HipRight",
        "KneeRight",
        "AnkleRight",
        "FootRight",
        "SpineShoulder",
        "HandTipLeft",
        "ThumbLeft",
        "HandTipRight",
        "ThumbRight",
    ),  # fmt: skip
    # CTR-GCN feeders/bone_pairs.py ntu_pairs (1-based, child -> parent).
    bone_pairs=(
        (1, 2),
        (2, 21),
        (3, 21),
        (4, 3),
        (5, 21),
        (6, 5),
        (7, 6),
        (8, 7),
        (9, 21),
        (10, 9),
        (11, 10),
        (12, 11),
        (13, 1),
        (14, 13),
        (15, 14),
        (16, 15),
        (17, 1),
        (18, 17),
        (19, 18),
        (20, 19),
        (22, 23),
        (21, 21),
        (23, 8),
        (24, 25),
        (25, 12),
    ),  # fmt: skip
    center=1,  # J2 SpineMid: the origin of seq_translation in the reference scripts
    max_persons=2,
    body_parts={
        "torso": (0, 1, 2, 20),
        "head": (3,),
        "left_arm": (4, 5, 6),
        "right_arm": (8, 9, 10),
        "left_hand": (7, 21, 22),
        "right_hand": (11, 23, 24),
        "left_leg": (12, 13, 14),
        "right_leg": (16, 17, 18),
        "left_foot": (15,),
        "right_foot": (19,),
    },
    spine_up=(0, 1),  # J1 SpineBase -> J2 SpineMid (InfoGCN align_skeleton)
    hip_line=(16, 12),  # J17 HipRight -> J13 HipLeft
    shoulder_line=(8, 4),  # J9 ShoulderRight -> J5 ShoulderLeft (PYSKL xaxis [8, 4])
)

UCLA20 = Layout(
    name="ucla20",
    joint_names=(
        "HipCenter",
        "Spine",
        "ShoulderCenter",
        "Head",
        "ShoulderLeft",
        "ElbowLeft",
        "WristLeft",
        "HandLeft",
        "ShoulderRight",
        "ElbowRight",
        "WristRight",
        "HandRight",
        "HipLeft",
        "KneeLeft",
        "AnkleLeft",
        "FootLeft",
        "HipRight",
        "KneeRight",
        "AnkleRight",
        "FootRight",
    ),  # fmt: skip
    # CTR-GCN feeders/feeder_ucla.py bone pairs (1-based, child -> parent).
    bone_pairs=(
        (1, 2),
        (2, 3),
        (3, 3),
        (4, 3),
        (5, 3),
        (6, 5),
        (7, 6),
        (8, 7),
        (9, 3),
        (10, 9),
        (11, 10),
        (12, 11),
        (13, 1),
        (14, 13),
        (15, 14),
        (16, 15),
        (17, 1),
        (18, 17),
        (19, 18),
        (20, 19),
    ),  # fmt: skip
    center=1,  # joint 2 (Spine): CTR-GCN's NW-UCLA feeder centres on it
    max_persons=1,
    body_parts={
        "torso": (0, 1, 2),
        "head": (3,),
        "left_arm": (4, 5, 6),
        "right_arm": (8, 9, 10),
        "left_hand": (7,),
        "right_hand": (11,),
        "left_leg": (12, 13, 14),
        "right_leg": (16, 17, 18),
        "left_foot": (15,),
        "right_foot": (19,),
    },
    spine_up=(0, 1),
    hip_line=(16, 12),
    shoulder_line=(8, 4),
)

COCO17 = Layout(
    name="coco17",
    joint_names=_names(
        "nose left_eye right_eye left_ear right_ear left_shoulder right_shoulder left_elbow"
        " right_elbow left_wrist right_wrist left_hip right_hip left_knee right_knee left_ankle"
        " right_ankle"
    ),
    bone_pairs=_pairs_from_parents(_COCO17_PARENTS),
    center=0,  # nose: PYSKL's centre of the 'coco' graph
    max_persons=2,
    body_parts={
        "head": (0,),
        "left_head": (1, 3),  # eye, ear: in left_/right_ parts so that mirroring swaps them
        "right_head": (2, 4),
        "left_arm": (5, 7, 9),
        "right_arm": (6, 8, 10),
        "left_leg": (11, 13, 15),
        "right_leg": (12, 14, 16),
    },
    # No spine joint: "up" runs from the right hip to the right shoulder, parallel to the spine of
    # an upright body; the hip line then gives the lateral axis (Gram-Schmidt against "up").
    spine_up=(12, 6),
    hip_line=(12, 11),
    shoulder_line=(6, 5),
)

OPENPOSE18 = Layout(
    name="openpose18",
    joint_names=_names(
        "nose neck r_shoulder r_elbow r_wrist l_shoulder l_elbow l_wrist r_hip r_knee r_ankle"
        " l_hip l_knee l_ankle r_eye l_eye r_ear l_ear"
    ),
    bone_pairs=_pairs_from_parents(_OPENPOSE18_PARENTS),
    center=1,  # neck: the centre of PYSKL's and ST-GCN's 'openpose' graph
    max_persons=2,  # ST-GCN keeps the 2 most confident persons of a Kinetics clip
    body_parts={
        "head": (0,),
        "torso": (1,),  # the neck, the only trunk joint
        "left_head": (15, 17),  # eye, ear
        "right_head": (14, 16),
        "left_arm": (5, 6, 7),
        "right_arm": (2, 3, 4),
        "left_leg": (11, 12, 13),
        "right_leg": (8, 9, 10),
    },
    # No joint below the neck on the midline: right hip -> right shoulder, as for coco17.
    spine_up=(8, 2),
    hip_line=(8, 11),
    shoulder_line=(2, 5),
)

_FACE_RIGHT = tuple(_FACE0 + right for right, _ in _FACE_MIRROR_PAIRS)
_FACE_LEFT = tuple(_FACE0 + left for _, left in _FACE_MIRROR_PAIRS)
COCO_WHOLEBODY133 = Layout(
    name="coco_wholebody133",
    joint_names=(
        *COCO17.joint_names,
        *_names("left_big_toe left_small_toe left_heel right_big_toe right_small_toe right_heel"),
        *(f"face_{i}" for i in range(68)),
        *_hand_names("left"),
        *_hand_names("right"),
    ),
    bone_pairs=_pairs_from_parents(_wholebody_parents()),
    center=COCO17.center,
    max_persons=2,
    body_parts={
        **COCO17.body_parts,
        "left_foot": (17, 18, 19),
        "right_foot": (20, 21, 22),
        "face": tuple(sorted(set(range(_FACE0, _LEFT_HAND0)) - {*_FACE_LEFT, *_FACE_RIGHT})),
        "left_face": _FACE_LEFT,  # position i mirrors right_face position i
        "right_face": _FACE_RIGHT,
        "left_hand": tuple(range(_LEFT_HAND0, _RIGHT_HAND0)),
        "right_hand": tuple(range(_RIGHT_HAND0, _RIGHT_HAND0 + 21)),
    },
    spine_up=COCO17.spine_up,
    hip_line=COCO17.hip_line,
    shoulder_line=COCO17.shoulder_line,
)

MARS19 = Layout(
    name="mars19",
    joint_names=_names(
        "SpineBase SpineMid Neck Head ShoulderLeft ElbowLeft WristLeft ShoulderRight ElbowRight"
        " WristRight HipLeft KneeLeft AnkleLeft FootLeft HipRight KneeRight AnkleRight FootRight"
        " SpineShoulder"
    ),
    bone_pairs=_pairs_from_parents(_MARS19_PARENTS),
    center=1,  # SpineMid, as for ntu25
    max_persons=1,
    body_parts={
        "torso": (0, 1, 2, 18),
        "head": (3,),
        "left_arm": (4, 5, 6),
        "right_arm": (7, 8, 9),
        "left_leg": (10, 11, 12),
        "right_leg": (14, 15, 16),
        "left_foot": (13,),
        "right_foot": (17,),
    },
    spine_up=(0, 1),  # SpineBase -> SpineMid, as for ntu25
    hip_line=(14, 10),  # HipRight -> HipLeft
    shoulder_line=(7, 4),
)

H36M17 = Layout(
    name="h36m17",
    joint_names=_names(
        "pelvis r_hip r_knee r_ankle l_hip l_knee l_ankle spine thorax neck_nose head"
        " l_shoulder l_elbow l_wrist r_shoulder r_elbow r_wrist"
    ),
    bone_pairs=_pairs_from_parents(_H36M17_PARENTS),  # order: see the module docstring
    center=0,  # pelvis: the root joint H36M poses are expressed relative to
    max_persons=1,
    body_parts={
        "torso": (0, 7, 8),
        "head": (9, 10),
        "left_arm": (11, 12, 13),
        "right_arm": (14, 15, 16),
        "left_leg": (4, 5, 6),
        "right_leg": (1, 2, 3),
    },
    spine_up=(0, 7),  # pelvis -> spine (mid-back), like SpineBase -> SpineMid of ntu25
    hip_line=(1, 4),  # r_hip -> l_hip
    shoulder_line=(14, 11),
)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (NTU25, UCLA20, COCO17, OPENPOSE18, COCO_WHOLEBODY133, MARS19, H36M17)
}
# Layouts of image keypoints (x, y in pixels): with a third channel, that channel is the score.
IMAGE_LAYOUTS = frozenset({COCO17.name, OPENPOSE18.name, COCO_WHOLEBODY133.name})


def get_layout(name: str) -> Layout:
    """Look a layout up by name, with a clear error for unknown names."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton layout {name!r}; known: {sorted(LAYOUTS)}") from None


def bone_symmetry(
    layout: Layout, joints: np.ndarray, present: np.ndarray | None = None
) -> dict[str, float]:
    """Left / right ratio of the mean length of each bone and its mirror image.

    A check of a joint order on real data: with the right order every ratio is near 1; a joint
    put in the wrong slot makes the bones at it differ from their mirrors (ratios far from 1).
    E.g. ``bone_symmetry(H36M17, mmfi_joints)`` checks that MM-Fi uses the common H36M order.
    Blind to a joint swapped with its own mirror joint: that keeps every ratio at 1.

    Args:
        layout: the layout the joints are claimed to follow.
        joints: (..., V, C) coordinates, any leading axes (persons, frames, samples).
        present: (..., V) bool, the joints that were detected (e.g. ``score > 0``); a bone with
            a missing end is left out. Default: every joint of a (person, frame) entry that is
            not all zeros (the store's convention for absent entries).
    Returns:
        ``{"<child>-<parent>" of the left bone: mean left length / mean right length}`` for every
        bone that is not its own mirror image; NaN where a side has no present bone.
    """
    x = np.asarray(joints, dtype=np.float64)
    if x.ndim < 2 or x.shape[-2] != layout.num_joints:
        raise ValueError(f"joints {x.shape} are not (..., {layout.num_joints}, C)")
    if present is None:
        present = np.broadcast_to(np.any(x != 0, axis=(-2, -1))[..., None], x.shape[:-1])
    x = x.reshape(-1, *x.shape[-2:])  # (N, V, C)
    present = np.asarray(present, dtype=bool).reshape(x.shape[:-1])  # (N, V)
    perm = layout.mirror_permutation()
    left = np.zeros(layout.num_joints, dtype=bool)  # (V,) joints of a left_* part
    for name, part in layout.body_parts.items():
        if name.startswith("left_"):
            left[list(part)] = True
    names = layout.joint_names
    ratios = {}
    for child, parent in layout.edges():
        if not (left[child] or left[parent]) or {perm[child], perm[parent]} == {child, parent}:
            continue  # a right bone (measured with its left mirror) or a midline one
        own = _mean_length(x, present, child, parent)
        mirrored = _mean_length(x, present, perm[child], perm[parent])
        ratios[f"{names[child]}-{names[parent]}"] = own / mirrored if mirrored > 0 else float("nan")
    return ratios


def _mean_length(x: np.ndarray, present: np.ndarray, a: int, b: int) -> float:
    """Mean distance between joints a and b of x (N, V, C) over rows where both are present."""
    both = present[:, a] & present[:, b]
    if not both.any():
        return float("nan")
    return float(np.sqrt(((x[both, a] - x[both, b]) ** 2).sum(axis=-1)).mean())
