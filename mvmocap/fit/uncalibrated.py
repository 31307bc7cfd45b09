"""Uncalibrated multi-view SMPLify (collaborative MV-SMPLify, paper 3.3) and its single-view ablation.

No extrinsics: each view ``i`` has its own body orientation ``zeta_i`` (the body rest frame -> that
camera's OpenCV axes, x right, y down, z forward) and its own translation ``T_i`` (metres, camera
axes), the camera being ``{I, T_i}`` with a pinhole of focal ``f_i`` and principal point ``c_i``
(pixels). Pose ``theta~`` (the 23 body joints) and shape ``beta`` are shared by the views:

    "we optimize the body orientation instead of camera rotation because we have assumed that the
    camera is oriented to human body [...] we initialize theta~ as the mean of theta~_reg^(i) and
    beta as the mean of beta_reg^(i) [...] The body orientations zeta^(i) for different views are
    initialized as zeta_reg^(i). We convert the weakly perspective camera Pi_reg^(i) to the camera
    translation T_reg^(i) and define the camera rotation as the identity matrix."

    E(theta~, beta, zeta^(i)) = E_J + lambda_theta E_theta~(theta~) + lambda_beta E_beta(beta)   (eq. 2)

    "fixing the pose and shape parameters, the camera translations of all the images [...] were
    estimated first [...] by using similar triangles defined by the torso length of regressed SMPL
    and the ground truth. [...] Then, fixing the camera translation, we minimize (2) [...] Adam with
    0.01 learning rate is used for the optimization and the maximum number of iterations is 100."

Here: ``E_J`` is the project's robust 2D term (:func:`mvmocap.fit.losses.reprojection_term`,
Geman-McClure, confidence-weighted, summed over views and joints); ``E_theta~`` the fit's pose prior
(an L2 pull as :func:`mvmocap.fit.losses.pose_prior`) towards the start's mean pose (the paper defers to its ref.
[22]; the project's fit pulls towards the regressor likewise); ``E_beta = |beta|^2``. The pose mean
over views is the chordal mean per joint (a mean of rotations that stays a rotation). With
``share_body=False`` every view keeps its own pose and shape: SMPLify on each view alone (the
"single-view SMPLify" row of the ablation).

Shapes: ``B`` frame-sets, ``V`` views, ``J`` COCO-23 joints, ``S`` betas. Missing data: confidence 0
(a view without any confident joint keeps its start and adds nothing to the energy). Pure torch;
the body model is an argument, nothing is read or written.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.fit.losses import reprojection_term, shape_prior
from mvmocap.fit.model import KeypointModel
from mvmocap.geometry.rotation_mean import chordal_mean
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

# COCO-23 shoulders and hips: the torso of the similar-triangles step
SHOULDERS = (5, 6)
HIPS = (11, 12)


@dataclass(frozen=True)
class ViewFitConfig:
    """Settings of :func:`fit_views`: the paper's optimiser (Adam, lr 0.01, 100 iterations) and the
    energy's scale and prior weights (the project's fit: ``FitConfig.sigma_2d_px``, ``weight_pose``,
    ``weight_shape``; the paper gives no values)."""

    lr: float = 0.01
    iterations: int = 100
    sigma_px: float = 25.0
    weight_pose: float = 0.1
    weight_shape: float = 0.02
    min_torso_px: float = 4.0  # below this 2D torso length the similar-triangles depth is not trusted

    def __post_init__(self) -> None:
        if not (self.lr > 0 and self.iterations >= 0 and self.sigma_px > 0 and self.weight_pose >= 0
                and self.weight_shape >= 0):
            raise InputError(f"invalid ViewFitConfig {self}")


@dataclass(frozen=True)
class ViewStart:
    """Per-view starts (a single-view regressor's output, or any other guess).

    Attributes:
        global_orient: ``(B, V, 3, 3)`` body rest frame -> camera ``i``'s axes.
        body_pose: ``(B, V, 23, 3, 3)`` joint rotations relative to their parents.
        betas: ``(B, V, S)``.
        transl: ``(B, V, 3)`` metres, camera axes: the SMPL translation in view ``i`` (replaced by the
            similar-triangles step wherever the torso is seen).
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    transl: Tensor


@dataclass(frozen=True)
class ViewFit:
    """:func:`fit_views`'s result; pose and shape are ``(B, ...)`` when shared, ``(B, V, ...)`` otherwise.

    Attributes:
        global_orient: ``(B, V, 3, 3)``; body_pose ``(B[, V], 23, 3, 3)``; betas ``(B[, V], S)``;
        transl: ``(B, V, 3)`` metres (fixed during the optimisation, as the paper);
        reprojection_px: ``(B, V, J)`` final pixel errors (0 where the confidence is 0);
        energy: ``(B,)`` the final eq. 2 energy of each frame-set; shared: whether pose and shape are.
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    transl: Tensor
    reprojection_px: Tensor
    energy: Tensor
    shared: bool


def translation_from_weak_camera(weak: Tensor, crops: Tensor, focal: Tensor, principal: Tensor) -> Tensor:
    """The perspective translation ``(..., 3)`` metres (camera axes) of the body's root from a weak camera.

    ``weak (..., 3) = (s, tx, ty)``: root-relative joints ``X`` project into a crop as ``s (X_xy + t)``
    in crop units (``[-1, 1]`` spans the side), ``crops (..., 3)`` = centre x, y and side in pixels,
    ``focal (...)`` and ``principal (..., 2)`` pixels. Matching the two projections at the root's depth
    (``f / T_z = s side / 2``): ``T_z = 2 f / (s side)``, ``T_xy = t + (crop centre - c) / (f / T_z)``."""
    s = weak[..., 0].clamp(min=1e-6)
    pixels_per_metre = s * crops[..., 2] / 2  # f / T_z
    depth = focal / pixels_per_metre
    xy = weak[..., 1:] + (crops[..., :2] - principal) / pixels_per_metre[..., None]
    return torch.cat([xy, depth[..., None]], -1)


def project(points: Tensor, focal: Tensor, principal: Tensor) -> Tensor:
    """Pinhole projection ``(..., V, J, 2)`` px of camera-axes points ``(..., V, J, 3)`` metres with
    ``focal (..., V)`` and ``principal (..., V, 2)`` px (depth clamped at 1 cm: finite behind the camera)."""
    z = points[..., 2:].clamp(min=1e-2)
    return focal[..., None, None] * points[..., :2] / z + principal[..., None, :]


def similar_triangles_translation(joints: Tensor, uv: Tensor, confidence: Tensor, focal: Tensor, principal: Tensor,
                                  fallback: Tensor, min_torso_px: float = 4.0) -> Tensor:
    """The paper's first step: each view's translation ``(B, V, 3)`` with pose and shape fixed.

    ``joints (B, V, J, 3)``: the model's joints in camera axes without translation; ``uv (B, V, J, 2)``,
    ``confidence (B, V, J)`` the detections. Depth: the model's torso length (shoulder midpoint to hip
    midpoint, in the image plane's axes) over the detected one times ``f``; x, y: the model's torso
    centre placed on the detected one. Views whose four torso joints are not all seen keep ``fallback``."""
    torso = list(SHOULDERS + HIPS)
    seen = (confidence[..., torso] > 0).all(-1)  # (B, V)

    def middle(points: Tensor, pair: tuple[int, int]) -> Tensor:
        return points[..., list(pair), :].mean(-2)

    length_3d = (middle(joints, SHOULDERS) - middle(joints, HIPS))[..., :2].norm(dim=-1)
    length_2d = (middle(uv, SHOULDERS) - middle(uv, HIPS)).norm(dim=-1)
    ok = seen & (length_2d > min_torso_px) & (length_3d > 1e-3)
    depth = focal * length_3d / length_2d.clamp(min=min_torso_px)
    centre_3d = joints[..., torso, :].mean(-2)
    centre_2d = uv[..., torso, :].mean(-2)
    ray = (centre_2d - principal) / focal[..., None]  # normalised image coordinates
    z = depth - centre_3d[..., 2]  # the torso centre at ``depth``
    T = torch.cat([ray * depth[..., None] - centre_3d[..., :2], z[..., None]], -1)
    return torch.where(ok[..., None], T, fallback)


def mean_start(start: ViewStart, weight: Tensor) -> tuple[Tensor, Tensor]:
    """The shared start: per joint the chordal mean of the views' rotations ``(B, 23, 3, 3)`` and the mean
    betas ``(B, S)``, views weighted by ``weight (B, V)`` (all views where a frame-set has none)."""
    w = torch.where(weight.sum(-1, keepdim=True) > 0, weight, torch.ones_like(weight)).to(start.betas.dtype)
    pose = chordal_mean(start.body_pose.transpose(1, 2), w[:, None, :].expand(-1, start.body_pose.shape[2], -1))
    betas = (start.betas * w[..., None]).sum(1) / w.sum(1, keepdim=True)
    return pose, betas


def fit_views(body_model, keypoints: Tensor, focal: Tensor, principal: Tensor, start: ViewStart,
              config: ViewFitConfig | None = None, share_body: bool = True) -> ViewFit:
    """Uncalibrated MV-SMPLify (``share_body``) or SMPLify on each view alone, from ``start``.

    Args:
        body_model: :class:`mvmocap.body.model.BodyModel` (its COCO-23 joints are fitted).
        keypoints: ``(B, V, J, 3)`` pixels + confidence (0 = missing), ``J = 23`` COCO-23.
        focal: ``(B, V)`` or ``(V,)`` pixels; principal: ``(B, V, 2)`` or ``(V, 2)`` pixels.
        start: :class:`ViewStart`.
    Returns a :class:`ViewFit` (see the module docstring for the steps)."""
    config = config or ViewFitConfig()
    dtype = body_model.dtype
    kp = torch.nan_to_num(torch.as_tensor(keypoints).to(dtype))
    uv, conf = kp[..., :2], kp[..., 2].clamp(min=0)
    B, V = kp.shape[:2]
    focal = torch.as_tensor(focal).to(dtype).expand(B, V)
    principal = torch.as_tensor(principal).to(dtype).expand(B, V, 2)
    if start.global_orient.shape[:2] != (B, V):
        raise InputError(f"fit_views: start for {tuple(start.global_orient.shape[:2])} frame-sets x views, keypoints {B} x {V}")
    view_seen = (conf > 0).any(-1).to(dtype)  # (B, V)

    if share_body:
        pose0, betas0 = mean_start(start, view_seen)
        pose_shape = (B, 1)
    else:
        pose0, betas0 = start.body_pose.to(dtype), start.betas.to(dtype)
        pose_shape = (B, V)
    prior_mean = matrix_to_axis_angle(pose0).detach()
    orient = matrix_to_axis_angle(start.global_orient.to(dtype)).detach().clone().requires_grad_(True)
    pose = prior_mean.clone().requires_grad_(True)
    betas = betas0.detach().clone().requires_grad_(True)

    model = KeypointModel(body_model, dtype=dtype)  # the COCO-23 points only (reduced skinning)
    zeros = torch.zeros(B * V, 3, dtype=dtype)

    def joints_of(orient_aa: Tensor, pose_aa: Tensor, betas_: Tensor) -> Tensor:
        """``(B, V, J, 3)`` camera axes, no translation."""
        body_pose = pose_aa.reshape(*pose_shape, 23, 3).expand(B, V, 23, 3).reshape(B * V, 23, 3)
        shape = betas_.reshape(*pose_shape, -1).expand(B, V, betas_.shape[-1]).reshape(B * V, -1)
        return model(orient_aa.reshape(B * V, 3), body_pose, shape, zeros).reshape(B, V, -1, 3)

    with torch.no_grad():  # step 1: the translations by similar triangles, pose and shape fixed
        transl = similar_triangles_translation(joints_of(orient, pose, betas), uv, conf, focal, principal,
                                               start.transl.to(dtype), config.min_torso_px)

    def energy(per_frame: bool = False) -> Tensor:
        projected = project(joints_of(orient, pose, betas) + transl[..., None, :], focal, principal)
        data = reprojection_term(projected, uv, conf, config.sigma_px, per_frame=True)  # (B,): summed over views
        flat_pose, flat_mean = pose.reshape(-1, 23, 3), prior_mean.reshape(-1, 23, 3)
        prior = (config.weight_pose * ((flat_pose - flat_mean) ** 2).sum((-1, -2)).reshape(B, -1).sum(-1)
                 + config.weight_shape * shape_prior(betas.reshape(B, -1, betas.shape[-1])).sum(-1))
        total = data + prior
        return total if per_frame else total.sum()

    optimizer = torch.optim.Adam([orient, pose, betas], lr=config.lr)  # step 2: eq. 2, the translations fixed
    with torch.enable_grad():  # also when called under no_grad (e.g. to make training targets)
        for _ in range(config.iterations):
            optimizer.zero_grad()
            energy().backward()
            optimizer.step()

    with torch.no_grad():
        projected = project(joints_of(orient, pose, betas) + transl[..., None, :], focal, principal)
        errors = (projected - uv).norm(dim=-1) * (conf > 0)
        final = energy(per_frame=True)
    return ViewFit(
        global_orient=axis_angle_to_matrix(orient.detach()),
        body_pose=axis_angle_to_matrix(pose.detach()),
        betas=betas.detach(),
        transl=transl,
        reprojection_px=errors,
        energy=final,
        shared=share_body,
    )


def world_body(fit: ViewFit, R: Tensor, weight: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The fit in a calibrated world, for comparing with a world-frame regressor: the orientation
    ``(B, 3, 3)`` = chordal mean over views of ``R_i^T zeta_i`` (``R (V, 3, 3)`` world -> camera,
    ``weight (B, V)``), the pose ``(B, 23, 3, 3)`` and betas ``(B, S)`` (per-view ones averaged as
    :func:`mean_start` when they are not shared)."""
    R = torch.as_tensor(R).to(fit.global_orient.dtype)
    world = R.transpose(-1, -2) @ fit.global_orient  # (B, V, 3, 3)
    orient = chordal_mean(world, weight)
    if fit.shared:
        return orient, fit.body_pose, fit.betas
    pose, betas = mean_start(ViewStart(fit.global_orient, fit.body_pose, fit.betas, fit.transl), weight)
    return orient, pose, betas


__all__ = ["ViewFit", "ViewFitConfig", "ViewStart", "fit_views", "mean_start", "project",
           "similar_triangles_translation", "translation_from_weak_camera", "world_body"]
