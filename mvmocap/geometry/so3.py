"""Tangent-space tools of SO(3) for Gauss-Newton steps on axis-angle parameters.

Convention: ``exp(phi + d) ~= exp(phi) @ exp(hat(right_jacobian(phi) @ d))`` for a small ``d``,
so a change ``d`` of the axis-angle vector ``phi`` turns whatever the rotation carries by the
angular velocity ``R @ right_jacobian(phi) @ d`` expressed in the frame ``R = exp(phi)`` maps into.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.geometry.rotations import _SMALL_ANGLE, _safe_norm


def hat(v: Tensor) -> Tensor:
    """Cross-product matrices: ``v (..., 3)`` -> ``(..., 3, 3)`` with ``hat(v) @ w = v x w``."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).unflatten(-1, (3, 3))


def right_jacobian(axis_angle: Tensor) -> Tensor:
    """Right Jacobian of the exponential map: ``axis_angle (..., 3)`` radians -> ``(..., 3, 3)``.

    ``J_r(phi) = I - (1 - cos a) / a^2 hat(phi) + (a - sin a) / a^3 hat(phi)^2`` with ``a = |phi|``;
    the Taylor series ``I - hat/2 + hat^2/6`` below 1e-3 rad keeps it (and its gradient) finite at 0.
    """
    _, a, small = _safe_norm(axis_angle, _SMALL_ANGLE)
    sq = (axis_angle * axis_angle).sum(-1)
    c1 = torch.where(small, 0.5 - sq / 24, (1 - torch.cos(a)) / a**2)
    c2 = torch.where(small, 1.0 / 6 - sq / 120, (a - torch.sin(a)) / a**3)
    K = hat(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye - c1[..., None, None] * K + c2[..., None, None] * (K @ K)
