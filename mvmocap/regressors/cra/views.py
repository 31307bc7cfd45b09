"""``ViewBodies``: what a single-view regressor (CRA) says about one person, view by view.

This is the contract between the per-view network (:mod:`mvmocap.regressors.cra`'s model and
inference) and the multi-view use of its output (rotation averaging into the world, translation
from triangulated joints or from one camera, the fit's start and prior on single-view frames).

Frames: each view's rotations are in that camera's OpenCV axes (x right, y down, z forward);
``global_orient`` maps the body file's rest frame (y up, z = the subject's front) to the camera,
exactly as :class:`mvmocap.body.params.BodyParams.global_orient` maps it to the world. So the
world orientation seen by camera ``c`` is ``R_c^T @ global_orient[:, c]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.errors import InputError


@dataclass(frozen=True)
class ViewBodies:
    """Per-view body estimates of one person over ``F`` frames and ``C`` views.

    Attributes:
        global_orient: ``(F, C, 3, 3)`` rotation, body rest frame -> camera ``c``'s axes.
        body_pose: ``(F, C, 23, 3, 3)`` rotation of each SMPL body joint relative to its parent.
        betas: ``(F, C, B)`` shape coefficients.
        weak_camera: ``(F, C, 3)`` ``(s, tx, ty)``: the body's root-relative joints ``X`` (metres,
            camera axes) project into the crop as ``s * (X_xy + (tx, ty))`` in crop units
            (``[-1, 1]`` spans the crop's side).
        crops: ``(F, C, 3)`` the crop each view was read from: centre ``x, y`` and side, pixels of
            the full image (undistorted pinhole coordinates of that camera).
        residual: ``(F, C)`` >= 0, the view's alignment residual (mean misalignment of the
            prediction with its own evidence; lower = more trustworthy), used as the view's weight.
        valid: ``(F, C)`` bool: the view saw the person and the network ran on it.
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    weak_camera: Tensor
    crops: Tensor
    residual: Tensor
    valid: Tensor

    def __post_init__(self) -> None:
        if self.valid.dim() != 2 or self.valid.dtype != torch.bool:
            raise InputError(f"ViewBodies.valid must be a bool (F, C) tensor, got {tuple(self.valid.shape)} {self.valid.dtype}")
        F, C = self.valid.shape
        checks = (
            ("global_orient", self.global_orient, (F, C, 3, 3)),
            ("body_pose", self.body_pose, (F, C, 23, 3, 3)),
            ("weak_camera", self.weak_camera, (F, C, 3)),
            ("crops", self.crops, (F, C, 3)),
            ("residual", self.residual, (F, C)),
        )
        for name, value, shape in checks:
            if tuple(value.shape) != shape:
                raise InputError(f"ViewBodies.{name} must have shape {shape}, got {tuple(value.shape)}")
        if self.betas.dim() != 3 or tuple(self.betas.shape[:2]) != (F, C):
            raise InputError(f"ViewBodies.betas must have shape (F, C, B), got {tuple(self.betas.shape)}")

    def frames(self, idx) -> "ViewBodies":
        """The bodies of frames ``idx`` (an index tensor, a slice or a bool mask over ``F``)."""
        return ViewBodies(self.global_orient[idx], self.body_pose[idx], self.betas[idx], self.weak_camera[idx],
                          self.crops[idx], self.residual[idx], self.valid[idx])

    @property
    def num_frames(self) -> int:
        return int(self.valid.shape[0])

    @property
    def num_views(self) -> int:
        return int(self.valid.shape[1])
