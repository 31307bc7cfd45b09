"""Averages of rotations: the chordal L2 mean and the chordal L1 median (robust).

Shapes: ``R (..., N, 3, 3)`` rotation matrices with ``weight (..., N)`` (0 = left out), averaged
over ``N``; any leading dims are batched. The chordal distance is the Frobenius norm
``|R_a - R_b|_F = 2 sqrt(2) sin(angle / 2)``; both averages are taken in the 3x3 matrices and
projected back onto SO(3) by SVD (Hartley et al. 2013, "Rotation averaging", section 5.3).
"""

from __future__ import annotations

import torch
from torch import Tensor

MEDIAN_ITERATIONS = 30
MEDIAN_FLOOR = 1e-6  # chordal distance below which a sample is not up-weighted further (Weiszfeld's singularity)


def project_to_rotation(M: Tensor) -> Tensor:
    """Nearest rotation (Frobenius) to each ``M (..., 3, 3)``: ``U diag(1, 1, det(U V^T)) V^T``."""
    U, _, Vh = torch.linalg.svd(M)
    det = torch.det(U @ Vh)
    D = torch.ones_like(M[..., 0])
    D = torch.cat([D[..., :2], det[..., None]], -1)
    return U @ torch.diag_embed(D) @ Vh


def chordal_mean(R: Tensor, weight: Tensor | None = None) -> Tensor:
    """Chordal L2 mean ``(..., 3, 3)`` of ``R (..., N, 3, 3)`` weighted by ``weight (..., N)``.

    The identity where every weight is 0."""
    w = torch.ones_like(R[..., 0, 0]) if weight is None else weight.to(R.dtype)
    M = (R * w[..., None, None]).sum(-3)  # sum_n w_n R_n: the minimiser of sum_n w_n |X - R_n|_F^2 before projection
    empty = w.sum(-1) <= 0
    eye = torch.eye(3, dtype=R.dtype, device=R.device)
    M = torch.where(empty[..., None, None], eye.expand_as(M), M)
    return project_to_rotation(M)


def chordal_median(R: Tensor, weight: Tensor | None = None, iterations: int = MEDIAN_ITERATIONS) -> Tensor:
    """Chordal L1 median ``(..., 3, 3)`` of ``R (..., N, 3, 3)``: minimises ``sum_n w_n |X - R_n|_F``.

    Weiszfeld's iteration from the chordal mean, each step projected onto SO(3): a minority of
    wrong rotations (a mirrored view, another person) moves it far less than the mean."""
    w = torch.ones_like(R[..., 0, 0]) if weight is None else weight.to(R.dtype)
    X = chordal_mean(R, w)
    for _ in range(iterations):
        distance = (R - X[..., None, :, :]).flatten(-2).norm(dim=-1).clamp(min=MEDIAN_FLOOR)
        X = chordal_mean(R, w / distance)
    return X
