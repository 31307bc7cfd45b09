"""Solving symmetric positive definite block-banded systems (frames coupled to their neighbours).

A sequence fit's Gauss-Newton matrix couples each frame's parameters only with those of the
frames at most ``w`` steps away (the temporal smoothness terms), so the matrix of ``F`` blocks of
size ``n`` is block-banded: stored as its diagonal blocks ``(F, n, n)`` and, for each lag
``k = 1..w``, the blocks above the diagonal ``H[t, t + k]`` as ``(F - k, n, n)``. A block Cholesky
factorisation costs ``O(F w^2 n^3)`` against ``O(F^3 n^3)`` for the dense matrix.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.errors import InputError


def block_banded_cholesky(diagonal: Tensor, upper: list[Tensor]) -> list[list[Tensor]] | None:
    """Lower block-Cholesky factor of a symmetric block-banded matrix, or None if not positive definite.

    Args:
        diagonal: ``(F, n, n)`` the blocks ``H[t, t]``.
        upper: ``w`` tensors, ``upper[k - 1]`` of shape ``(F - k, n, n)`` holding ``H[t, t + k]``.

    Returns:
        ``factor[t]``: the blocks ``[L[t, t - m], ..., L[t, t]]`` of row ``t`` (``m = min(t, w)``).
    """
    F = diagonal.shape[0]
    w = len(upper)
    if any(u.shape != (max(F - k, 0), *diagonal.shape[1:]) for k, u in enumerate(upper, 1)):
        raise InputError(f"band blocks do not match {F} diagonal blocks of shape {tuple(diagonal.shape[1:])}")
    factor: list[list[Tensor]] = []
    for t in range(F):
        row: list[Tensor] = []
        first = max(0, t - w)
        for s in range(first, t):  # L[t, s] = (H[t, s] - sum_m L[t, m] L[s, m]^T) L[s, s]^-T
            block = upper[t - s - 1][s].transpose(-1, -2)
            for m in range(first, s):  # both L[t, m] and L[s, m] lie in the band (m >= t - w > s - w)
                block = block - row[m - first] @ factor[s][m - max(0, s - w)].transpose(-1, -2)
            L_ss = factor[s][-1]
            row.append(torch.linalg.solve_triangular(L_ss, block.transpose(-1, -2), upper=False).transpose(-1, -2))
        pivot = diagonal[t]
        for block in row:
            pivot = pivot - block @ block.transpose(-1, -2)
        L_tt, info = torch.linalg.cholesky_ex(pivot)
        if int(info) != 0:
            return None
        row.append(L_tt)
        factor.append(row)
    return factor


def block_banded_solve(factor: list[list[Tensor]], rhs: Tensor) -> Tensor:
    """Solve ``H x = rhs`` with the factor of :func:`block_banded_cholesky`; ``rhs (F, n)`` -> ``(F, n)``."""
    F = rhs.shape[0]
    w = max(len(row) for row in factor) - 1
    y: list[Tensor] = []
    for t in range(F):  # L y = rhs
        row = factor[t]
        first = t - (len(row) - 1)
        value = rhs[t]
        for m, block in enumerate(row[:-1]):
            value = value - block @ y[first + m]
        y.append(torch.linalg.solve_triangular(row[-1], value[:, None], upper=False)[:, 0])
    x: list[Tensor] = [rhs.new_zeros(0)] * F
    for t in range(F - 1, -1, -1):  # L^T x = y
        value = y[t]
        for s in range(t + 1, min(F, t + w + 1)):
            row = factor[s]
            value = value - row[t - (s - (len(row) - 1))].transpose(-1, -2) @ x[s]
        x[t] = torch.linalg.solve_triangular(factor[t][-1].transpose(-1, -2), value[:, None], upper=True)[:, 0]
    return torch.stack(x)
