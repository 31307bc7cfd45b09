"""Evidence -> MetaPose's inputs: per-view normalised 2D, their Gaussian mixtures, monocular 3D.

Shapes: ``B`` frame-sets, ``C`` views, ``J = 17`` COCO joints.

Each view's 2D is normalised on its own (the paper assumes "the subject is of comparable size (in
pixels) across all views", section 3.3): the centre is the confidence-weighted mean of the
detected joints and the unit the side of their box, so the person spans about 1 unit in every
view whatever the camera's resolution and distance. The reprojection loss (eq. 16) and the
network's inputs are in these units; ``centre`` and ``box`` map them back to pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.keypoints import COCO17, flip_permutation
from mvmocap.regressors.metapose.gmm import JointGMM, heatmap_gmm, point_gmm
from mvmocap.synth.evidence import keypoint_box_size
from mvmocap.synth.realistic import RealisticNoise

NUM_JOINTS = 17
MIN_VIEW_JOINTS = 4  # a view needs this many detected joints to take part


def reference_view(confidence: Tensor) -> int:
    """The view that sees the person (>= :data:`MIN_VIEW_JOINTS` joints) in the most frame-sets, the
    first on ties: MetaPose's camera 0 on real sequences. ``confidence``: ``(F, C, J)`` (0 = missing)."""
    seen = ((confidence > 0).sum(-1) >= MIN_VIEW_JOINTS).sum(0)  # (C,)
    return int(torch.argmax(seen)) if seen.numel() else 0


@dataclass(frozen=True)
class MetaPoseInputs:
    """Attributes:
        keypoints: ``(B, C, J, 2)`` normalised 2D; confidence: ``(B, C, J)`` (0 = missing).
        gmm: the per-joint mixtures in normalised units.
        mono3d: ``(B, C, J, 3)`` monocular joints, metres, root-relative, camera axes; mono_weight ``(B, C, J)``.
        view_valid: ``(B, C)`` bool, views taking part (missing views: all zeros, masked out).
        centre: ``(B, C, 2)`` px; box: ``(B, C)`` px per normalised unit.
    """

    keypoints: Tensor
    confidence: Tensor
    gmm: JointGMM
    mono3d: Tensor
    mono_weight: Tensor
    view_valid: Tensor
    centre: Tensor
    box: Tensor

    def to_pixels(self, points: Tensor) -> Tensor:
        """Normalised ``(B, C, N, 2)`` -> pixels."""
        return points * self.box[..., None, None] + self.centre[..., None, :]

    def normalise(self, pixels: Tensor) -> Tensor:
        """Pixels ``(B, C, N, 2)`` -> normalised units."""
        return (pixels - self.centre[..., None, :]) / self.box[..., None, None]


