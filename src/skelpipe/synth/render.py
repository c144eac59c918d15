"""What one Kinect reports about one body: joint lines (12 values) and body-info lines (9 values
after the ID), with sensor jitter and tracking states."""

from __future__ import annotations

import numpy as np

from skelpipe.exact import cross, matmul, norm
from skelpipe.synth.camera import Camera, clipped_edges, orientations, project

# Relative chance that a joint is only inferred (trackingState 1): the extremities most often.
_INFERRED_WEIGHT = np.array([
    0.2, 0.2, 0.3, 0.5, 0.6, 1.2, 2.5, 3.0, 0.6, 1.2, 2.5, 3.0, 0.5, 1.0, 2.0, 2.5,
    0.5, 1.0, 2.0, 2.5, 0.2, 3.0, 3.0, 3.0, 3.0,
])  # fmt: skip
_INFERRED_JITTER = 3.0  # inferred joints are noisier
_BLOCK = 5  # frames per tracking-state draw: states come in short runs, not single frames


def tracking_states(rng: np.random.Generator, n_frames: int, rate: float) -> np.ndarray:
    """(T, 25) trackingState, 2 (tracked) or 1 (inferred); about ``rate`` of them are 1."""
    p = np.clip(rate * _INFERRED_WEIGHT / _INFERRED_WEIGHT.mean(), 0.0, 0.9)
    n_blocks = n_frames // _BLOCK + 2
    inferred = rng.random((n_blocks, 25)) < p
    start = int(rng.integers(0, _BLOCK))
    return np.where(np.repeat(inferred, _BLOCK, axis=0)[start : start + n_frames], 1, 2)


def joint_lines(
    rng: np.random.Generator, clean: np.ndarray, quat: np.ndarray, jitter_m: float,
    inferred_rate: float,
) -> np.ndarray:  # fmt: skip
    """The 12 joint values per frame of one body.

    Args:
        clean: (T, 25, 3) noise-free camera-space joints; quat: (T, 25, 4) orientations.

    Returns:
        (T, 25, 12): x y z, depthX depthY, colorX colorY, orientation w x y z, trackingState.
    """
    state = tracking_states(rng, clean.shape[0], inferred_rate)
    sd = jitter_m * np.where(state == 1, _INFERRED_JITTER, 1.0)
    xyz = clean + rng.standard_normal(clean.shape) * sd[..., None]
    return np.concatenate([xyz, project(xyz), quat, state[..., None]], axis=-1)


def hand_states(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """(T, 2) pairs (confidence, state) for one hand; state 0 unknown, 1 not tracked, 2 open,
    3 closed, 4 lasso, changing every few frames."""
    n_blocks = n_frames // 8 + 1
    conf = (rng.random(n_blocks) < 0.65).astype(np.int64)
    state = rng.choice([1, 2, 3, 4], size=n_blocks, p=[0.75, 0.1, 0.12, 0.03])
    pairs = np.stack([conf, np.where(conf == 1, state, rng.integers(0, 2, n_blocks))], -1)
    return np.repeat(pairs, 8, axis=0)[:n_frames]


def info_lines(
    rng: np.random.Generator, joints: np.ndarray, spine: np.ndarray, right: np.ndarray,
    front: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The 9 body-info values after the body ID, per frame.

    Args:
        joints: (T, 25, 12) joint lines (for the clipped edges).
        spine: (T, 3) unit SpineBase -> SpineShoulder; right, front: (3,) the body's heading,
            all in the same frame.

    Returns:
        (T, 9): clippedEdges, handLeftConfidence, handLeftState, handRightConfidence,
        handRightState, isRestricted (0), leanX, leanY (-1..1), trackingState (2).
    """
    n = joints.shape[0]
    lean = np.stack([matmul(spine, right), matmul(spine, front)], -1)  # (T, 2)
    lean = lean + rng.normal(0.0, 0.015, (n, 2))
    return np.concatenate(
        [
            clipped_edges(joints[:, :, 3:5])[:, None],
            hand_states(rng, n),
            hand_states(rng, n),
            np.zeros((n, 1)),
            np.clip(lean, -1.0, 1.0),
            np.full((n, 1), 2.0),
        ],
        axis=1,
    )


def render_body(
    rng: np.random.Generator, cam: Camera, pos: np.ndarray, frames: np.ndarray, front: np.ndarray,
    jitter_m: float, inferred_rate: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Joint lines (T, 25, 12) and info lines (T, 9) of a body seen by ``cam``.

    Args:
        pos: (T, 25, 3) world joints; frames: (T, J, 3, 3) world joint frames
            (:func:`~skelpipe.synth.camera.bone_frames`); front: (3,) the direction the body
            faces at rest, world.
    """
    quat = orientations(frames, cam.rotation)
    joints = joint_lines(rng, cam.to_camera(pos), quat, jitter_m, inferred_rate)
    spine = pos[:, 20] - pos[:, 0]
    spine /= norm(spine, axis=-1, keepdims=True)
    right = cross(front, [0.0, 1.0, 0.0])
    return joints, info_lines(rng, joints, spine, right, front)
