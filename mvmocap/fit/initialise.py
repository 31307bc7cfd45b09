"""Geometric initialisation of the fit from triangulated joints.

The body's rest frame (y up, z = the subject's front, x = the subject's left)
is turned into the world (+Z up) per frame by rigidly aligning the model's
torso keypoints (both shoulders and hips) with the triangulated ones; the
translation then puts the model's torso on the triangulated torso.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.fit.model import KeypointModel
from mvmocap.body.params import NUM_BODY_JOINTS, BodyParams, fill_invalid_frames
from mvmocap.geometry.procrustes import rigid_procrustes
from mvmocap.geometry.rotations import matrix_to_axis_angle
from mvmocap.keypoints import COCO23

TORSO = tuple(COCO23.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))

# SMPL joints 16/17 (shoulders) are body_pose rows 15/16; turning them about the
# rest frame's z axis lowers the arms from the T-pose (left by -angle, right by +angle).
LEFT_SHOULDER_ROW, RIGHT_SHOULDER_ROW = 15, 16


def rest_body_pose(
    num_frames: int, arm_drop: float = 1.1, dtype: torch.dtype = torch.float32, device=None
) -> Tensor:
    """``(F, 23, 3)`` zero pose with both arms lowered by ``arm_drop`` radians (an A-pose).

    People stand with their arms down far more often than in a T-pose, so this
    starts the optimiser nearer the usual answer.
    """
    pose = torch.zeros(num_frames, NUM_BODY_JOINTS, 3, dtype=dtype, device=device)
    pose[:, LEFT_SHOULDER_ROW, 2] = -arm_drop
    pose[:, RIGHT_SHOULDER_ROW, 2] = arm_drop
    return pose


def torso_alignment(
    model_torso: Tensor, target_torso: Tensor, confidence: Tensor
) -> tuple[Tensor, Tensor]:
    """Per-frame rotation aligning the rest-pose torso to the triangulated torso.

    Args:
        model_torso: ``(4, 3)`` or ``(F, 4, 3)`` metres, body rest frame (shoulders L/R, hips L/R).
        target_torso: ``(F, 4, 3)`` metres, world.
        confidence: ``(F, 4)``; a point with 0 is ignored.

    Returns:
        ``R (F, 3, 3)`` rest frame -> world, and ``ok (F,)`` bool: at least 3
        torso points seen (the alignment is determined). Where not ok, R = I.
    """
    F = target_torso.shape[0]
    source = model_torso.expand(F, -1, -1)
    ok = (confidence > 0).sum(-1) >= 3
    weights = torch.where(ok.unsqueeze(-1), confidence.clamp(min=0), torch.ones_like(confidence))
    target = torch.where(ok[:, None, None], target_torso, source)
    R, _ = rigid_procrustes(source, target, weights)
    eye = torch.eye(3, dtype=R.dtype, device=R.device).expand_as(R)
    return torch.where(ok[:, None, None], R, eye), ok


def translation_to_fit(
    model_points: Tensor, target: Tensor, confidence: Tensor
) -> tuple[Tensor, Tensor]:
    """Confidence-weighted mean offset ``target - model_points``: ``(F, J, 3)`` x2, ``(F, J)`` -> ``(F, 3)``, ok ``(F,)``."""
    w = confidence.clamp(min=0)
    total = w.sum(-1)
    ok = total > 0
    offset = ((target - model_points) * w.unsqueeze(-1)).sum(-2) / total.clamp(min=1e-12).unsqueeze(-1)
    return torch.where(ok.unsqueeze(-1), offset, torch.zeros_like(offset)), ok


def initial_params(
    model: KeypointModel,
    joints3d: Tensor,
    confidence: Tensor,
    *,
    betas: Tensor | None = None,
    body_pose: Tensor | None = None,
    arm_drop: float = 1.1,
) -> BodyParams:
    """Initial parameters for every frame from triangulated COCO-23 joints.

    Args:
        model: the keypoint model.
        joints3d: ``(F, 23, 3)`` metres, world (+Z up).
        confidence: ``(F, 23)``; 0 = not triangulated.
        betas: ``(nb,)`` starting shape (default zeros).
        body_pose: ``(F, 23, 3)`` starting pose (default an A-pose, see :func:`rest_body_pose`).

    Returns :class:`BodyParams` whose ``valid`` marks the frames where the torso
    was seen; the others are interpolated / held from their neighbours.
    Raises :class:`mvmocap.errors.InputError` if no frame shows a torso.
    """
    F = joints3d.shape[0]
    dtype, device = joints3d.dtype, joints3d.device
    if betas is None:
        betas = torch.zeros(model.num_betas, dtype=dtype, device=device)
    if body_pose is None:
        body_pose = rest_body_pose(F, arm_drop, dtype, device)
    zeros3 = torch.zeros(F, 3, dtype=dtype, device=device)
    rest = model(zeros3, body_pose, betas, zeros3)  # (F, 23, 3) rest frame
    torso = list(TORSO)
    conf_torso = confidence[:, torso] * model.available[torso].to(dtype)
    R, ok_rot = torso_alignment(rest[:, torso], joints3d[:, torso], conf_torso)
    posed = model(R, body_pose, betas, zeros3)
    transl, ok_transl = translation_to_fit(posed[:, torso], joints3d[:, torso], conf_torso)
    params = BodyParams(
        global_orient=matrix_to_axis_angle(R),
        body_pose=body_pose,
        betas=betas,
        transl=transl,
        valid=ok_rot & ok_transl,
    )
    return fill_invalid_frames(params, params.valid)


def yaw_only_orientation(yaw: Tensor) -> Tensor:
    """Axis-angle ``(..., 3)`` of a body standing upright in the +Z-up world, facing ``yaw`` radians from +Y.

    The rest frame's y (up) goes to world +Z and its z (front) to world
    ``(-sin yaw, cos yaw, 0)``.
    """
    c, s = torch.cos(yaw), torch.sin(yaw)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    # Columns: images of the rest frame's x (left), y (up), z (front).
    left = torch.stack([-c, -s, zero], -1)
    up = torch.stack([zero, zero, one], -1)
    front = torch.stack([-s, c, zero], -1)
    R = torch.stack([left, up, front], -1)
    return matrix_to_axis_angle(R)


__all__ = [
    "initial_params",
    "rest_body_pose",
    "torso_alignment",
    "translation_to_fit",
    "yaw_only_orientation",
    "TORSO",
]
