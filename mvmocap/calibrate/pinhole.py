"""``Pinholes``: the cameras being estimated, in ideal centred pixels (NumPy, float64).

A camera maps a world point ``X`` (metres) to ``uv = f * (x / z, y / z)`` with
``(x, y, z) = R @ X + t`` (OpenCV frame). Triangulation is a weighted linear DLT
in NumPy (the same method as :mod:`mvmocap.geometry.triangulation`).

Why calibration keeps this second, smaller camera model beside
:class:`mvmocap.geometry.camera.CameraRig` (the one every other stage uses): the estimation
works on keypoints that were undistorted and centred once at its start, so its cameras have no
principal point, skew or distortion, only ``R``, ``t`` and the focal lengths it estimates; and it
evaluates them thousands of times on tiny arrays inside SciPy's least-squares and RANSAC loops,
which take NumPy float64 arrays and where torch's per-call overhead would dominate. The result
leaves calibration as a ``CameraRig`` (:func:`mvmocap.calibrate.from_joints.calibrate_from_joints`),
with the principal points and distortion put back; nothing outside ``calibrate/`` sees a ``Pinholes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pinholes:
    """C cameras: ``R (C, 3, 3)`` world -> camera, ``t (C, 3)`` metres, ``focal (C, 2)`` pixels."""

    R: np.ndarray
    t: np.ndarray
    focal: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        """``(C, 3)`` camera centres, world frame."""
        return -np.einsum("cji,cj->ci", self.R, self.t)

    def K(self) -> np.ndarray:
        """``(C, 3, 3)`` intrinsics with the principal point at 0."""
        K = np.zeros((len(self.R), 3, 3))
        K[:, 0, 0], K[:, 1, 1], K[:, 2, 2] = self.focal[:, 0], self.focal[:, 1], 1.0
        return K

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points ``(F, J, 3)`` -> camera frames ``(C, F, J, 3)`` metres."""
        return np.matmul(points[None], np.swapaxes(self.R, 1, 2)[:, None]) + self.t[:, None, None, :]

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(F, J, 3)`` -> ideal centred pixels ``(C, F, J, 2)`` (depth clamped at 1 mm)."""
        cam = self.to_camera(points)
        return self.focal[:, None, None, :] * cam[..., :2] / np.maximum(cam[..., 2:], 1e-3)

    def transformed(self, scale: float, Q: np.ndarray, u: np.ndarray) -> "Pinholes":
        """The same cameras after the world moves by ``x' = scale * Q @ x + u``."""
        R = self.R @ Q.T
        return Pinholes(R, scale * self.t - np.einsum("cij,j->ci", R, u), self.focal)


def reprojection_errors(cams: Pinholes, points: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """``points (F, J, 3)`` vs ``uv (C, F, J, 2)`` -> ``(C, F, J)`` pixels."""
    return np.linalg.norm(cams.project(points) - uv, axis=-1)


def _triangulate_linear(cams: Pinholes, xn: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted linear DLT with the homogeneous coordinate fixed to 1.

    ``xn (C, F, J, 2)`` normalised coordinates, ``weight (C, F, J)`` -> ``points (F, J, 3)``, ``ok (F, J)``.
    """
    P = np.concatenate([cams.R, cams.t[:, :, None]], axis=2)  # (C, 3, 4)
    # rows of the DLT system: w * (x P_3 - P_1) and w * (y P_3 - P_2), each (C, F, J, 4)
    rx = weight[..., None] * (xn[..., 0:1] * P[:, None, None, 2] - P[:, None, None, 0])
    ry = weight[..., None] * (xn[..., 1:2] * P[:, None, None, 2] - P[:, None, None, 1])
    # M[f, j] = sum_c rx[c, f, j]^T rx[c, f, j] + (same for ry), as one batched (4, 2C) @ (2C, 4) product
    rows = np.concatenate([rx, ry], axis=0).transpose(1, 2, 3, 0)  # (F, J, 4, 2C)
    M = rows @ np.swapaxes(rows, -1, -2)
    ok = (weight > 0).sum(0) >= 2
    A = M[..., :3, :3] + np.where(ok, 0.0, 1.0)[..., None, None] * np.eye(3)
    det = np.linalg.det(A)
    ok &= np.abs(det) > 1e-12 * np.abs(A).max((-1, -2)) ** 3
    A[~ok] = np.eye(3)
    points = np.linalg.solve(A, -M[..., :3, 3:4])[..., 0]
    return np.where(ok[..., None], points, 0.0), ok


def triangulate(
    cams: Pinholes, uv: np.ndarray, weight: np.ndarray, *, threshold_px: float = 20.0
) -> tuple[np.ndarray, np.ndarray]:
    """Robust triangulation of ``uv (C, F, J, 2)`` with ``weight (C, F, J)``.

    Each point's worst view is dropped while its error exceeds ``threshold_px``
    and more than two views remain (all points in parallel). Returns
    ``points (F, J, 3)`` metres and ``valid (F, J)`` bool (two or more views
    left, all within ``threshold_px``).
    """
    xn = uv / cams.focal[:, None, None, :]
    w = weight.copy()
    for _ in range(max(len(cams.R) - 2, 0)):
        points, ok = _triangulate_linear(cams, xn, w)
        errors = np.where(w > 0, reprojection_errors(cams, points, uv), -1.0)
        worst = errors.argmax(0)
        drop = (errors.max(0) > threshold_px) & ((w > 0).sum(0) > 2)
        if not drop.any():
            break
        f, j = np.nonzero(drop)
        w[worst[f, j], f, j] = 0.0
    points, ok = _triangulate_linear(cams, xn, w)
    errors = np.where(w > 0, reprojection_errors(cams, points, uv), 0.0)
    ok &= errors.max(0) <= threshold_px
    return points, ok


def robust_cost(cams: Pinholes, uv: np.ndarray, weight: np.ndarray, *, cap_px: float = 20.0) -> float:
    """Mean truncated squared reprojection error (pixels^2) after robust triangulation.

    Views a point's triangulation dropped still count, at the cap, so a
    solution cannot look good by explaining few observations.
    """
    points, valid = triangulate(cams, uv, weight, threshold_px=cap_px)
    errors = np.minimum(reprojection_errors(cams, points, uv), cap_px)
    errors = np.where(valid[None], errors, cap_px)
    used = weight > 0
    behind = cams.to_camera(points)[..., 2] <= 0
    errors = np.where(behind, cap_px, errors)
    return float((errors[used] ** 2).mean()) if used.any() else float("inf")


def rodrigues(rotvec: np.ndarray) -> np.ndarray:
    """Axis-angle ``(..., 3)`` radians -> rotation matrices ``(..., 3, 3)``."""
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    axis = rotvec / np.maximum(angle, 1e-300)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(rotvec.shape[:-1] + (3, 3))
    a = angle[..., None]
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


def nearest_rotation(M: np.ndarray) -> np.ndarray:
    """Closest proper rotation (Frobenius) to ``M (..., 3, 3)``."""
    U, _, Vt = np.linalg.svd(M)
    D = np.ones(M.shape[:-1])
    D[..., 2] = np.sign(np.linalg.det(U @ Vt))
    return (U * D[..., None, :]) @ Vt
