"""2D evidence that looks like a real detector's: projected keypoints, square crops, Gaussian
heatmaps, a detector noise model, and augmentations (PartDrop, occluding rectangles, joint
jitter, missing views).

Pixel convention: OpenCV (pixel centres at integer coordinates). A crop is ``(cx, cy, side)``
in full-image pixels: the square ``[cx - side/2, cx + side/2]^2`` resampled to ``S x S`` pixels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.keypoints import COCO17, flip_permutation

CROP_SCALE = 1.2


# -- crops ----------------------------------------------------------------------------------------
def bounding_boxes(points: Tensor, valid: Tensor | None = None) -> Tensor:
    """Axis-aligned boxes ``(..., 4)`` (x0, y0, x1, y1) of ``points (..., N, 2)`` px over the ``valid (..., N)`` ones.

    All-invalid sets give a zero box.
    """
    if valid is None:
        valid = torch.ones(points.shape[:-1], dtype=torch.bool, device=points.device)
    big = torch.finfo(points.dtype).max
    x, y = points[..., 0], points[..., 1]
    x0 = torch.where(valid, x, big).amin(-1)
    y0 = torch.where(valid, y, big).amin(-1)
    x1 = torch.where(valid, x, -big).amax(-1)
    y1 = torch.where(valid, y, -big).amax(-1)
    box = torch.stack([x0, y0, x1, y1], -1)
    return torch.where(valid.any(-1, keepdim=True), box, torch.zeros_like(box))


def keypoint_box_size(points: Tensor, valid: Tensor | None = None) -> Tensor:
    """Longer side ``(...)`` px of the box of ``points (..., J, 2)``: the unit of :class:`DetectorNoise`."""
    box = bounding_boxes(points, valid)
    return torch.maximum(box[..., 2] - box[..., 0], box[..., 3] - box[..., 1])


def square_crops(boxes: Tensor, scale: float = CROP_SCALE) -> Tensor:
    """Square crops ``(..., 3)`` (cx, cy, side) around ``boxes (..., 4)``: side = scale * the longer box side."""
    cx = 0.5 * (boxes[..., 0] + boxes[..., 2])
    cy = 0.5 * (boxes[..., 1] + boxes[..., 3])
    side = scale * torch.maximum(boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]).clamp(min=1.0)
    return torch.stack([cx, cy, side], -1)


def crop_transform(crops: Tensor, size: int) -> Tensor:
    """The affine map ``(..., 3, 3)`` from full-image pixels to the ``size x size`` crop's pixels."""
    s = size / crops[..., 2]
    a = crops[..., 0] - crops[..., 2] / 2
    b = crops[..., 1] - crops[..., 2] / 2
    A = torch.zeros(crops.shape[:-1] + (3, 3), dtype=crops.dtype, device=crops.device)
    A[..., 0, 0] = s
    A[..., 1, 1] = s
    # Continuous crop edge a maps to -0.5 (the left edge of crop pixel 0).
    A[..., 0, 2] = -a * s - 0.5
    A[..., 1, 2] = -b * s - 0.5
    A[..., 2, 2] = 1.0
    return A


def to_crop(points: Tensor, crops: Tensor, size: int) -> Tensor:
    """Full-image pixels ``(..., N, 2)`` -> crop pixels ``(..., N, 2)`` for ``crops (..., 3)``."""
    A = crop_transform(crops, size)
    return points * torch.stack([A[..., 0, 0], A[..., 1, 1]], -1).unsqueeze(-2) + A[..., :2, 2].unsqueeze(-2)


def crop_intrinsics(K: Tensor, crops: Tensor, size: int) -> Tensor:
    """Intrinsics ``(..., 3, 3)`` that project straight into the crop (``K (..., 3, 3)``, no distortion)."""
    return crop_transform(crops, size) @ K


# -- heatmaps -------------------------------------------------------------------------------------
def gaussian_heatmaps(points: Tensor, confidence: Tensor, size: int, sigma: float = 2.0) -> Tensor:
    """Heatmaps ``(..., J, size, size)`` with a unit-peak Gaussian at each of ``points (..., J, 2)``.

    ``points`` in the heatmap's pixels; ``confidence (..., J)`` scales each map (0 = empty map).
    """
    grid = torch.arange(size, dtype=points.dtype, device=points.device)
    # Separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) * exp(-dy^2 / 2s^2).
    gx = torch.exp(-((grid - points[..., 0:1]) ** 2) / (2 * sigma * sigma))  # (..., J, size)
    gy = torch.exp(-((grid - points[..., 1:2]) ** 2) / (2 * sigma * sigma)) * confidence[..., None]
    return gy.unsqueeze(-1) * gx.unsqueeze(-2)


