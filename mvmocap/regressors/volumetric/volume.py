"""Volumetric unprojection: per-view 2D maps -> a G^3 cube of voxels (Iskakov et al. 2019).

The cube has side ``side`` metres and ``G`` voxels per axis, centred on the pelvis and expressed
in the *human* frame (the body file's rest frame: y up, z the subject's front, x the subject's
left). ``R_wh`` is the canonical world -> human rotation, ``x_h = R_wh (x_w - pelvis)``.
Voxel ``(i, j, k)`` (flattened ``i * G^2 + j * G + k``) is at ``((i, j, k) + 0.5) / G - 0.5) * side``
along the human frame's (x, y, z) axes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from mvmocap.regressors.volumetric.evidence import pixels_to_grid, project


def cube_points(grid: int, side: float, dtype=torch.float32, device=None) -> Tensor:
    """Voxel centres ``(G^3, 3)`` metres of the canonical cube (centred on the origin)."""
    c = ((torch.arange(grid, dtype=dtype, device=device) + 0.5) / grid - 0.5) * side
    x, y, z = torch.meshgrid(c, c, c, indexing="ij")
    return torch.stack([x, y, z], -1).reshape(-1, 3)


def cube_to_world(points: Tensor, R_wh: Tensor, pelvis: Tensor) -> Tensor:
    """World voxel centres ``(B, P, 3)`` from cube points ``(P, 3)`` in the human frame,
    ``R_wh (B, 3, 3)`` (world -> human) and ``pelvis (B, 3)`` world metres: ``x_w = R_wh^T x_h + pelvis``."""
    # out[b, p, i] = sum_k R_wh[b, k, i] * points[p, k]
    return torch.einsum("bki,pk->bpi", R_wh, points) + pelvis[:, None]


def unproject_crop(maps: Tensor, points: Tensor, projection: Tensor, crop_size: int, mode: str = "bilinear") -> Tensor:
    """Fill voxels with the 2D maps they project to (differentiable in ``maps`` and ``points``).

    Args:
        maps: ``(B, C, Ch, h, w)`` per-view maps covering the crop (any resolution: sampling
            works in normalised crop coordinates).
        points: ``(B, P, 3)`` world metres (voxel centres).
        projection: ``(B, C, 3, 4)`` world -> pixels of a ``crop_size x crop_size`` crop.
        mode: ``"bilinear"`` (features) or ``"nearest"`` (binary occupancy).
    Returns:
        ``(B, C, Ch, P)``: zero for voxels behind a camera or projecting outside its crop.
    """
    B, C, Ch, h, w = maps.shape
    P = points.shape[1]
    uv, depth = project(points[:, None].expand(B, C, P, 3), projection)  # (B, C, P, 2), (B, C, P)
    grid = pixels_to_grid(uv, crop_size).reshape(B * C, P, 1, 2)
    grid = grid.clamp(-2.0, 2.0)  # far outside stays outside, without huge values
    sampled = F.grid_sample(maps.reshape(B * C, Ch, h, w), grid, mode=mode, padding_mode="zeros", align_corners=False)
    sampled = sampled.reshape(B, C, Ch, P)
    return sampled * (depth > 1e-3).unsqueeze(2).to(sampled.dtype)
