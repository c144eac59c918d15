"""Sequence alignment: translation (CTR-GCN ``seq_translation``), InfoGCN's ground alignment
(``utils.align_skeleton``), second-actor padding (``align_frames``) and PYSKL's ``PreNormalize3D``
(:func:`prenormalize_3d`), on one sample at a time; image coordinates get PYSKL's
``PreNormalize2D`` (:func:`prenormalize_2d`) instead.

Shapes: a sample is ``(T, M, V, 3)`` float32 (M = 2 for NTU), or ``(T, M, V, 2)`` pixels for 2-D
coordinates; ``n_actors`` tells how many person slots the denoiser filled (the reference's 75 or
150 columns).

Reference-mode quirks reproduced (``mode: reference``) and corrected (``mode: fixed``):

* ``ground_mirror``: InfoGCN's rotation ``R = [v2 | v2 x v1 | v1]`` has det -1 (a
  mirror); fixed mode
  uses ``[v2 | v1 x v2 | v1]``, a proper rotation.
* ``ground_first_present``: InfoGCN reads each person's frame 0 only, so a person absent in frame 0
  becomes all zeros; fixed mode uses the person's first present frame.
* ``missing_all_zero``: absence is ``row.sum() == 0`` in the reference, an all-zero row when fixed.
"""

from __future__ import annotations

import numpy as np

from skelpipe.exact import cross, dot, inv3, matmul, norm
from skelpipe.params import AlignParams
from skelpipe.skeleton import Layout


def absent_frames(joints: np.ndarray, person: int, reference: bool) -> np.ndarray:
    """(T,) bool: frames where ``person`` has no data (reference: its values sum to 0)."""
    flat = joints[:, person].reshape(joints.shape[0], -1)  # (T, V*3)
    if reference:
        return flat.sum(axis=1) == 0
    return ~np.any(flat != 0, axis=1)


def center_on_joint(joints: np.ndarray, n_actors: int, joint: int, reference: bool) -> np.ndarray:
    """Subtract actor 1's ``joint`` in its first present frame from every joint of every frame.

    Frames where an actor was absent are re-zeroed afterwards (as ``seq_translation`` does for
    two-actor samples). Arithmetic stays float32, so the result is bit-identical to the reference.
    """
    out = joints.copy()
    present = np.flatnonzero(np.any(joints[:, 0].reshape(joints.shape[0], -1) != 0, axis=1))
    if present.size == 0:
        return out
    origin = joints[present[0], 0, joint].copy()  # (3,) float32
    absent = [absent_frames(joints, p, reference) for p in range(n_actors)]
    out[:, :n_actors] -= origin
    if n_actors > 1:
        for p in range(n_actors):
            out[absent[p], p] = 0
    return out


def pad_second_actor(joints: np.ndarray, n_actors: int, how: str) -> np.ndarray:
    """Fill the empty second slot of a one-actor sample: ``zeros`` (NTU60) or ``copy`` (NTU120)."""
    if n_actors >= joints.shape[1] or how == "zeros":
        return joints
    out = joints.copy()
    out[:, n_actors:] = joints[:, :1]
    return out


def ground_rotation(frame: np.ndarray, layout: Layout, mirror: bool) -> np.ndarray | None:
    """Rotation whose columns are the body's lateral, frontal and up axes, from one frame (V, 3).

    Returns None when the spine has zero length (the reference then leaves the person all zeros).
    """
    base, top = layout.spine_up
    right, left = layout.hip_line
    v1 = frame[top].astype(np.float64) - frame[base]
    n1 = norm(v1)
    if n1 <= 0.0:
        return None
    v1 /= n1
    hips = frame[left].astype(np.float64) - frame[right]
    v2 = hips - dot(v1, hips) * v1
    v2 /= norm(v2)
    v3 = cross(v2, v1) if mirror else cross(v1, v2)
    v3 /= norm(v3)
    return np.stack([v2, v3, v1], axis=1)  # (3, 3) columns


