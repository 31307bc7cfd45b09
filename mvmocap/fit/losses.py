"""Energy terms of multi-view SMPLify: pure, batched, differentiable torch functions.

Every data term is a robust, dimensionless "(error / sigma)^2" that saturates
for outliers, summed over cameras and joints and averaged over frames, so that
the weights of :class:`mvmocap.fit.smplify.FitConfig` balance terms of
comparable size whatever the sequence length.

Pose convention (SMPL): ``body_pose (..., 23, 3)`` axis-angle, joint k of the
24-joint tree is ``body_pose[..., k - 1, :]``, rotations expressed in the body
rest frame (x = the subject's left, y up, z = the subject's front).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def geman_mcclure(squared_residual: Tensor, sigma: float | Tensor) -> Tensor:
    """Geman-McClure robust penalty of a squared residual, same shape as the input.

    ``rho(r) = sigma^2 r^2 / (sigma^2 + r^2)``: about ``r^2`` for ``r << sigma``
    and tending to ``sigma^2`` for outliers (units of ``sigma^2``).
    """
    s2 = torch.as_tensor(sigma, dtype=squared_residual.dtype, device=squared_residual.device) ** 2
    return s2 * squared_residual / (s2 + squared_residual)


def reprojection_term(
    projected: Tensor, observed: Tensor, confidence: Tensor, sigma_px: float, per_frame: bool = False
) -> Tensor:
    """Confidence-weighted robust 2D reprojection energy (dimensionless scalar).

    Args:
        projected: ``(F, C, J, 2)`` pixels, model points projected into every camera.
        observed: ``(F, C, J, 2)`` pixels, detections.
        confidence: ``(F, C, J)`` in [0, 1], 0 = missing.
        sigma_px: Geman-McClure scale in pixels.
        per_frame: return the ``(F,)`` energies of the frames instead of their mean.

    Returns ``mean_f sum_{c,j} w rho(|projected - observed|; sigma) / sigma^2``.
    """
    squared = ((projected - observed) ** 2).sum(-1)
    rho = geman_mcclure(squared, sigma_px) / sigma_px**2
    energies = (confidence * rho).sum(dim=(-1, -2))
    return energies if per_frame else energies.mean()


def joints3d_term(
    model_joints: Tensor, target: Tensor, confidence: Tensor, sigma_m: float, per_frame: bool = False
) -> Tensor:
    """Confidence-weighted robust 3D joint energy (dimensionless scalar, or ``(F,)`` with ``per_frame``).

    ``model_joints``, ``target``: ``(F, J, 3)`` metres; ``confidence (F, J)``;
    ``sigma_m``: Geman-McClure scale in metres.
    """
    squared = ((model_joints - target) ** 2).sum(-1)
    rho = geman_mcclure(squared, sigma_m) / sigma_m**2
    energies = (confidence * rho).sum(-1)
    return energies if per_frame else energies.mean()


def shape_prior(betas: Tensor) -> Tensor:
    """``|beta|^2`` summed over the last dim; ``betas (..., B)`` -> ``(...)``."""
    return (betas**2).sum(-1)


def pose_prior(body_pose: Tensor, mean: Tensor | None = None) -> Tensor:
    """Weak L2 pull of the body joints towards ``mean`` (axis-angle, broadcast against
    ``body_pose``; None: the rest pose, zeros): ``(F, 23, 3)`` -> scalar (mean over frames)."""
    offset = body_pose if mean is None else body_pose - mean
    return (offset**2).sum(dim=(-1, -2)).mean()


@dataclass(frozen=True)
class HingeJoint:
    """An (approximately) one-axis joint of the SMPL tree.

    ``index`` into body_pose (SMPL joint - 1), ``axis`` 0/1/2 of the rest frame,
    ``sign`` so that ``sign * body_pose[..., index, axis]`` is the flexion
    (positive for the natural bending direction), ``max_flexion`` in radians.
    """

    name: str
    index: int
    axis: int
    sign: float
    max_flexion: float


# Knees flex about the subject's left axis (foot moves backwards); elbows about
# the vertical axis of the T-pose (forearm moves forwards), in opposite senses
# left and right. SMPLify penalises the same four components.
HINGE_JOINTS = (
    HingeJoint("left_knee", 3, 0, 1.0, 2.6),
    HingeJoint("right_knee", 4, 0, 1.0, 2.6),
    HingeJoint("left_elbow", 17, 1, -1.0, 2.7),
    HingeJoint("right_elbow", 18, 1, 1.0, 2.7),
)


def bending_prior(body_pose: Tensor, hinges: tuple[HingeJoint, ...] = HINGE_JOINTS) -> Tensor:
    """Penalty on elbows and knees bent the wrong way or beyond their range.

    ``body_pose (..., 23, 3)`` axis-angle -> ``(...)``: sum over the hinges of
    ``relu(-flexion)^2 + relu(flexion - max_flexion)^2``. Zero at rest and for
    natural bending; positive (growing quadratically) when violated.
    """
    total = body_pose.new_zeros(body_pose.shape[:-2])
    for h in hinges:
        flexion = h.sign * body_pose[..., h.index, h.axis]
        total = total + torch.relu(-flexion) ** 2 + torch.relu(flexion - h.max_flexion) ** 2
    return total


def hinge_off_axis_prior(body_pose: Tensor, hinges: tuple[HingeJoint, ...] = HINGE_JOINTS) -> Tensor:
    """Squared rotation of elbows and knees about their two non-hinge axes: ``(..., 23, 3)`` -> ``(...)``.

    Keeps the one-degree-of-freedom joints from twisting, which the keypoints
    alone cannot see (the forearm's roll is carried by the wrist anyway).
    """
    total = body_pose.new_zeros(body_pose.shape[:-2])
    for h in hinges:
        rot = body_pose[..., h.index, :]
        off = torch.cat([rot[..., : h.axis], rot[..., h.axis + 1 :]], dim=-1)
        total = total + (off**2).sum(-1)
    return total


def temporal_smoothness(sequence: Tensor, order: int = 2) -> Tensor:
    """Mean squared finite difference of ``order`` along dim 0.

    ``sequence (F, ...)`` -> scalar: ``mean_f sum_rest |Delta^order x_f|^2``;
    0 when there are not more than ``order`` frames.
    """
    if sequence.shape[0] <= order:
        return sequence.new_zeros(())
    diff = sequence
    for _ in range(order):
        diff = diff[1:] - diff[:-1]
    return (diff**2).reshape(diff.shape[0], -1).sum(-1).mean()
