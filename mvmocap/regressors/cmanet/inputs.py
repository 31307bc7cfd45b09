"""Detections -> CMANet's per-view inputs: COCO-17 keypoints in a square crop of each view.

Each view is read in its own crop (the paper's 256 x 256 input), in "crop pixels" ``[0, 256)``, with a
fixed pinhole (focal :data:`FOCAL_PX`, principal point the crop's centre): the camera model of the
paper (3.1: "a perspective camera model with fixed focal length and intrinsics K"). No calibration.
Shapes: ``B`` frame-sets, ``V`` views, ``J = 17``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.synth.evidence import bounding_boxes, square_crops

CROP_PX = 256.0
FOCAL_PX = 5000.0  # SPIN's focal for its 224-px crops; nearly weak perspective
NUM_JOINTS = 17
CROP_SCALE = 1.2


def crop_keypoints(keypoints: Tensor, min_confidence: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    """``keypoints (B, V, J>=17, 3)`` pixels + confidence -> ``uv (B, V, 17, 2)`` crop pixels,
    ``confidence (B, V, 17)`` (0 below ``min_confidence``: CMANet's filter lambda) and the crops
    ``(B, V, 3)`` (centre x, y, side; pixels of the image)."""
    kp = torch.nan_to_num(torch.as_tensor(keypoints, dtype=torch.float32)[..., :NUM_JOINTS, :])
    conf = torch.where(kp[..., 2] >= max(min_confidence, 1e-6), kp[..., 2], torch.zeros_like(kp[..., 2]))
    crops = square_crops(bounding_boxes(kp[..., :2], conf > 0), CROP_SCALE)
    corner = crops[..., None, :2] - crops[..., None, 2:] / 2
    uv = (kp[..., :2] - corner) / crops[..., None, 2:] * CROP_PX
    return uv * (conf[..., None] > 0), conf, crops


def network_input(uv: Tensor, confidence: Tensor) -> Tensor:
    """``(B, V, 17 * 3)``: the crop keypoints in ``[-1, 1]`` and their confidences (0 where missing)."""
    centred = (uv / (CROP_PX / 2) - 1) * (confidence[..., None] > 0)
    return torch.cat([centred, confidence[..., None]], -1).flatten(-2)
