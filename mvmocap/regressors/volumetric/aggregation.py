"""Progressive multi-view aggregation of per-view volumes: consensus, diversity and balance.

Shapes: ``features (B, C, Ch, P)`` per-view volumetric features (P voxels), ``occupancy (B, C, P)``
in {0, 1}, ``valid (B, C)`` bool (False = a missing view, ignored everywhere). Every function is
invariant to the order of the C views.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _weights(valid: Tensor, dtype) -> Tensor:
    return valid.to(dtype)[..., None, None]  # (B, C, 1, 1)


def view_mean(features: Tensor, valid: Tensor) -> Tensor:
    """``(B, Ch, P)`` mean over the valid views (zeros when none is valid)."""
    w = _weights(valid, features.dtype)
    return (features * w).sum(1) / w.sum(1).clamp(min=1.0)


def intersection(occupancy: Tensor, valid: Tensor) -> Tensor:
    """``(B, P)``: 1 where every valid view sees the voxel occupied (``min_n V_O^n``)."""
    filled = torch.where(valid[..., None], occupancy, torch.ones_like(occupancy))
    return filled.amin(1) * valid.any(1, keepdim=True).to(occupancy.dtype)


def union(occupancy: Tensor, valid: Tensor) -> Tensor:
    """``(B, P)``: 1 where at least one valid view sees the voxel occupied (``max_n V_O^n``)."""
    return torch.where(valid[..., None], occupancy, torch.zeros_like(occupancy)).amax(1)


def consensus(features: Tensor, occupancy: Tensor, valid: Tensor) -> Tensor:
    """``V_F^I = V_O^I * mean_n V_F^n`` ``(B, Ch, P)`` (paper eq. 8-9)."""
    return intersection(occupancy, valid)[:, None] * view_mean(features, valid)


def diversity(features: Tensor, occupancy: Tensor, valid: Tensor) -> Tensor:
    """``V_F^U = V_O^U * mean_n V_F^n`` ``(B, Ch, P)`` (paper eq. 8-9)."""
    return union(occupancy, valid)[:, None] * view_mean(features, valid)


def consistency_map(pred_mask: Tensor, mask: Tensor, pred_heatmaps: Tensor, heatmaps: Tensor, eps: float = 0.1) -> Tensor:
    """Per-pixel consistency ``phi = 1 / (eps + |M^ - M| + sum_j |J^_j - J_j| / N_j)`` (paper eq. 11).

    ``pred_mask, mask (..., S, S)``; ``pred_heatmaps, heatmaps (..., J, S, S)`` -> ``(..., S, S)``.
    """
    return 1.0 / (eps + (pred_mask - mask).abs() + (pred_heatmaps - heatmaps).abs().mean(-3))


def balance(features: Tensor, consistency: Tensor, valid: Tensor) -> Tensor:
    """``V_F^B = sum_n (V_phi^n / sum_m V_phi^m) V_F^n`` ``(B, Ch, P)`` (paper eq. 12-13).

    ``consistency (B, C, P)`` >= 0: the unprojected per-view consistency maps.
    """
    phi = consistency * valid[..., None].to(consistency.dtype)
    weights = phi / phi.sum(1, keepdim=True).clamp(min=1e-8)
    return (weights[:, :, None] * features).sum(1)
