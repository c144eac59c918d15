"""Skeleton layouts: THE one place joints, edges, bone pairs and centre joints live.

Two layouts are defined:

* ``NTU25`` -- Kinect v2, 25 joints, up to 2 persons (NTU RGB+D 60/120). Joint order and
  names follow
  the NTU paper (Shahroudy et al., CVPR 2016); the bone pairs are those of CTR-GCN
  (``feeders/bone_pairs.py``: ``ntu_pairs``), 1-based child -> parent, with the root bone (21, 21).
* ``UCLA20`` -- Kinect v1, 20 joints, 1 person (Northwestern-UCLA). Bone pairs as in CTR-GCN's
  NW-UCLA feeder (1-based, child -> parent, root bone (3, 3)).

Everything downstream (graphs, bone streams, drawings, body-part losses) derives from these tables.
"""

from __future__ import annotations

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
    """

    name: str
    joint_names: tuple[str, ...]
    bone_pairs: tuple[tuple[int, int], ...]
    center: int
    max_persons: int
    body_parts: dict[str, tuple[int, ...]]
    spine_up: tuple[int, int]
    hip_line: tuple[int, int]

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
)

LAYOUTS: dict[str, Layout] = {NTU25.name: NTU25, UCLA20.name: UCLA20}


def get_layout(name: str) -> Layout:
    """Look a layout up by name, with a clear error for unknown names."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton layout {name!r}; known: {sorted(LAYOUTS)}") from None
