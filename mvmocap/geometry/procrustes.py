"""Rigid and similarity alignment of point sets (Kabsch / Umeyama), batched."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _weighted_centroid(points: Tensor, weights: Tensor) -> Tensor:
    """``points (..., N, 3)``, ``weights (..., N)`` -> ``(..., 3)``."""
    return (points * weights.unsqueeze(-1)).sum(-2) / weights.sum(-1, keepdim=True)


def similarity_procrustes(
    source: Tensor,
    target: Tensor,
    weights: Tensor | None = None,
    *,
    allow_scale: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """Best ``s, R, t`` with ``target ~= s * R @ source + t`` (Umeyama 1991).

    Args:
        source, target: ``(..., N, 3)`` corresponding points.
        weights: ``(..., N)`` non-negative weights (confidence); None = all 1.
        allow_scale: False fixes ``s = 1`` (rigid Kabsch alignment).

    Returns:
        ``scale (...)``, ``R (..., 3, 3)`` a proper rotation (det +1), ``t (..., 3)``.
    """
    if weights is None:
        weights = torch.ones(source.shape[:-1], dtype=source.dtype, device=source.device)
    weights = weights.expand(np.broadcast_shapes(weights.shape, source.shape[:-1]))  # not torch's: it imports sympy
    mu_s = _weighted_centroid(source, weights)
    mu_t = _weighted_centroid(target, weights)
    xs = source - mu_s.unsqueeze(-2)
    xt = target - mu_t.unsqueeze(-2)
    w = weights / weights.sum(-1, keepdim=True)
    # covariance[..., i, j] = sum_n w_n * xt[n, i] * xs[n, j]
    covariance = torch.einsum("...n,...ni,...nj->...ij", w, xt, xs)
    U, S, Vh = torch.linalg.svd(covariance)
    det = torch.det(U @ Vh)
    ones = torch.ones_like(det)
    D = torch.stack([ones, ones, torch.sign(det) + (det == 0).to(det.dtype)], dim=-1)
    R = U @ torch.diag_embed(D) @ Vh
    if allow_scale:
        var_s = (w * (xs * xs).sum(-1)).sum(-1)
        scale = (S * D).sum(-1) / var_s
    else:
        scale = ones
    t = mu_t - scale.unsqueeze(-1) * (R @ mu_s.unsqueeze(-1)).squeeze(-1)
    return scale, R, t


def rigid_procrustes(
    source: Tensor, target: Tensor, weights: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Best rotation and translation with ``target ~= R @ source + t``.

    ``source, target (..., N, 3)``, ``weights (..., N)`` -> ``R (..., 3, 3)``, ``t (..., 3)``.
    """
    _, R, t = similarity_procrustes(source, target, weights, allow_scale=False)
    return R, t


def apply_similarity(points: Tensor, scale: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """``s * R @ p + t`` for ``points (..., N, 3)``, ``scale (...)``, ``R (..., 3, 3)``, ``t (..., 3)``."""
    return scale[..., None, None] * points @ R.transpose(-1, -2) + t.unsqueeze(-2)
