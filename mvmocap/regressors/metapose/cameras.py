"""MetaPose's per-frame weak cameras and joints -> pinhole cameras and joints in one metric, +Z-up world.

Shapes: ``F`` frame-sets, ``C`` views, ``J = 17`` COCO joints.

1. **Weak -> pinhole, per frame** (:func:`pinhole_frames`). MetaPose gives, per frame-set, joints
   ``j`` (metres, root-relative, in its body frame) and weak cameras ``(R_c, s_c, shift_c)`` with
   ``(uv - centre_c) / box_c ~= s_c (R_c j)_xy + shift_c`` (:mod:`mvmocap.regressors.metapose.inputs`).
   A pinhole of focal ``f_c`` px at depth ``d_c`` from the body projects it with ``f_c / d_c`` px per
   metre, so ``d_c = f_c / (box_c s_c)``, and the root ``j = 0`` lands at ``centre_c + box_c shift_c``,
   so the root sits at ``T_c = ((centre_c + box_c shift_c - p_c) d_c / f_c, d_c)`` in camera c
   (``p_c`` the principal point). The focal length is not observable from one frame-set of a weak
   model: it is taken from the image size (:data:`FOCAL_FRACTION` x the longer side; perspective
   only, the metric scale comes from the height). Then everything is expressed in the reference
   camera's axes: ``x_ref = R_ref j + T_ref``, camera c: ``R_c R_ref^T``, ``T_c - R_c R_ref^T T_ref``.
2. **One world for the sequence** (:func:`world_from_reference`): the reference camera's frame at
   each frame is taken as one fixed frame (exact when the reference camera does not move); then
   :func:`mvmocap.calibrate.gauge.fit_gauge` (the same code as ``--calibrate-from-joints``) gives
   metres from the subject's height, +Z up and the floor at z = 0 (origin under the mean pelvis,
   +X along the reference camera's view laid flat), computed over all frames with the per-camera
   mean pose standing for the rig. Without foot points the gauge's floor runs through the lowest
   ankles; the world is lifted by the ankles' height (:data:`ANKLE_HEIGHT_FRACTION` x the height).

   When the reference camera itself moves, the world moves with it: the body's path and the other
   cameras' motions are then relative to it, and a tilt of the reference camera tilts the floor
   (the body alone cannot tell a turning camera from a turning person). The reference is the camera
   that sees the person in the most frames (camera order otherwise); frames it does not see are left
   out (confidence 0, cameras held from the nearest estimated frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mvmocap.geometry.frame_rig import FrameRig
from mvmocap.geometry.rotation_mean import chordal_mean
from mvmocap.geometry.weak_projection import weak_camera_from_vector

# MetaPose has no foot points, so the gauge's floor passes through the lowest ankles; the ankle
# keypoint stands this fraction of the height above the floor (the open_neutral body's mean shape: 0.056).
ANKLE_HEIGHT_FRACTION = 0.056
FOCAL_FRACTION = 1.0  # focal length = this x the longer image side (a ~53 degree horizontal field of view in landscape)
MIN_DEPTH_M = 0.1


@dataclass(frozen=True)
class ReferenceFrames:
    """The pinhole cameras and joints of every frame-set in its reference camera's axes (units of the joints).

    Attributes:
        R ``(F, C, 3, 3)``, t ``(F, C, 3)``: reference frame -> camera c (the reference's own: I, 0).
        joints ``(F, J, 3)``: in the reference camera's frame.
    """

    R: Tensor
    t: Tensor
    joints: Tensor


def pinhole_frames(joints: Tensor, cameras: Tensor, centre: Tensor, box: Tensor, focal: Tensor, principal: Tensor,
                   reference: int = 0, ray_aligned: bool = False) -> ReferenceFrames:
    """Weak cameras -> pinholes (see the module docstring, step 1).

    Args:
        joints: ``(F, J, 3)`` MetaPose's joints (metres, root-relative, its body frame).
        cameras: ``(F, C, 9)`` its weak cameras (:func:`mvmocap.geometry.weak_projection.weak_camera_vector`).
        centre: ``(F, C, 2)`` px and box ``(F, C)`` px per unit: each view's normalisation.
        focal: ``(C,)`` px; principal: ``(C, 2)`` px.
        reference: the camera whose axes the result is in.
        ray_aligned: the monocular 3D was posed along each view's ray to the body rather than its
            optical axis (BlazePose's world landmarks): each rotation is first turned by the ray's
            (:func:`mvmocap.calibrate.init_frame_cameras.ray_rotations`, as the static start does).

    The body's origin in each camera comes from :func:`mvmocap.calibrate.init_frame_cameras.origin_positions`
    (the static calibration's start uses the same; depths below :data:`MIN_DEPTH_M` are raised to it).
    """
    from mvmocap.calibrate.init_frame_cameras import origin_positions, ray_rotations

    R, scale, shift = weak_camera_from_vector(cameras)  # (F, C, 3, 3), (F, C), (F, C, 2)
    scale_px = (box * scale).clamp(min=1e-9)  # px per metre
    shift_px = centre + box[..., None] * shift - principal  # where the root projects, px from the principal point
    focal2 = focal[:, None].expand(-1, 2)
    T = torch.from_numpy(origin_positions(scale_px.numpy(), shift_px.numpy(), focal2.numpy())).to(R)  # (F, C, 3)
    T = T * (T[..., 2:] >= MIN_DEPTH_M) + T / T[..., 2:].clamp(min=1e-12) * MIN_DEPTH_M * (T[..., 2:] < MIN_DEPTH_M)
    if ray_aligned:
        R = torch.from_numpy(ray_rotations(shift_px.numpy(), focal2.numpy())).to(R) @ R
    R_ref, T_ref = R[:, reference], T[:, reference]  # (F, 3, 3), (F, 3)
    R_rel = R @ R_ref[:, None].transpose(-1, -2)
    t_rel = T - (R_rel @ T_ref[:, None, :, None]).squeeze(-1)
    points = joints @ R_ref.transpose(-1, -2) + T_ref[:, None]
    return ReferenceFrames(R_rel, t_rel, points)


def hold_missing(values: Tensor, ok: Tensor) -> Tensor:
    """``values (F, C, ...)`` with each camera's frames where ``ok (F, C)`` is False taken from its
    nearest frame where it is True (unchanged for a camera never ok)."""
    F = values.shape[0]
    frames = torch.arange(F)
    out = values.clone()
    for c in range(values.shape[1]):
        idx = torch.nonzero(ok[:, c]).flatten()
        if 0 < idx.numel() < F:
            nearest = idx[(frames[:, None] - idx[None]).abs().argmin(-1)]
            out[:, c] = values[nearest, c]
    return out


@dataclass(frozen=True)
class WorldFrames:
    """The per-frame cameras and joints in the metric, +Z-up world (see the module docstring).

    Attributes:
        rig: the cameras (:class:`FrameRig`).
        joints: ``(F, J, 3)`` metres, world.
        scale: metres per unit of MetaPose's joints; up_from: where "up" came from (the gauge's).
    """

    rig: FrameRig
    joints: Tensor
    scale: float
    up_from: str


def world_from_reference(frames: ReferenceFrames, joint_valid: Tensor, view_ok: Tensor, names: tuple[str, ...],
                         sizes: Tensor, focal: Tensor, principal: Tensor, height_m: float) -> WorldFrames:
    """Step 2 of the module docstring: one metric, floor-based world for the sequence.

    ``joint_valid (F, J)`` the joints to trust (a frame without any is left out of the gauge),
    ``view_ok (F, C)`` the views estimated (the others' cameras are held from the nearest frame),
    ``sizes (C, 2)`` px, ``focal (C,)``, ``principal (C, 2)`` px, ``height_m`` the subject's height.
    Raises :class:`mvmocap.errors.InputError` when the body never shows the legs, hips, shoulders
    and nose together (no scale)."""
    from mvmocap.calibrate.gauge import fit_gauge
    from mvmocap.calibrate.pinhole import Pinholes
    from mvmocap.keypoints import COCO23

    F, C = view_ok.shape
    R = hold_missing(frames.R, view_ok).to(torch.float64)
    t = hold_missing(frames.t, view_ok).to(torch.float64)
    w = view_ok.to(torch.float64)
    mean_R = chordal_mean(R.transpose(0, 1), w.T)  # (C, 3, 3): the rig standing for the sequence's cameras
    mean_t = (t * w[..., None]).sum(0) / w.sum(0).clamp(min=1)[:, None]
    cams = Pinholes(mean_R.numpy(), mean_t.numpy(), np.repeat(focal.to(torch.float64).numpy()[:, None], 2, 1))
    J = frames.joints.shape[1]
    points = np.zeros((F, len(COCO23), 3))
    valid = np.zeros((F, len(COCO23)), dtype=bool)
    points[:, :J] = frames.joints.to(torch.float64).numpy()
    valid[:, :J] = joint_valid.numpy()
    gauge = fit_gauge(cams, points, valid, height_m)
    Q = torch.from_numpy(gauge.Q)
    lift = np.array([0.0, 0.0, ANKLE_HEIGHT_FRACTION * height_m])  # the gauge's floor went through the ankles
    u = torch.from_numpy(gauge.u + lift)
    joints = torch.from_numpy(gauge.apply_points(points[:, :J]) + lift)
    K = torch.zeros(F, C, 3, 3, dtype=torch.float64)
    K[..., 0, 0] = K[..., 1, 1] = focal.to(torch.float64)
    K[..., :2, 2] = principal.to(torch.float64)
    K[..., 2, 2] = 1.0
    rig = FrameRig(tuple(names), K, torch.zeros(F, C, 5, dtype=torch.float64), R, t, sizes.to(torch.float64))
    return WorldFrames(rig.transformed(gauge.scale, Q, u), joints, float(gauge.scale), gauge.up_from)


def default_intrinsics(sizes: Tensor) -> tuple[Tensor, Tensor]:
    """``focal (C,)`` px (:data:`FOCAL_FRACTION` x the longer side) and ``principal (C, 2)`` px (the
    image centre) for image ``sizes (C, 2)`` (width, height)."""
    sizes = sizes.to(torch.float64)
    return FOCAL_FRACTION * sizes.amax(-1), sizes / 2
