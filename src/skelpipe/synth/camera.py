"""Kinect v2 cameras: placement per setup, camera space, depth / colour projection, joint
orientation quaternions.

World frame: y up, floor at y = 0, the scene centre at the origin. Camera space follows Kinect v2:
z points out of the sensor, y up, x to the sensor's left (right-handed), metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skelpipe.exact import cross, matmul, norm

# Nominal Kinect v2 intrinsics: 512 x 424 depth image, 1920 x 1080 colour image; the colour
# camera sits about 5 cm beside the depth camera.
DEPTH_F, DEPTH_C = 365.5, (256.0, 212.0)
COLOR_F, COLOR_C = 1060.0, (960.0, 540.0)
COLOR_BASELINE = 0.052
DEPTH_SIZE = (512, 424)
LOOK_AT_HEIGHT = 0.95  # cameras aim at the performer's mid-body

# Kinect reports a joint's orientation as the bone to its child (y along the bone); the leaves
# (Head, Feet, HandTips, Thumbs) have none and are written as 0 0 0 0, as in the real files.
CHILD = {
    0: 1, 1: 20, 20: 2, 2: 3, 4: 5, 5: 6, 6: 7, 7: 21, 8: 9, 9: 10, 10: 11, 11: 23,
    12: 13, 13: 14, 14: 15, 16: 17, 17: 18, 18: 19,
}  # fmt: skip


@dataclass(frozen=True)
class Camera:
    """A sensor: world-to-camera rotation (rows = camera x, y, z in world) and position (3,)."""

    rotation: np.ndarray
    position: np.ndarray

    def to_camera(self, p: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> Kinect camera space (..., 3)."""
        return matmul(p - self.position, self.rotation.T)

    def direction(self, v: np.ndarray) -> np.ndarray:
        """World directions (..., 3) -> camera space (..., 3)."""
        return matmul(v, self.rotation.T)


def look_at(position: np.ndarray, target: np.ndarray) -> Camera:
    """A level (no roll) camera at ``position`` aimed at ``target``."""
    z = target - position
    z = z / norm(z)
    x = cross([0.0, 1.0, 0.0], z)
    x = x / norm(x)
    y = cross(z, x)
    return Camera(np.stack([x, y, z]), np.asarray(position, dtype=np.float64))


def setup_cameras(
    rng: np.random.Generator, yaws_deg: tuple[float, ...], height: tuple[float, float],
    distance: tuple[float, float],
) -> list[Camera]:  # fmt: skip
    """The cameras of one setup: same height, about the same distance, at the given yaws.

    A camera at yaw 0 stands in front of a performer facing -z; positive yaws are to the
    performer's left, so a performer turned left by ``yaw`` faces the camera at ``yaw``.
    """
    h = rng.uniform(*height)
    d = rng.uniform(*distance)
    target = np.array([0.0, LOOK_AT_HEIGHT, 0.0])
    cams = []
    for yaw in np.deg2rad(np.asarray(yaws_deg, dtype=np.float64)):
        dist = d + rng.uniform(-0.08, 0.08)
        pos = np.array([-dist * np.sin(yaw), h, -dist * np.cos(yaw)])
        cams.append(look_at(pos, target))
    return cams


def project(p: np.ndarray) -> np.ndarray:
    """Camera-space points (..., 3) -> (..., 4) depthX, depthY, colorX, colorY pixels."""
    x, y, z = p[..., 0], p[..., 1], np.maximum(p[..., 2], 0.1)
    return np.stack(
        [
            DEPTH_C[0] + DEPTH_F * x / z,
            DEPTH_C[1] - DEPTH_F * y / z,
            COLOR_C[0] + COLOR_F * (x + COLOR_BASELINE) / z,
            COLOR_C[1] - COLOR_F * y / z,
        ],
        axis=-1,
    )


def clipped_edges(depth_xy: np.ndarray) -> np.ndarray:
    """Kinect FrameEdges bits per frame from (T, 25, 2) depth pixels: right 1, left 2, top 4,
    bottom 8; (T,) int."""
    x, y = depth_xy[..., 0], depth_xy[..., 1]
    w, h = DEPTH_SIZE
    bits = (x >= w).any(-1) * 1 + (x < 0).any(-1) * 2 + (y < 0).any(-1) * 4 + (y >= h).any(-1) * 8
    return bits.astype(np.int64)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(norm(v, axis=-1, keepdims=True), 1e-9)


def bone_frames(pos: np.ndarray, left: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Kinect-style joint frames: y along the bone to the child, x towards the body's left.

    Args:
        pos: (T, 25, 3) joint positions; left, front: (T, 3) the body's left / front directions.

    Returns:
        (T, J, 3, 3) rotation matrices (columns x, y, z) of the J = 18 joints in :data:`CHILD`.
    """
    joints = np.array(list(CHILD), dtype=np.int64)
    y = _unit(pos[:, [CHILD[j] for j in CHILD]] - pos[:, joints])  # (T, J, 3)
    ref = np.broadcast_to(left[:, None, :], y.shape)
    alt = np.broadcast_to(front[:, None, :], y.shape)
    ref = np.where(np.abs(np.sum(ref * y, -1, keepdims=True)) > 0.95, alt, ref)
    x = _unit(ref - np.sum(ref * y, -1, keepdims=True) * y)
    return np.stack([x, y, cross(x, y)], axis=-1)


def orientations(frames: np.ndarray, rotation: np.ndarray | None = None) -> np.ndarray:
    """Joint orientation quaternions as the file stores them.

    Args:
        frames: (T, J, 3, 3) from :func:`bone_frames`; rotation: (3, 3) applied first (e.g.
            world to camera), or None.

    Returns:
        (T, 25, 4) unit quaternions (w, x, y, z); zeros for the leaf joints, as Kinect writes.
    """
    if rotation is not None:
        frames = matmul(rotation, frames)
    out = np.zeros((frames.shape[0], 25, 4))
    out[:, list(CHILD)] = quaternions(frames)
    return out


def quaternions(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z)."""
    d0, d1, d2 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    q = 0.5 * np.sqrt(
        np.maximum(
            np.stack([1 + d0 + d1 + d2, 1 + d0 - d1 - d2, 1 - d0 + d1 - d2, 1 - d0 - d1 + d2], -1),
            0.0,
        )
    )
    q[..., 1] = np.copysign(q[..., 1], m[..., 2, 1] - m[..., 1, 2])
    q[..., 2] = np.copysign(q[..., 2], m[..., 0, 2] - m[..., 2, 0])
    q[..., 3] = np.copysign(q[..., 3], m[..., 1, 0] - m[..., 0, 1])
    return _unit(q)