# -- detector noise -------------------------------------------------------------------------------
# Fitted to BlazePose (mediapipe 0.10.14, model complexity as in mvmocap.detect) on the shared
# pose2sim demo (4 cameras x 100 frames, one subject) against the reprojection of the robustly
# triangulated joints, 2026-11-21, by:
#     .venv/bin/python benchmarks/synth_noise_model.py
# Unit: the longer side of the 17-joint box (median 664 px there). One short capture: treat as a
# first estimate. BlazePose reported no dropped joint there (dropout 0).
_BLAZEPOSE_SIGMA = (
    0.0210, 0.0215, 0.0182, 0.0139, 0.0144, 0.0153, 0.0171, 0.0161, 0.0103,
    0.0129, 0.0111, 0.0167, 0.0182, 0.0159, 0.0146, 0.0189, 0.0151,
)


@dataclass(frozen=True)
class DetectorNoise:
    """A detector's error model, in units of the person's size: the longer side of the box of
    the 17 true joints (:func:`keypoint_box_size`).

    Attributes:
        sigma: ``J`` per-joint std of the isotropic Gaussian error, per axis, / box size.
        outlier_rate: probability that a joint is an outlier (error std ``outlier_sigma``).
        outlier_sigma: std of outliers / box size.
        dropout: probability that a joint is missing (confidence 0).
        swap_rate: probability that a whole view has left and right exchanged.
        confidence_range: confidences of kept joints are uniform in this range.
        fitted: whether the figures were measured (see the comment above the defaults).
        source: how the figures were obtained.
    """

    sigma: tuple[float, ...] = _BLAZEPOSE_SIGMA
    outlier_rate: float = 0.0100
    outlier_sigma: float = 0.1777
    dropout: float = 0.0
    swap_rate: float = 0.0775
    confidence_range: tuple[float, float] = (0.80, 1.00)
    fitted: bool = True
    source: str = "BlazePose on the pose2sim demo (benchmarks/synth_noise_model.py, 2026-11-21)"

    def to_dict(self) -> dict:
        return asdict(self)

    def apply(self, points: Tensor, box_size: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Noisy detections from true projections.

        Args:
            points: ``(..., J, 2)`` true pixels (J = len(sigma), COCO order).
            box_size: ``(...)`` pixels, :func:`keypoint_box_size` of the true joints.
            generator: the only source of randomness.

        Returns:
            ``(points (..., J, 2), confidence (..., J))``; dropped joints have confidence 0 and x = y = 0.
        """
        J = points.shape[-2]
        if len(self.sigma) < J:
            raise InputError(f"the noise model has {len(self.sigma)} joints, the points {J}")
        dt, dev = points.dtype, points.device
        shape = points.shape[:-1]

        def rand(*s):
            return torch.rand(s, generator=generator, dtype=dt).to(dev)

        def randn(*s):
            return torch.randn(s, generator=generator, dtype=dt).to(dev)

        sigma = torch.as_tensor(self.sigma[:J], dtype=dt, device=dev)
        outlier = rand(*shape) < self.outlier_rate
        std = torch.where(outlier, torch.full_like(outlier, self.outlier_sigma, dtype=dt), sigma.expand(shape))
        noisy = points + randn(*points.shape) * (std * box_size[..., None]).unsqueeze(-1)
        swap = rand(*shape[:-1]) < self.swap_rate
        if J >= 17:
            perm = torch.as_tensor(flip_permutation(COCO17) + tuple(range(17, J)), device=dev)
            noisy = torch.where(swap[..., None, None], noisy[..., perm, :], noisy)
        lo, hi = self.confidence_range
        conf = lo + (hi - lo) * rand(*shape)
        keep = rand(*shape) >= self.dropout
        conf = torch.where(keep, conf, torch.zeros_like(conf))
        noisy = torch.where(keep[..., None], noisy, torch.zeros_like(noisy))
        return noisy, conf


DEFAULT_NOISE = DetectorNoise()


# -- augmentations --------------------------------------------------------------------------------
def part_drop(iuv: Tensor, mask: Tensor, generator: torch.Generator, probability: float = 0.1) -> tuple[Tensor, Tensor]:
    """PartDrop: each of the 24 parts vanishes from ``iuv (..., 3, H, W)`` and ``mask (..., H, W)`` with ``probability``.

    Drops are drawn independently for every leading index (view).
    """
    lead = iuv.shape[:-3]
    drop = torch.rand(lead + (25,), generator=generator).to(iuv.device) < probability
    drop[..., 0] = False
    part = iuv[..., 0, :, :].round().long().clamp(0, 24)
    gone = torch.gather(drop.reshape(-1, 25), 1, part.reshape(drop.reshape(-1, 25).shape[0], -1)).reshape(part.shape)
    keep = (~gone).to(iuv.dtype)
    return iuv * keep.unsqueeze(-3), mask * keep.to(mask.dtype)


def random_rectangles(
    shape: tuple[int, ...], size: int, generator: torch.Generator, probability: float = 0.3,
    min_frac: float = 0.1, max_frac: float = 0.4,
) -> Tensor:
    """Occluder masks ``shape + (size, size)`` bool: with ``probability`` one random rectangle per image
    (sides between ``min_frac`` and ``max_frac`` of the image), else empty."""
    n = int(torch.tensor(shape).prod()) if shape else 1
    present = torch.rand(n, generator=generator) < probability
    wh = (min_frac + (max_frac - min_frac) * torch.rand(n, 2, generator=generator)) * size
    xy = torch.rand(n, 2, generator=generator) * (size - wh)
    grid = torch.arange(size, dtype=torch.float32)
    inx = (grid >= xy[:, :1]) & (grid < xy[:, :1] + wh[:, :1])  # (n, size)
    iny = (grid >= xy[:, 1:]) & (grid < xy[:, 1:] + wh[:, 1:])
    rect = iny[:, :, None] & inx[:, None, :] & present[:, None, None]
    return rect.reshape(tuple(shape) + (size, size))


def occlude(
    occluder: Tensor, mask: Tensor, iuv: Tensor | None, keypoints: Tensor, confidence: Tensor, size: int
) -> tuple[Tensor, Tensor | None, Tensor]:
    """Apply occluders ``(..., S, S)`` bool: clear mask/IUV under them and zero the confidence of
    keypoints ``(..., J, 2)`` (crop pixels of an ``S``-sized crop) that fall under them."""
    keep = (~occluder).to(mask.dtype)
    mask = mask * keep
    if iuv is not None:
        iuv = iuv * keep.unsqueeze(-3).to(iuv.dtype)
    ix = keypoints[..., 0].round().long()
    iy = keypoints[..., 1].round().long()
    inside = (ix >= 0) & (ix < size) & (iy >= 0) & (iy < size)
    flat = occluder.reshape(-1, size * size)
    lin = (iy.clamp(0, size - 1) * size + ix.clamp(0, size - 1)).reshape(flat.shape[0], -1)
    hidden = torch.gather(flat, 1, lin).reshape(ix.shape) & inside
    return mask, iuv, torch.where(hidden, torch.zeros_like(confidence), confidence)


def joint_jitter(points: Tensor, box_size: Tensor, generator: torch.Generator, sigma: float = 0.01) -> Tensor:
    """Extra isotropic jitter ``sigma * box_size`` px on ``points (..., J, 2)`` (``box_size (...)``)."""
    noise = torch.randn(points.shape, generator=generator, dtype=points.dtype).to(points.device)
    return points + noise * sigma * box_size[..., None, None]


def missing_views(num_views: int, generator: torch.Generator, probability: float = 0.1, min_views: int = 2) -> Tensor:
    """``(num_views,)`` bool, True = the view is kept; each view is lost with ``probability``,
    but at least ``min(min_views, num_views)`` views stay."""
    keep = torch.rand(num_views, generator=generator) >= probability
    need = min(min_views, num_views)
    if int(keep.sum()) < need:
        order = torch.randperm(num_views, generator=generator)
        keep[order[:need]] = True
    return keep


def active_views(num_views: int, min_views: int, generator: torch.Generator) -> Tensor:
    """``(num_views,)`` bool: a uniformly drawn number of views in ``min_views..num_views``, at
    uniformly drawn positions, are True (how a sample of a fixed-size rig stands for smaller rigs)."""
    count = int(torch.randint(min_views, num_views + 1, (), generator=generator))
    keep = torch.zeros(num_views, dtype=torch.bool)
    keep[torch.randperm(num_views, generator=generator)[:count]] = True
    return keep


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities of the augmentations (0 disables one)."""

    part_drop: float = 0.05
    occluder: float = 0.2
    joint_jitter: float = 0.0
    missing_view: float = 0.0
    box_jitter: float = 0.05

    @classmethod
    def none(cls) -> "AugmentConfig":
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


__all__ = [
    "AugmentConfig", "CROP_SCALE", "active_views", "DEFAULT_NOISE", "DetectorNoise", "bounding_boxes", "crop_intrinsics",
    "crop_transform", "gaussian_heatmaps", "keypoint_box_size", "joint_jitter", "missing_views", "occlude", "part_drop",
    "random_rectangles", "square_crops", "to_crop",
]
