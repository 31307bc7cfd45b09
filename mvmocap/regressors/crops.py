"""Square crops around a person for the per-view networks (volumetric, CRA): from keypoints, from a
detector's mask, and a mask resampled into a crop through the lens model.

Crops are ``(..., 3)``: centre ``x, y`` and side, in undistorted pixels of the full image.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.synth.evidence import CROP_SCALE, bounding_boxes, crop_transform, square_crops

# Keypoint box -> body box: COCO joints stop at the eyes and ankles; the mesh box the network was
# trained on includes the skull and the feet. Grown about the keypoint box's centre.
KEYPOINT_BOX_GROWTH = (1.15, 1.12)

# Detector masks are decoded with their longer side at most this many pixels: the person still
# spans several times the networks' 64-pixel crops, and the crop sampling costs 10x less.
MASK_DECODE_SIDE = 320


def keypoint_crops(uv: Tensor, confidence: Tensor, min_confidence: float = 0.1) -> Tensor:
    """Square crops ``(..., 3)`` around keypoints ``uv (..., J, 2)`` px grown to the body's extent."""
    box = bounding_boxes(uv, confidence >= min_confidence)
    c = 0.5 * (box[..., :2] + box[..., 2:])
    half = 0.5 * (box[..., 2:] - box[..., :2]) * torch.tensor(KEYPOINT_BOX_GROWTH, dtype=uv.dtype)
    return square_crops(torch.cat([c - half, c + half], -1), CROP_SCALE)


def mask_crops(masks: Tensor, image_size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Square crops ``(N, 3)`` in full-image pixels around binary ``masks (N, h, w)`` that cover an
    image of ``image_size = (width, height)`` pixels (masks may be at a lower resolution), and
    whether each mask is non-empty ``(N,)``."""
    h, w = masks.shape[-2:]
    sx, sy = image_size[0] / w, image_size[1] / h
    ys = masks.any(-1)
    xs = masks.any(-2)
    ok = ys.any(-1)
    ar_y = torch.arange(h, dtype=torch.float32)
    ar_x = torch.arange(w, dtype=torch.float32)
    big = 1e9
    y0 = torch.where(ys, ar_y, big).amin(-1) * sy
    y1 = (torch.where(ys, ar_y, -big).amax(-1) + 1) * sy
    x0 = torch.where(xs, ar_x, big).amin(-1) * sx
    x1 = (torch.where(xs, ar_x, -big).amax(-1) + 1) * sx
    boxes = torch.stack([x0, y0, x1, y1], -1)
    return square_crops(torch.where(ok[:, None], boxes, torch.zeros_like(boxes)), CROP_SCALE), ok


def masks_into_crops(masks: Tensor, image_size: tuple[int, int], crops: Tensor, size: int, K: Tensor,
                     dist: Tensor | None) -> Tensor:
    """Resample ``masks (N, h, w)`` covering a ``image_size = (width, height)`` image into crops
    ``(N, 3)`` defined on *undistorted* pixels of cameras ``K (N, 3, 3)``, ``dist (N, 5)``: each crop
    pixel is mapped through the lens model to the distorted image, then sampled bilinearly ->
    ``(N, size, size)``."""
    import torch.nn.functional as F

    from mvmocap.geometry.projection import distort_normalized, normalized_to_pixels, pixels_to_normalized

    N = masks.shape[0]
    W, H = image_size
    A_inv = torch.linalg.inv(crop_transform(crops.double(), size))
    c = torch.arange(size, dtype=torch.float64)
    gy, gx = torch.meshgrid(c, c, indexing="ij")
    pts = torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(-1, 3)
    ideal = torch.einsum("nij,pj->npi", A_inv, pts)[..., :2]  # (N, S*S, 2) undistorted px
    xy = pixels_to_normalized(ideal, K.double())
    if dist is not None:
        xy = distort_normalized(xy, dist.double())
    px = normalized_to_pixels(xy, K.double())
    # normalised coordinates of the full image address the low-resolution mask alike
    grid = torch.stack([(px[..., 0] + 0.5) / W * 2 - 1, (px[..., 1] + 0.5) / H * 2 - 1], -1).float()
    out = F.grid_sample(masks[:, None].float(), grid.reshape(N, size, size, 2), align_corners=False)
    return out[:, 0]


def undistorted_keypoints(inputs, joints: int = 17) -> tuple[object, bool, Tensor, Tensor]:
    """The first ``joints`` keypoints of ``MethodInputs`` (COCO-17 by default, 23 with the feet) on undistorted
    pixels: ``(rig (float64, CPU), whether it has lens distortion, points (F, C, J, 2) px, confidence
    (F, C, J) in [0, 1])``."""
    from mvmocap.geometry.projection import normalized_to_pixels, undistort_points

    kp = torch.as_tensor(inputs.keypoints_2d).to(torch.float64)[..., :joints, :]  # (F, C, J, 3)
    rig = inputs.rig.to(dtype=torch.float64, device="cpu")
    has_dist = bool(rig.dist.abs().max() > 0)
    # K (C, 3, 3) broadcasts against (F, C, J, 2) in these functions (they index K[..., i, j, None]).
    ideal = normalized_to_pixels(undistort_points(kp[..., :2], rig.K, rig.dist if has_dist else None), rig.K)
    return rig, has_dist, ideal, kp[..., 2].clamp(0, 1)


def decoded_mask_crops(masks: list, rig, camera: int, has_dist: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Camera ``camera``'s run-length masks ``masks`` (one per frame, same size; ``.decode(shape)``)
    decoded at most ``MASK_DECODE_SIDE`` pixels on their longer side, and the square crops around them
    in undistorted pixels: ``(masks (N, h, w), crops (N, 3), non-empty (N,))``."""
    import numpy as np

    from mvmocap.geometry.projection import normalized_to_pixels, undistort_points

    width, height = (int(v) for v in rig.sizes[camera].tolist())
    first = masks[0]
    scale = min(1.0, MASK_DECODE_SIDE / max(first.width, first.height))
    shape = (max(1, round(first.width * scale)), max(1, round(first.height * scale)))
    low = torch.from_numpy(np.stack([m.decode(shape) for m in masks]))
    crops, ok = mask_crops(low, (width, height))
    # The crop around the mask, in undistorted pixels: the box of the mask's undistorted outline.
    corners = torch.stack([crops[:, :2] - crops[:, 2:] / 2, crops[:, :2] + crops[:, 2:] / 2], 1)
    K = rig.K[camera]
    und = normalized_to_pixels(undistort_points(corners, K, rig.dist[camera] if has_dist else None), K)
    return low, torch.cat([und.mean(1), (und[:, 1] - und[:, 0]).abs().amax(-1)[:, None]], -1), ok
