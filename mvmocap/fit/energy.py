"""The fit's energy over a batch of frames: robust 2D and 3D data terms, priors, temporal smoothness.

The terms are :mod:`mvmocap.fit.losses`; :class:`mvmocap.fit.config.FitConfig` weighs them (its
docstring writes the sum out). :mod:`mvmocap.fit.gauss_newton` assembles the same energy's
Gauss-Newton matrix in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.fit import losses
from mvmocap.fit.config import FitConfig
from mvmocap.fit.model import KeypointModel
from mvmocap.body.params import BodyParams
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.rotations import axis_angle_to_matrix


@dataclass
class FitData:
    """Evidence for a batch of frames, already on the fitting dtype/device."""

    observed: Tensor  # (F, C, J, 2) px
    conf2d: Tensor  # (F, C, J)
    joints3d: Tensor  # (F, J, 3) m
    conf3d: Tensor  # (F, J)
    consecutive: bool  # whether the frames follow each other (temporal terms apply)
    context_points: Tensor | None = None  # (K, J, 3) model points of the frames just before
    context_pose: Tensor | None = None  # (K, 23, 3) body pose of the frames just before
    pose_mean: Tensor | None = None  # (F, 23, 3) where the pose prior pulls each frame; None: the rest pose


def energy(
    model: KeypointModel,
    rig: CameraRig,
    cfg: FitConfig,
    data: FitData,
    rotation: Tensor,
    body_pose: Tensor,
    betas: Tensor,
    transl: Tensor,
    sigma_scale: float = 1.0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Total energy and its weighted terms for ``F`` frames (``rotation (F, 3, 3)``).

    ``sigma_scale`` multiplies both robust scales and the data terms are
    multiplied by its square, so that small residuals cost the same whatever the scale.
    """
    points = model(rotation, body_pose, betas, transl)  # (F, J, 3)
    projected = rig.project(points)  # (F, C, J, 2)
    s2 = sigma_scale**2
    sigma_2d, sigma_3d = cfg.sigma_2d_px * sigma_scale, cfg.sigma_3d_m * sigma_scale
    terms = {
        "2d": cfg.weight_2d * s2 * losses.reprojection_term(projected, data.observed, data.conf2d, sigma_2d),
        "3d": cfg.weight_3d * s2 * losses.joints3d_term(points, data.joints3d, data.conf3d, sigma_3d),
        "shape": cfg.weight_shape * losses.shape_prior(betas),
        "pose": cfg.weight_pose * losses.pose_prior(body_pose, data.pose_mean),
        "bending": cfg.weight_bending * losses.bending_prior(body_pose).mean(),
        "hinge": cfg.weight_hinge * losses.hinge_off_axis_prior(body_pose).mean(),
    }
    if data.consecutive:
        pts, pose = points, body_pose
        if data.context_points is not None:
            pts = torch.cat([data.context_points, points])
            pose = torch.cat([data.context_pose, body_pose])
        scale2 = cfg.smooth_scale_m**2
        terms["smooth_joints"] = cfg.weight_smooth_joints * losses.temporal_smoothness(pts, 2) / scale2
        terms["smooth_pose"] = cfg.weight_smooth_pose * losses.temporal_smoothness(pose, 1)
    total = sum(terms.values())
    return total, terms


def data_energy_per_frame(model: KeypointModel, rig: CameraRig, cfg: FitConfig, data: FitData, params: BodyParams,
                           betas: Tensor) -> Tensor:
    """``(F,)`` robust 2D + 3D data energies of ``params`` (with ``betas``) at the first robust scale."""
    s = cfg.sigma_schedule[0]
    with torch.no_grad():
        points = model(axis_angle_to_matrix(params.global_orient), params.body_pose, betas, params.transl)
        e2d = losses.reprojection_term(rig.project(points), data.observed, data.conf2d, cfg.sigma_2d_px * s, per_frame=True)
        e3d = losses.joints3d_term(points, data.joints3d, data.conf3d, cfg.sigma_3d_m * s, per_frame=True)
    return cfg.weight_2d * e2d + cfg.weight_3d * e3d


def lower_energy(model: KeypointModel, rig: CameraRig, cfg: FitConfig, data: FitData, a: BodyParams, b: BodyParams,
                  betas: Tensor) -> BodyParams:
    """Frame by frame, whichever of the starts ``a`` and ``b`` has the lower data energy (``a`` on ties)."""
    take_b = data_energy_per_frame(model, rig, cfg, data, b, betas) < data_energy_per_frame(model, rig, cfg, data, a, betas)
    pick = lambda x, y: torch.where(take_b.view(-1, *([1] * (x.dim() - 1))), y, x)  # noqa: E731
    return BodyParams(pick(a.global_orient, b.global_orient), pick(a.body_pose, b.body_pose), a.betas,
                      pick(a.transl, b.transl), a.valid)
