"""The adapt loop's refit with the uncalibrated MV-SMPLify or SMPLify per view (``AdaptConfig.fit_mode``).

:mod:`mvmocap.fit.uncalibrated` fits with per-view orientations and translations and never reads the
extrinsics. The adapted regressor (``volumetric``) is calibrated and predicts a world body, so the
calibration enters only at the two edges here, to compare the two: the per-view starts are the
regressor's world body seen from each camera (``zeta_i = R_i R_world``; the pose and shape the same
in every view), and the fit comes back to the world as the chordal mean over the views of
``R_i^T zeta_i``, its pose and shape, and a translation that puts its joints on the capture's
triangulated ones (the volumetric network's own placement). Keypoints are undistorted first (the fit's
cameras are pinholes).

``fit_mode``: ``calibrated`` (the project's Gauss-Newton multi-view fit, :func:`mvmocap.fit.run_fit`),
``uncalibrated`` (shared pose and shape, the paper's 3.3), ``single-view`` (each view alone; the
views' results averaged into the supervision).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.body.params import BodyParams
from mvmocap.errors import InputError
from mvmocap.fit.inputs import MethodInputs
from mvmocap.fit.uncalibrated import ViewFitConfig, ViewStart, fit_views, world_body
from mvmocap.geometry.projection import normalized_to_pixels, undistort_points
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

FIT_MODES = ("calibrated", "uncalibrated", "single-view")


def check_fit_mode(mode: str) -> str:
    if mode not in FIT_MODES:
        raise InputError(f"fit mode must be one of {', '.join(FIT_MODES)}, got {mode!r}")
    return mode


def pinhole_keypoints(inputs: MethodInputs) -> tuple[Tensor, Tensor, Tensor]:
    """The detections undistorted: ``(F, C, 23, 3)`` pinhole pixels + confidence, ``focal (C,)`` and
    ``principal (C, 2)`` pixels (float64)."""
    rig = inputs.rig.to(dtype=torch.float64, device="cpu")
    kp = torch.as_tensor(inputs.keypoints_2d).to(torch.float64)
    uv = normalized_to_pixels(undistort_points(kp[..., :2], rig.K, rig.dist), rig.K)  # K (C, 3, 3) against (F, C, J, 2)
    focal = 0.5 * (rig.K[:, 0, 0] + rig.K[:, 1, 1])
    return torch.cat([uv, kp[..., 2:]], -1), focal, rig.K[:, :2, 2]


def view_starts(body_model, rig, start: BodyParams) -> ViewStart:
    """Each camera's view of a world body: ``zeta_i = R_i R``, the same pose and shape, and the SMPL
    translation in camera ``i``'s axes that puts the body where the world one is."""
    R = rig.R.to(torch.float64)
    t = rig.t.to(torch.float64)
    go = axis_angle_to_matrix(start.global_orient.to(torch.float64))  # (F, 3, 3)
    pose = axis_angle_to_matrix(start.body_pose.to(torch.float64))  # (F, 23, 3, 3)
    F, C = go.shape[0], R.shape[0]
    betas = start.betas.to(torch.float64).expand(F, -1)
    with torch.no_grad():
        rest_root = body_model(body_pose=pose, betas=betas).joints[:, 0]  # the root turns about itself
    world_root = rest_root + start.transl.to(torch.float64)
    camera_root = torch.einsum("cij,fj->fci", R, world_root) + t[None]  # (F, C, 3)
    return ViewStart(global_orient=R[None] @ go[:, None], body_pose=pose[:, None].expand(F, C, 23, 3, 3),
                     betas=betas[:, None].expand(F, C, -1), transl=camera_root - rest_root[:, None])


def view_refit(inputs: MethodInputs, start: BodyParams, mode: str, config: ViewFitConfig | None = None) -> BodyParams:
    """The frames of ``inputs`` refitted from ``start`` by the uncalibrated MV-SMPLify (``mode``
    ``uncalibrated``) or SMPLify per view (``single-view``), in the world of ``inputs.rig``."""
    if check_fit_mode(mode) == "calibrated":
        raise InputError("view_refit fits without the calibration: mode 'uncalibrated' or 'single-view'")
    body = inputs.body_model.to(dtype=torch.float64, device="cpu")
    rig = inputs.rig.to(dtype=torch.float64, device="cpu")
    keypoints, focal, principal = pinhole_keypoints(inputs)
    fit = fit_views(body, keypoints, focal, principal, view_starts(body, rig, start), config,
                    share_body=mode == "uncalibrated")
    seen = (keypoints[..., 2] > 0).any(-1).to(torch.float64)  # (F, C)
    orient, pose, betas = world_body(fit, rig.R, seen)
    betas = betas.mean(0) if betas.dim() == 2 else betas  # one shape per sequence, as the cache holds
    with torch.no_grad():
        joints = body(global_orient=orient, body_pose=pose, betas=betas.expand(len(orient), -1)).coco23
    transl = _placement(inputs, joints, start.transl.to(torch.float64))
    valid = start.valid & (seen.sum(-1) > 0)
    return BodyParams(global_orient=matrix_to_axis_angle(orient), body_pose=matrix_to_axis_angle(pose), betas=betas,
                      transl=transl, valid=valid)


def _placement(inputs: MethodInputs, joints: Tensor, fallback: Tensor) -> Tensor:
    """``(F, 3)``: the confidence-weighted mean offset from ``joints (F, 23, 3)`` to the triangulated
    joints, ``fallback`` where none are known."""
    if inputs.joints3d is None:
        return fallback
    target = torch.as_tensor(inputs.joints3d).to(torch.float64)
    w = torch.ones(target.shape[:2], dtype=torch.float64) if inputs.joints3d_confidence is None else \
        torch.as_tensor(inputs.joints3d_confidence).to(torch.float64)
    w = w * torch.isfinite(target).all(-1)
    J = min(target.shape[1], joints.shape[1])
    offset = ((torch.nan_to_num(target[:, :J]) - joints[:, :J]) * w[:, :J, None]).sum(1) / w[:, :J].sum(1, keepdim=True).clamp(min=1e-9)
    return torch.where((w[:, :J].sum(1) > 0.5)[:, None], offset, fallback)
