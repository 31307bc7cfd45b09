"""The per-view 2D evidence the volumetric regressor reads: joint heatmaps and a silhouette in a
square crop around the person, and the projection matrices into that crop.

Pixel convention: OpenCV, crop pixel centres at integer coordinates (see
:mod:`mvmocap.synth.evidence`); a crop is ``(cx, cy, side)`` in full-image pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from mvmocap.synth.evidence import crop_transform

NUM_JOINTS = 17


def crop_projection(K: Tensor, R: Tensor, t: Tensor, crops: Tensor, size: int) -> Tensor:
    """Projection matrices ``(..., 3, 4)`` from world metres to ``size x size`` crop pixels.

    ``K, R (..., 3, 3)``, ``t (..., 3)`` (OpenCV, ``x_cam = R x + t``), ``crops (..., 3)``; lens
    distortion is not modelled (undistort the 2D evidence first).
    """
    Rt = torch.cat([R, t.unsqueeze(-1)], -1)
    return crop_transform(crops.to(K.dtype), size) @ K @ Rt


def project(points: Tensor, projection: Tensor, min_depth: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Pixels ``(..., P, 2)`` and depths ``(..., P)`` (metres) of world ``points (..., P, 3)``
    through ``projection (..., 3, 4)``; points closer than ``min_depth`` get depth <= min_depth
    and pixel coordinates computed with a clamped depth (never inf/NaN)."""
    homo = torch.cat([points, torch.ones_like(points[..., :1])], -1)
    # x[..., p, i] = sum_k projection[..., i, k] * homo[..., p, k]
    x = torch.einsum("...ik,...pk->...pi", projection, homo)
    depth = x[..., 2]
    uv = x[..., :2] / depth.clamp(min=min_depth).unsqueeze(-1)
    return uv, depth


def pixels_to_grid(uv: Tensor, size: int) -> Tensor:
    """Crop pixels -> ``grid_sample`` coordinates in [-1, 1] (``align_corners=False``)."""
    return (uv + 0.5) / size * 2.0 - 1.0


def splat_silhouette(uv: Tensor, depth: Tensor, size: int) -> Tensor:
    """A silhouette ``(N, size, size)`` in {0, 1} from dense surface points ``uv (N, P, 2)`` px,
    ``depth (N, P)``: each point in front of the camera marks its nearest pixel, then a 3x3
    closing fills the gaps between points. Not differentiable (used for inputs and the balance
    weights only)."""
    N = uv.shape[0]
    px = uv.round().long()
    ok = (depth > 1e-3) & (px[..., 0] >= 0) & (px[..., 0] < size) & (px[..., 1] >= 0) & (px[..., 1] < size)
    flat = torch.arange(N, device=uv.device)[:, None] * size * size + px[..., 1] * size + px[..., 0]
    canvas = torch.zeros(N * size * size, dtype=uv.dtype, device=uv.device)
    canvas[flat[ok]] = 1.0
    img = canvas.reshape(N, 1, size, size)
    img = F.max_pool2d(img, 3, 1, 1)
    img = -F.max_pool2d(-img, 3, 1, 1)
    return img[:, 0]


def joint_heatmaps(uv: Tensor, confidence: Tensor, size: int, sigma: float) -> Tensor:
    """Gaussian heatmaps ``(..., J, size, size)`` of joints ``uv (..., J, 2)`` crop px scaled by
    ``confidence (..., J)`` (0 = an empty map); the same maps as
    :func:`mvmocap.synth.evidence.gaussian_heatmaps`, computed separably (64x fewer exponentials)."""
    grid = torch.arange(size, dtype=uv.dtype, device=uv.device)
    gx = torch.exp(-((grid - uv[..., 0:1]) ** 2) / (2 * sigma * sigma))  # (..., J, size), separable
    gy = torch.exp(-((grid - uv[..., 1:2]) ** 2) / (2 * sigma * sigma))
    return gy.unsqueeze(-1) * gx.unsqueeze(-2) * confidence[..., None, None]


def occupancy(heatmaps: Tensor, mask: Tensor, threshold: float = 0.1) -> Tensor:
    """The paper's 2D occupancy ``1(sum_j J_j + M > threshold)`` ``(..., S, S)`` float from
    ``heatmaps (..., J, S, S)`` and ``mask (..., S, S)`` (a threshold above 0 because Gaussians never vanish)."""
    return ((heatmaps.sum(-3) + mask) > threshold).to(heatmaps.dtype)
