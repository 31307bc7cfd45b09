"""The collaborative paper's training loss (Li, Oskarsson & Heyden, ../shared/papers/collaborative-mv-smplify.md, eq. 1-6).

``L = w1 L_2D + w2 L_3D + w3 L_Theta + w4 L_M`` (eq. 6), "defined by mean squared loss function",
with the paper's weights: "the weights of each sub-loss (w1, ..., w4) are (5.0, 5.0, 1.0, 0.001)"
(section 3.5, :data:`PAPER_WEIGHTS`).

* ``L_2D`` (eq. 1): the regressed joints projected into every view against the *detected* 2D
  joints (the paper's "J_gt" are the 2D keypoints; no 3D label). The cameras are calibrated here, so
  the projection is the rig's (lens distortion included), not a regressed weak-perspective camera;
  errors are in crop units (``2 px / crop side``, the [-1, 1]-across-the-crop scale of the
  network's own 2D loss); detections under a confidence threshold are left out and the others
  weighted by their confidence (CMANet eq. 1's ``C_Filt``).
* ``L_3D`` (eq. 5): regressed against fitted COCO-17 joints, both relative to their mid-hip, metres.
* ``L_Theta`` (eq. 3): regressed against fitted parameters: the 24 joint rotations as matrices
  (global orientation and body pose) plus the betas, weighed ``betas_weight`` (0.001 in
  :class:`mvmocap.adapt.AdaptConfig`, as SPIN: the paper lumps both into one Theta).
* ``L_M`` (eq. 4): regressed against fitted vertices, relative to the mid-hip, every
  ``vertex_stride``-th vertex, metres.

Shapes: B frame-sets of C views; joints COCO-17. Each term is averaged over the frame-sets whose
weight is non-zero (the frames with a cached fit, for the three fit terms). ``total``: the
denominator of that average when the batch is one process's share of a larger one (the weights'
sum over every process, :mod:`mvmocap.adapt.shards`); None = this batch's own.
"""

from __future__ import annotations

import torch
from torch import Tensor

HIPS = (11, 12)
PAPER_WEIGHTS = {"w_2d": 5.0, "w_3d": 5.0, "w_theta": 1.0, "w_mesh": 0.001}


def _root_relative(points: Tensor, joints: Tensor) -> Tensor:
    """``points (B, N, 3)`` minus the mid-hip of ``joints (B, J, 3)``."""
    return points - joints[:, list(HIPS)].mean(-2, keepdim=True)


def _weighted_mean(per_sample: Tensor, weight: Tensor, total: Tensor | None = None) -> Tensor:
    return (per_sample * weight).sum() / (weight.sum() if total is None else total).clamp(min=1e-8)


def keypoint_weights(detected: Tensor, min_confidence: float = 0.0) -> Tensor:
    """The 2D loss's weights ``(B, C, J)``: the confidence of ``detected (B, C, J, 3)``, 0 under ``min_confidence``."""
    confidence = detected[..., 2]
    return torch.where(confidence >= min_confidence, confidence, torch.zeros_like(confidence))


def keypoint_2d_loss(projected: Tensor, detected: Tensor, scale: Tensor, min_confidence: float = 0.0,
                     total: Tensor | None = None) -> Tensor:
    """Eq. 1: confidence-weighted mean squared 2D error in crop units.

    ``projected (B, C, J, 2)`` px, ``detected (B, C, J, 3)`` px + confidence, ``scale (B, C)`` px
    (crop side); detections with confidence below ``min_confidence`` count 0.
    """
    weight = keypoint_weights(detected, min_confidence)
    squared = (((projected - detected[..., :2]) * (2.0 / scale[..., None, None])) ** 2).sum(-1)  # (B, C, J)
    return _weighted_mean(squared, weight, total)


def joints_3d_loss(joints: Tensor, target: Tensor, weight: Tensor, total: Tensor | None = None) -> Tensor:
    """Eq. 5: mean squared error of mid-hip-relative ``joints (B, J, 3)`` against ``target (B, J, 3)``
    (metres), per frame-set weighted by ``weight (B,)``."""
    error = ((_root_relative(joints, joints) - _root_relative(target, target)) ** 2).mean((-1, -2))
    return _weighted_mean(error, weight, total)


def parameter_loss(rotations: Tensor, betas: Tensor, target_rotations: Tensor, target_betas: Tensor,
                   weight: Tensor, betas_weight: float = 1.0, total: Tensor | None = None) -> Tensor:
    """Eq. 3: mean squared error of the rotation matrices ``(B, 24, 3, 3)`` plus ``betas_weight`` times
    that of the betas ``(B, S)``, per frame-set weighted by ``weight (B,)``. (The paper lumps pose and
    shape into one Θ; SPIN, its base, weighs the betas 0.001 against the pose.)"""
    error = (((rotations - target_rotations) ** 2).mean((-1, -2, -3))
             + betas_weight * ((betas - target_betas) ** 2).mean(-1))
    return _weighted_mean(error, weight, total)


def mesh_loss(vertices: Tensor, joints: Tensor, target_vertices: Tensor, target_joints: Tensor,
              weight: Tensor, total: Tensor | None = None) -> Tensor:
    """Eq. 4: mean squared error of the vertices ``(B, V, 3)`` (metres), each relative to its own
    body's mid-hip (``joints``, ``target_joints (B, J, 3)``), weighted by ``weight (B,)``."""
    error = ((_root_relative(vertices, joints) - _root_relative(target_vertices, target_joints)) ** 2).mean((-1, -2))
    return _weighted_mean(error, weight, total)


def collaborative_loss(terms: dict[str, Tensor], weights: dict[str, float] | None = None) -> Tensor:
    """Eq. 6: ``w1 L_2D + w2 L_3D + w3 L_Theta + w4 L_M`` of ``terms`` (keys ``2d``, ``3d``, ``theta``,
    ``mesh``; a missing term counts 0) with ``weights`` (default :data:`PAPER_WEIGHTS`)."""
    w = {**PAPER_WEIGHTS, **(weights or {})}
    total = None
    for name, value in terms.items():
        part = w[f"w_{name}"] * value
        total = part if total is None else total + part
    return total
