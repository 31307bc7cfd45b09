"""Pinhole projection with OpenCV's radial-tangential distortion, and its inverse.

Convention: ``x_cam = R @ x_world + t`` (OpenCV frame: x right, y down,
z forward), metres; pixels with K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]];
distortion ``dist = (k1, k2, p1, p2, k3)``.

Shapes broadcast: camera parameters carry leading dims that broadcast against
the points' leading dims *excluding* the point dim N. For a rig of C cameras and
points ``(..., C, N, 3)`` pass ``K (C, 3, 3)``, ``R (C, 3, 3)``, ``t (C, 3)``.
"""

from __future__ import annotations

import torch
from torch import Tensor


def world_to_camera(points_world: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """World points ``(..., N, 3)`` m -> camera-frame points ``(..., N, 3)`` m.

    ``R (..., 3, 3)`` and ``t (..., 3)`` are world -> camera.
    """
    return points_world @ R.transpose(-1, -2) + t.unsqueeze(-2)


def camera_centers(R: Tensor, t: Tensor) -> Tensor:
    """Camera centres in the world ``(..., 3)`` m from ``R (..., 3, 3)``, ``t (..., 3)``: ``C = -R^T t``."""
    return -(R.transpose(-1, -2) @ t.unsqueeze(-1)).squeeze(-1)


def distort_normalized(xy: Tensor, dist: Tensor) -> Tensor:
    """Apply distortion to normalised image coordinates ``(..., N, 2)`` -> ``(..., N, 2)``.

    ``dist (..., 5)`` = (k1, k2, p1, p2, k3), OpenCV's model.
    """
    k1, k2, p1, p2, k3 = (dist[..., i : i + 1] for i in range(5))  # each (..., 1)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return torch.stack([xd, yd], dim=-1)


def distortion_jacobian(xy: Tensor, dist: Tensor) -> Tensor:
    """Derivative ``(..., N, 2, 2)`` of :func:`distort_normalized` at ``xy (..., N, 2)`` with respect
    to the undistorted coordinates (``dist (..., 5)`` as there)."""
    k1, k2, p1, p2, k3 = (dist[..., i : i + 1] for i in range(5))  # each (..., 1)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    d_radial_d_r2 = k1 + r2 * (2 * k2 + 3 * k3 * r2)
    dxd_dx = radial + 2 * x * x * d_radial_d_r2 + 2 * p1 * y + 6 * p2 * x
    dxd_dy = 2 * x * y * d_radial_d_r2 + 2 * p1 * x + 2 * p2 * y  # = dyd_dx
    dyd_dy = radial + 2 * y * y * d_radial_d_r2 + 6 * p1 * y + 2 * p2 * x
    return torch.stack([torch.stack([dxd_dx, dxd_dy], -1), torch.stack([dxd_dy, dyd_dy], -1)], -2)


def normalized_to_pixels(xy: Tensor, K: Tensor) -> Tensor:
    """Normalised coordinates ``(..., N, 2)`` -> pixels ``(..., N, 2)`` with ``K (..., 3, 3)``."""
    fx, s, cx = K[..., 0, 0, None], K[..., 0, 1, None], K[..., 0, 2, None]
    fy, cy = K[..., 1, 1, None], K[..., 1, 2, None]
    u = fx * xy[..., 0] + s * xy[..., 1] + cx
    v = fy * xy[..., 1] + cy
    return torch.stack([u, v], dim=-1)


def pixels_to_normalized(uv: Tensor, K: Tensor) -> Tensor:
    """Pixels ``(..., N, 2)`` -> (still distorted) normalised coordinates ``(..., N, 2)``."""
    fx, s, cx = K[..., 0, 0, None], K[..., 0, 1, None], K[..., 0, 2, None]
    fy, cy = K[..., 1, 1, None], K[..., 1, 2, None]
    y = (uv[..., 1] - cy) / fy
    x = (uv[..., 0] - cx - s * y) / fx
    return torch.stack([x, y], dim=-1)


def _normalized(points_world: Tensor, R: Tensor, t: Tensor, min_depth: float) -> tuple[Tensor, Tensor, Tensor]:
    """Normalised image coordinates ``(..., N, 2)`` of world points ``(..., N, 3)``, the depth they
    were divided by ``(..., N)`` (clamped to ``min_depth``) and where it was clamped ``(..., N)``."""
    cam = world_to_camera(points_world, R, t)
    depth = cam[..., 2].clamp(min=min_depth)
    return cam[..., :2] / depth[..., None], depth, cam[..., 2] < min_depth


def project_points(
    points_world: Tensor,
    K: Tensor,
    dist: Tensor | None,
    R: Tensor,
    t: Tensor,
    *,
    min_depth: float = 1e-6,
) -> Tensor:
    """Project world points ``(..., N, 3)`` m to pixels ``(..., N, 2)``.

    Args:
        points_world: ``(..., N, 3)`` metres, world frame.
        K: ``(..., 3, 3)`` intrinsics in pixels.
        dist: ``(..., 5)`` (k1, k2, p1, p2, k3) or None for no distortion.
        R, t: ``(..., 3, 3)``, ``(..., 3)`` world -> camera.
        min_depth: depths are clamped to this many metres before division, so
            points behind the camera give finite (meaningless) pixels, never NaN.
            Use :func:`world_to_camera` to test visibility.
    """
    xy = _normalized(points_world, R, t, min_depth)[0]
    if dist is not None:
        xy = distort_normalized(xy, dist)
    return normalized_to_pixels(xy, K)


def project_points_jacobian(
    points_world: Tensor,
    K: Tensor,
    dist: Tensor | None,
    R: Tensor,
    t: Tensor,
    *,
    min_depth: float = 1e-6,
) -> tuple[Tensor, Tensor]:
    """:func:`project_points` ``(..., N, 2)`` px and its derivative with respect to each world point
    ``(..., N, 2, 3)`` px/m, in closed form (same arguments). Where the depth is clamped the
    derivative is that of the clamped projection (zero along the depth)."""
    xy, depth, clamped = _normalized(points_world, R, t, min_depth)
    inv = 1 / depth
    zero = torch.zeros_like(inv)
    # d(x, y) / d(cam): (..., N, 2, 3)
    d_xy = torch.stack([torch.stack([inv, zero, torch.where(clamped, zero, -xy[..., 0] * inv)], -1),
                        torch.stack([zero, inv, torch.where(clamped, zero, -xy[..., 1] * inv)], -1)], -2)
    if dist is not None:
        d_xy = distortion_jacobian(xy, dist) @ d_xy
        xy = distort_normalized(xy, dist)
    fx, s, fy = K[..., 0, 0, None, None], K[..., 0, 1, None, None], K[..., 1, 1, None, None]
    d_pixels = torch.stack([fx * d_xy[..., 0, :] + s * d_xy[..., 1, :], fy * d_xy[..., 1, :]], -2)
    # the chain through x_cam = R x_world + t: (..., N, 2, 3) @ (..., 1, 3, 3)
    return normalized_to_pixels(xy, K), d_pixels @ R.unsqueeze(-3)


def undistort_points(
    points_px: Tensor, K: Tensor, dist: Tensor | None, *, iterations: int = 20
) -> Tensor:
    """Pixels ``(..., N, 2)`` -> undistorted normalised coordinates ``(..., N, 2)``.

    Inverts :func:`distort_normalized` by fixed-point iteration, as
    ``cv2.undistortPoints`` does (which stops after 5 iterations by default;
    20 converge to ~1e-12 for the mild distortions of real lenses).
    """
    xy_d = pixels_to_normalized(points_px, K)
    if dist is None:
        return xy_d
    k1, k2, p1, p2, k3 = (dist[..., i : i + 1] for i in range(5))
    x, y = xy_d[..., 0], xy_d[..., 1]
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        x = (xy_d[..., 0] - dx) / radial
        y = (xy_d[..., 1] - dy) / radial
    return torch.stack([x, y], dim=-1)
