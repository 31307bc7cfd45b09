"""Confidence-weighted multi-view triangulation, batched over frames and joints.

Shapes: ``points_2d (..., C, J, 2)`` pixels and ``confidence (..., C, J)`` in
[0, 1] for C cameras, J points and any leading dims (frames, people, ...);
camera parameters ``K (C, 3, 3)``, ``dist (C, 5)``, ``R (C, 3, 3)``, ``t (C, 3)``.
A missing observation is a confidence of 0. A point seen by fewer than two
cameras triangulates to the origin with confidence 0 (never NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.geometry.projection import project_points, undistort_points


def _normal_equations(
    points_2d: Tensor, confidence: Tensor, K: Tensor, dist: Tensor | None, R: Tensor, t: Tensor
) -> Tensor:
    """Sum over views of ``A_c^T A_c`` for the DLT rows -> ``(..., J, 4, 4)``.

    For view c with projection ``P = [R | t]`` in undistorted normalised
    coordinates (x, y), the rows are ``w (x P_3 - P_1)`` and ``w (y P_3 - P_2)``.
    """
    xy = undistort_points(points_2d, K, dist)  # (..., C, J, 2)
    P = torch.cat([R, t.unsqueeze(-1)], dim=-1)  # (C, 3, 4)
    P = P.unsqueeze(-3)  # (C, 1, 3, 4) broadcasts against (..., C, J, .)
    w = confidence.unsqueeze(-1)
    row_x = w * (xy[..., 0:1] * P[..., 2, :] - P[..., 0, :])  # (..., C, J, 4)
    row_y = w * (xy[..., 1:2] * P[..., 2, :] - P[..., 1, :])
    # M[..., j, k, l] = sum_c row[..., c, j, k] * row[..., c, j, l]
    return torch.einsum("...cjk,...cjl->...jkl", row_x, row_x) + torch.einsum(
        "...cjk,...cjl->...jkl", row_y, row_y
    )


def _solve_3x3(A: Tensor, b: Tensor, valid: Tensor) -> Tensor:
    """Solve ``A x = b`` for ``A (..., 3, 3)``, ``b (..., 3)`` by the adjugate; 0 where not ``valid``.

    A closed form is several times faster than a batched LU for millions of
    tiny systems on the CPU.
    """
    a, b_, c = A[..., 0, 0], A[..., 0, 1], A[..., 0, 2]
    d, e, f = A[..., 1, 0], A[..., 1, 1], A[..., 1, 2]
    g, h, i = A[..., 2, 0], A[..., 2, 1], A[..., 2, 2]
    co_a, co_b, co_c = e * i - f * h, f * g - d * i, d * h - e * g
    det = a * co_a + b_ * co_b + c * co_c
    valid = valid & (det.abs() > 1e-12 * A.abs().amax(dim=(-1, -2)).clamp(min=1e-30) ** 3)
    det_safe = torch.where(valid, det, torch.ones_like(det))
    adj = torch.stack(
        [
            torch.stack([co_a, c * h - b_ * i, b_ * f - c * e], -1),
            torch.stack([co_b, a * i - c * g, c * d - a * f], -1),
            torch.stack([co_c, b_ * g - a * h, a * e - b_ * d], -1),
        ],
        -2,
    )
    x = (adj @ b.unsqueeze(-1)).squeeze(-1) / det_safe.unsqueeze(-1)
    return torch.where(valid.unsqueeze(-1), x, torch.zeros_like(x))


def triangulate(
    points_2d: Tensor,
    confidence: Tensor,
    K: Tensor,
    dist: Tensor | None,
    R: Tensor,
    t: Tensor,
    *,
    method: str = "linear",
) -> Tensor:
    """Confidence-weighted DLT triangulation -> world points ``(..., J, 3)`` metres.

    Args:
        points_2d: ``(..., C, J, 2)`` pixels (distorted, as detected).
        confidence: ``(..., C, J)`` weights in [0, 1]; 0 = missing.
        K, dist, R, t: ``(C, 3, 3)``, ``(C, 5)`` or None, ``(C, 3, 3)``, ``(C, 3)``.
        method: ``"linear"`` fixes the homogeneous coordinate to 1 and solves
            the 3x3 normal equations (fast, the default); ``"svd"`` takes the
            smallest eigenvector of the 4x4 system (the classical DLT, as
            ``cv2.triangulatePoints``). Both are exact on noise-free data.

    Points with fewer than two views of non-zero confidence are returned as 0.
    """
    M = _normal_equations(points_2d, confidence, K, dist, R, t)
    valid = (confidence > 0).sum(-2) >= 2
    if method == "linear":
        return _solve_3x3(M[..., :3, :3], -M[..., :3, 3], valid)
    if method == "svd":
        _, vectors = torch.linalg.eigh(M)
        h = vectors[..., :, 0]  # eigenvector of the smallest eigenvalue
        w = h[..., 3:]
        ok = valid & (w.squeeze(-1).abs() > 1e-12)
        x = h[..., :3] / torch.where(ok.unsqueeze(-1), w, torch.ones_like(w))
        return torch.where(ok.unsqueeze(-1), x, torch.zeros_like(x))
    raise ValueError(f"unknown triangulation method {method!r}: use 'linear' or 'svd'")


def reprojection_errors(
    points_3d: Tensor, points_2d: Tensor, K: Tensor, dist: Tensor | None, R: Tensor, t: Tensor
) -> Tensor:
    """Pixel distance between projected ``points_3d (..., J, 3)`` and ``points_2d (..., C, J, 2)``.

    Returns ``(..., C, J)`` pixels (whatever the confidence; mask it yourself).
    """
    projected = project_points(points_3d.unsqueeze(-3), K, dist, R, t)
    return (projected - points_2d).norm(dim=-1)


@dataclass(frozen=True)
class TriangulationResult:
    """Output of :func:`triangulate_robust`.

    Attributes:
        points: ``(..., J, 3)`` metres, world frame (0 where confidence is 0).
        confidence: ``(..., J)`` mean confidence of the views kept; 0 when fewer
            than two views remain or the residual stays above the threshold.
        errors: ``(..., C, J)`` reprojection error in pixels for every view.
        used: ``(..., C, J)`` bool, the views kept for each point.
    """

    points: Tensor
    confidence: Tensor
    errors: Tensor
    used: Tensor


def triangulate_robust(
    points_2d: Tensor,
    confidence: Tensor,
    K: Tensor,
    dist: Tensor | None,
    R: Tensor,
    t: Tensor,
    *,
    threshold_px: float = 20.0,
    min_views: int = 2,
    method: str = "linear",
) -> TriangulationResult:
    """Triangulate, then drop each point's worst view while its error exceeds ``threshold_px``.

    The loop runs over views (at most C - min_views rounds), never over points:
    every point is processed in parallel, as Pose2Sim and EasyMocap do one at a time.
    Shapes as in :func:`triangulate`.
    """
    conf = confidence.clone()
    num_cams = points_2d.shape[-3]
    for _ in range(max(num_cams - min_views, 0)):
        points = triangulate(points_2d, conf, K, dist, R, t, method=method)
        errors = reprojection_errors(points, points_2d, K, dist, R, t)
        in_use = conf > 0
        masked = torch.where(in_use, errors, torch.full_like(errors, -1.0))
        worst_err, worst = masked.max(dim=-2)  # (..., J)
        drop = (worst_err > threshold_px) & (in_use.sum(-2) > min_views)
        if not bool(drop.any()):
            break
        drop_mask = torch.zeros_like(in_use).scatter(-2, worst.unsqueeze(-2), drop.unsqueeze(-2))
        conf = torch.where(drop_mask, torch.zeros_like(conf), conf)
    points = triangulate(points_2d, conf, K, dist, R, t, method=method)
    errors = reprojection_errors(points, points_2d, K, dist, R, t)
    used = conf > 0
    n_used = used.sum(-2)
    worst_used = torch.where(used, errors, torch.zeros_like(errors)).amax(dim=-2)
    mean_conf = conf.sum(-2) / n_used.clamp(min=1)
    good = (n_used >= min_views) & (worst_used <= threshold_px)
    point_conf = torch.where(good, mean_conf, torch.zeros_like(mean_conf))
    points = torch.where((n_used >= 2).unsqueeze(-1), points, torch.zeros_like(points))
    return TriangulationResult(points=points, confidence=point_conf, errors=errors, used=used)