def normalise_views(keypoints: Tensor, confidence: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``keypoints (..., C, J, 2)`` px, ``confidence (..., C, J)`` -> normalised keypoints (0 where
    missing), ``centre (..., C, 2)`` px, ``box (..., C)`` px (1 for a view without joints)."""
    seen = confidence > 0
    w = seen.to(keypoints.dtype)
    centre = (keypoints * w[..., None]).sum(-2) / w.sum(-1, keepdim=True).clamp(min=1)
    box = keypoint_box_size(keypoints, seen)
    box = torch.where(box > 0, box, torch.ones_like(box))
    normalised = (keypoints - centre[..., None, :]) / box[..., None, None]
    return normalised * w[..., None], centre, box


def prepare_inputs(keypoints: Tensor, confidence: Tensor, mono3d: Tensor, mono_weight: Tensor,
                   view_valid: Tensor | None = None, noise: RealisticNoise | None = None,
                   repair_flips: bool = True, outlier_weight: float = 0.0, heatmaps: Tensor | None = None,
                   crops: Tensor | None = None, components: int = 4) -> MetaPoseInputs:
    """:class:`MetaPoseInputs` from detections: ``keypoints (B, C, J, 2)`` px, ``confidence (B, C, J)``,
    ``mono3d (B, C, J, 3)`` metres, ``mono_weight (B, C, J)``, ``view_valid (B, C)`` (None: views
    with at least :data:`MIN_VIEW_JOINTS` detected joints). Points give ``M = 1`` mixtures (``M = 2``
    with an ``outlier_weight``, :func:`mvmocap.regressors.metapose.gmm.point_gmm`).

    ``repair_flips``: views whose monocular pose is mirrored relative to the majority
    (:func:`mvmocap.calibrate.init_procrustes.mono_flips`) get their 2D and monocular 3D left and
    right exchanged (a lifter mirrors both together), so every view has the same labelling.

    ``heatmaps (B, C, J, S, S)`` over ``crops (B, C, 3)``: the mixtures are fitted to them instead
    (``components`` each, :func:`mvmocap.regressors.metapose.gmm.heatmap_gmm`)."""
    J = keypoints.shape[-2]
    if J != NUM_JOINTS or mono3d.shape[-2] != NUM_JOINTS:
        raise InputError(f"metapose takes COCO-17 joints, got {J} 2D and {mono3d.shape[-2]} monocular 3D")
    valid = (confidence > 0).sum(-1) >= MIN_VIEW_JOINTS
    view_valid = valid if view_valid is None else view_valid.bool() & valid
    confidence = confidence * view_valid[..., None]
    mono_weight = mono_weight * view_valid[..., None]
    if repair_flips:
        keypoints, confidence, mono3d, mono_weight, heatmaps = _repaired(keypoints, confidence, mono3d, mono_weight,
                                                                         heatmaps)
    normalised, centre, box = normalise_views(keypoints, confidence)
    if heatmaps is not None:
        if crops is None:
            raise InputError("metapose: heatmaps need their crops")
        heatmaps = heatmaps * view_valid[..., None, None, None].to(heatmaps.dtype)
        gmm = heatmap_gmm(heatmaps, crops, centre, box, components)
    else:
        gmm = point_gmm(normalised, confidence, noise, outlier_weight)
    return MetaPoseInputs(normalised, confidence, gmm, mono3d * view_valid[..., None, None], mono_weight, view_valid,
                          centre, box)


def _repaired(keypoints: Tensor, confidence: Tensor, mono3d: Tensor, mono_weight: Tensor, heatmaps: Tensor | None = None):
    """Left and right exchanged in the views :func:`mono_flips` flags (2D, monocular 3D, heatmaps)."""
    from mvmocap.calibrate.init_procrustes import mono_flips

    flips = mono_flips(mono3d, mono_weight)  # (B, C)
    perm = list(flip_permutation(COCO17))
    points, scalars = flips[..., None, None], flips[..., None]
    if heatmaps is not None:
        heatmaps = torch.where(points[..., None], heatmaps[..., perm, :, :], heatmaps)
    return (torch.where(points, keypoints[..., perm, :], keypoints), torch.where(scalars, confidence[..., perm], confidence),
            torch.where(points, mono3d[..., perm, :], mono3d), torch.where(scalars, mono_weight[..., perm], mono_weight),
            heatmaps)


def check_frame_sets(keypoints: Tensor, confidence: Tensor) -> None:
    """:class:`InputError` unless there are >= 2 cameras and, in some frame-set, >= 2 views see the person.

    ``keypoints (B, C, J, 2)``, ``confidence (B, C, J)``."""
    if keypoints.dim() != 4 or keypoints.shape[-1] != 2 or confidence.shape != keypoints.shape[:-1]:
        raise InputError(f"metapose: keypoints must be (frames, cameras, joints, 2) with a confidence each, got "
                         f"{tuple(keypoints.shape)} and {tuple(confidence.shape)}")
    if keypoints.shape[1] < 2:
        raise InputError(f"metapose estimates cameras from several views: it needs at least 2 cameras, got {keypoints.shape[1]}")
    seen_views = ((confidence > 0).sum(-1) >= MIN_VIEW_JOINTS).sum(-1)
    if keypoints.shape[0] == 0 or not bool((seen_views >= 2).any()):
        raise InputError("metapose: no person detected in at least 2 views in any frame")
