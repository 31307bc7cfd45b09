"""Rotation representations and conversions.

All functions are pure, batched over any leading dimensions and differentiable,
with gradient-safe branches near the identity (angle 0) and near angle pi.

Representations:

* axis-angle ``(..., 3)``: unit axis times angle in radians (Rodrigues vector).
* rotation matrix ``(..., 3, 3)``: acts on column vectors, ``y = R @ x``.
* quaternion ``(..., 4)``: ``(w, x, y, z)``, scalar first, unit norm.
* 6D ``(..., 6)``: the first two *columns* of the matrix, concatenated
  (Zhou et al., "On the continuity of rotation representations", CVPR 2019).
"""

from __future__ import annotations

import torch
from torch import Tensor

# Below this angle (rad) the closed forms switch to their Taylor expansions.
_SMALL_ANGLE = 1e-3


def _safe_norm(v: Tensor, small: float) -> tuple[Tensor, Tensor, Tensor]:
    """Norm of ``v`` over its last dim with a gradient-safe stand-in near zero.

    Returns ``(norm, norm_safe, is_small)``; ``norm_safe`` is 1 where
    ``is_small`` so that dividing by it never creates NaN gradients.
    """
    sq = (v * v).sum(-1)
    is_small = sq < small * small
    norm_safe = torch.sqrt(torch.where(is_small, torch.ones_like(sq), sq))
    norm = torch.where(is_small, torch.zeros_like(sq), norm_safe)
    return norm, norm_safe, is_small


def axis_angle_to_quaternion(axis_angle: Tensor) -> Tensor:
    """Axis-angle ``(..., 3)`` radians -> unit quaternion ``(..., 4)`` (w, x, y, z)."""
    sq = (axis_angle * axis_angle).sum(-1, keepdim=True)
    _, angle_safe, is_small = _safe_norm(axis_angle, _SMALL_ANGLE)
    angle_safe = angle_safe.unsqueeze(-1)
    is_small = is_small.unsqueeze(-1)
    half = 0.5 * angle_safe
    # sin(a/2)/a and cos(a/2) with their Taylor series near a = 0.
    sinc_half = torch.where(is_small, 0.5 - sq / 48.0, torch.sin(half) / angle_safe)
    cos_half = torch.where(is_small, 1.0 - sq / 8.0, torch.cos(half))
    return torch.cat([cos_half, axis_angle * sinc_half], dim=-1)


def quaternion_to_axis_angle(quaternion: Tensor) -> Tensor:
    """Quaternion ``(..., 4)`` (w, x, y, z) -> axis-angle ``(..., 3)``, angle in [0, pi].

    The quaternion need not be normalised; ``q`` and ``-q`` give the same result.
    """
    q = quaternion / quaternion.norm(dim=-1, keepdim=True)
    q = torch.where(q[..., :1] < 0, -q, q)
    w, v = q[..., :1], q[..., 1:]
    _, sin_half_safe, is_small = _safe_norm(v, _SMALL_ANGLE)
    sin_half_safe = sin_half_safe.unsqueeze(-1)
    is_small = is_small.unsqueeze(-1)
    angle = 2.0 * torch.atan2(sin_half_safe, w)
    sq = (v * v).sum(-1, keepdim=True)
    # angle / sin(angle/2) = 2/w - 2 s^2 / (3 w^3) + O(s^4) for small s = |v|.
    w_safe = torch.where(is_small, w, torch.ones_like(w))
    taylor = 2.0 / w_safe - 2.0 * sq / (3.0 * w_safe**3)
    factor = torch.where(is_small, taylor, angle / sin_half_safe)
    return v * factor


def quaternion_to_matrix(quaternion: Tensor) -> Tensor:
    """Quaternion ``(..., 4)`` (w, x, y, z), any non-zero norm -> matrix ``(..., 3, 3)``."""
    w, x, y, z = quaternion.unbind(-1)
    two_s = 2.0 / (quaternion * quaternion).sum(-1)
    m = torch.stack(
        [
            1 - two_s * (y * y + z * z),
            two_s * (x * y - z * w),
            two_s * (x * z + y * w),
            two_s * (x * y + z * w),
            1 - two_s * (x * x + z * z),
            two_s * (y * z - x * w),
            two_s * (x * z - y * w),
            two_s * (y * z + x * w),
            1 - two_s * (x * x + y * y),
        ],
        dim=-1,
    )
    return m.reshape(quaternion.shape[:-1] + (3, 3))


def matrix_to_quaternion(matrix: Tensor) -> Tensor:
    """Rotation matrix ``(..., 3, 3)`` -> unit quaternion ``(..., 4)`` with w >= 0.

    Uses the numerically best of the four closed forms (the one dividing by the
    largest quaternion component), so it is stable and differentiable at every
    angle, including pi.
    """
    m = matrix
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # 4 w^2, 4 x^2, 4 y^2, 4 z^2
    four_sq = torch.stack(
        [
            1 + m00 + m11 + m22,
            1 + m00 - m11 - m22,
            1 - m00 + m11 - m22,
            1 - m00 - m11 + m22,
        ],
        dim=-1,
    )
    # Row k equals 4 q_k * (w, x, y, z).
    candidates = torch.stack(
        [
            torch.stack([four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01], dim=-1),
            torch.stack([m21 - m12, four_sq[..., 1], m10 + m01, m02 + m20], dim=-1),
            torch.stack([m02 - m20, m10 + m01, four_sq[..., 2], m21 + m12], dim=-1),
            torch.stack([m10 - m01, m02 + m20, m21 + m12, four_sq[..., 3]], dim=-1),
        ],
        dim=-2,
    )
    best = four_sq.argmax(dim=-1, keepdim=True)  # the largest is >= 1
    chosen_sq = torch.gather(four_sq, -1, best)
    chosen = torch.gather(candidates, -2, best.unsqueeze(-1).expand(best.shape + (4,))).squeeze(-2)
    q = chosen / (2.0 * torch.sqrt(chosen_sq))
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(axis_angle: Tensor) -> Tensor:
    """Axis-angle ``(..., 3)`` radians -> rotation matrix ``(..., 3, 3)`` (Rodrigues)."""
    return quaternion_to_matrix(axis_angle_to_quaternion(axis_angle))


def matrix_to_axis_angle(matrix: Tensor) -> Tensor:
    """Rotation matrix ``(..., 3, 3)`` -> axis-angle ``(..., 3)``, angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def rotation_6d_to_matrix(rot6d: Tensor) -> Tensor:
    """6D ``(..., 6)`` -> rotation matrix ``(..., 3, 3)`` by Gram-Schmidt.

    The first three numbers give the first column, the last three the second.
    """
    a1, a2 = rot6d[..., :3], rot6d[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_rotation_6d(matrix: Tensor) -> Tensor:
    """Rotation matrix ``(..., 3, 3)`` -> 6D ``(..., 6)`` (first two columns)."""
    return torch.cat([matrix[..., :, 0], matrix[..., :, 1]], dim=-1)


def rotation_angle_between(r1: Tensor, r2: Tensor) -> Tensor:
    """Geodesic angle (radians) between rotation matrices ``(..., 3, 3)`` -> ``(...)``."""
    rel = r1.transpose(-1, -2) @ r2
    return matrix_to_axis_angle(rel).norm(dim=-1)


def orthonormality_error(matrix: Tensor) -> Tensor:
    """``max |R^T R - I|`` per matrix ``(..., 3, 3)`` -> ``(...)``."""
    eye = torch.eye(3, dtype=matrix.dtype, device=matrix.device)
    return (matrix.transpose(-1, -2) @ matrix - eye).abs().amax(dim=(-1, -2))