def align_to_ground(joints: np.ndarray, layout: Layout, reference: bool) -> np.ndarray:
    """InfoGCN ``align_skeleton``: rotate each person by the inverse of its own body frame.

    Reference mode uses frame 0 and the mirrored frame; a person whose frame-0 spine is degenerate
    becomes zeros. Fixed mode uses the person's first present frame and a proper rotation.
    """
    out = np.zeros_like(joints)
    for p in range(joints.shape[1]):
        person = joints[:, p]  # (T, V, 3)
        if reference:
            t0 = 0
        else:
            present = np.flatnonzero(np.any(person.reshape(person.shape[0], -1) != 0, axis=1))
            if present.size == 0:
                continue
            t0 = int(present[0])
        rot = ground_rotation(person[t0], layout, mirror=reference)
        if rot is None:
            if not reference:
                out[:, p] = person
            continue
        out[:, p] = matmul(person.astype(np.float64), inv3(rot).T).astype(np.float32)
    return out


def rotation_onto(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(3, 3) rotation R with ``R @ u`` along ``target`` about the axis ``u x target``.

    PYSKL builds it from ``arccos`` and the Euler-Rodrigues formula; the same matrix is
    ``I + K + K^2 / (1 + cos)`` with ``K`` the cross-product matrix of ``u x target`` (unit
    vectors), which needs no transcendental function (whose last bit can differ between CPUs). As
    PYSKL, the identity when ``u`` is zero, parallel or antiparallel to ``target`` (a zero axis).
    """
    u = np.asarray(u, dtype=np.float64)
    axis = cross(u, target)
    if np.abs(axis).sum() < 1e-6 or np.abs(u).sum() < 1e-6:
        return np.eye(3)
    k = axis / norm(u)  # u x target of the unit vectors; |k| = sin(angle)
    c = dot(u, target) / norm(u)
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + K + matmul(K, K) / (1.0 + c)


def prenormalize_3d(joints: np.ndarray, layout: Layout) -> np.ndarray:
    """PYSKL ``PreNormalize3D`` (after 2s-AGCN): main person first, its frames only, centred,
    spine along z, shoulders along x.

    The person slot with more present frames becomes slot 0 and only its present frames are kept;
    everything is translated by its ``layout.center`` joint in the first kept frame (absent joints
    stay zero); then rotated so that its ``spine_up`` bone points along +z, then so that its
    right-to-left ``shoulder_line`` points along +x (two rotations, in that order, from that frame).

    Args:
        joints: (T, M, V, 3) float32, M <= 2.
    Returns:
        (T', M, V, 3) float32 with T' the main person's present frames (T' = T if none).
    """
    present = [~absent_frames(joints, p, reference=False) for p in range(joints.shape[1])]
    if not any(mask.any() for mask in present):
        return joints.copy()
    main = 1 if len(present) > 1 and present[1].sum() > present[0].sum() else 0
    order = [main] + [p for p in range(joints.shape[1]) if p != main]
    x = joints[present[main]][:, order].astype(np.float64)  # (T', M, V, 3)
    mask = np.any(x != 0, axis=-1, keepdims=True)
    x = (x - x[0, 0, layout.center]) * mask
    base, top = layout.spine_up
    x = matmul(x, rotation_onto(x[0, 0, top] - x[0, 0, base], np.array([0.0, 0.0, 1.0])).T)
    right, left = layout.shoulder_line
    x = matmul(x, rotation_onto(x[0, 0, right] - x[0, 0, left], np.array([1.0, 0.0, 0.0])).T)
    return x.astype(np.float32)


def prenormalize_2d(joints: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """PYSKL ``PreNormalize2D`` (mode ``fix``): pixels -> [-1, 1] by the image (height, width),
    ``(x - w / 2) / (w / 2)``, ``(y - h / 2) / (h / 2)`` in float32 as PYSKL computes them.

    Unlike PYSKL (which maps every value, padding included), a joint with no data, (0, 0), stays
    zero, so absence keeps meaning zeros downstream.

    Args:
        joints: (T, M, V, 2) float32 pixels.
    """
    h, w = image_size
    out = joints.astype(np.float32)  # a copy
    present = np.any(joints != 0, axis=-1)  # (T, M, V)
    x, y = out[..., 0], out[..., 1]
    out[..., 0] = np.where(present, (x - (w / 2)) / (w / 2), 0)
    out[..., 1] = np.where(present, (y - (h / 2)) / (h / 2), 0)
    return out


def align_sample(
    joints: np.ndarray,
    n_actors: int,
    params: AlignParams,
    layout: Layout,
    image_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Apply the align stage to one sample ``(T, M, V, C)``; returns a new array.

    x, y, z (C = 3) get the translation / ground / PreNormalize3D steps ``params`` switch on;
    image coordinates (C = 2, ``image_size`` (height, width) given) get :func:`prenormalize_2d`.
    Both then get the second-actor padding.
    """
    if image_size is not None:
        return pad_second_actor(
            prenormalize_2d(joints, image_size), n_actors, params.pad_second_actor
        )
    ref = params.mode == "reference"
    out = joints
    if params.center:
        out = center_on_joint(out, n_actors, layout.center, ref)
    out = pad_second_actor(out, n_actors, params.pad_second_actor)
    if params.ground:
        out = align_to_ground(out, layout, ref)
    if params.prenormalize:
        out = prenormalize_3d(out, layout)
    return out


# PYSKL PreNormalize2D: keypoints with a score at or below this are left out (and zeroed)
SCORE_THRESHOLD = 0.01


def prenormalize_2d_auto(joints: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """PYSKL ``PreNormalize2D`` (mode ``auto``) for keypoints of an unknown image: centre on the
    box of the ``valid`` joints and scale it to [-1, 1] per axis, when the box is wider and
    higher than 10 units; otherwise the values are kept. Joints not ``valid`` become zero.

    Args:
        joints: (T, M, V, 2) float32; valid: (T, M, V) bool.
    """
    out = np.where(valid[..., None], joints, 0).astype(np.float32)
    if not valid.any():
        return out
    pts = joints[valid]  # (n, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if (hi - lo > 10).all():
        mid, half = (hi + lo) / 2, (hi - lo) / 2
        out = np.where(valid[..., None], (joints - mid) / half, 0).astype(np.float32)
    return out


def align_keypoints(
    keypoint: np.ndarray,
    score: np.ndarray | None,
    img_shape: tuple[int, int] | None,
    params: AlignParams,
    layout: Layout,
) -> np.ndarray:
    """The align stage on one imported sample ``(M, T, V, C)`` (M = the persons it has).

    x, y, z: :func:`align_sample` with ``params`` (the person slots are the sample's own, so
    ``pad_second_actor`` has nothing to fill). Image coordinates: PYSKL ``PreNormalize2D``,
    mode ``fix`` (:func:`prenormalize_2d`) when the image size is known, else ``auto``
    (:func:`prenormalize_2d_auto`); keypoints scored at or below :data:`SCORE_THRESHOLD` are
    zeroed first, as PYSKL masks them.
    """
    joints = keypoint.transpose(1, 0, 2, 3).astype(np.float32)  # (T, M, V, C)
    m = joints.shape[1]
    if joints.shape[-1] == 3:
        out = align_sample(joints, m, params, layout)
    else:
        valid = np.any(joints != 0, axis=-1)
        if score is not None:
            valid &= score.transpose(1, 0, 2) > SCORE_THRESHOLD
        if img_shape is not None:
            out = prenormalize_2d(np.where(valid[..., None], joints, 0), img_shape)
        else:
            out = prenormalize_2d_auto(joints, valid)
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3))
