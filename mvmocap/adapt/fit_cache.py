"""The SPIN-style fit cache: the best multi-view SMPLify fit seen so far, per frame.

Kolotouros et al. (SPIN, ICCV 2019), which the collaborative paper builds on ("Similar to [18]"),
keep a dictionary of the best fit of every training example: each new fit, started from the
regressor, replaces the stored one only where its fitting energy is lower, and the stored fits
supervise the regressor. Here the energy that decides is the fit's own robust 2D reprojection term
(:func:`mvmocap.fit.losses.reprojection_term`: confidence-weighted Geman-McClure of the pixel
errors of the fitted COCO-23 points against the detections, sigma ``FitConfig.sigma_2d_px``), per
frame; priors are left out of the comparison, as the energy being compared must be the same
function for fits with different pose priors (the regressor's pose is the refinement's prior mean).

Shapes: F frames of one capture; axis-angle as :class:`mvmocap.body.params.BodyParams`, but one
shape per frame (a cached frame keeps the shape of the fit it came from).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.body.params import BodyParams
from mvmocap.fit.losses import reprojection_term
from mvmocap.fit.smplify import FitResult

FIELDS = ("global_orient", "body_pose", "betas", "transl", "energy", "valid")


def frame_energy(result: FitResult, keypoints_2d: Tensor, rig, sigma_px: float) -> Tensor:
    """``(F,)`` robust 2D reprojection energy of each frame of a fit (see the module docstring);
    ``inf`` for the frames the fit marks invalid.

    ``keypoints_2d (F, C, 23, 3)`` px + confidence (the detections the fit used), ``rig`` its cameras.
    """
    kp = torch.as_tensor(keypoints_2d).to(torch.float64)
    rig64 = rig.to(dtype=torch.float64, device="cpu")
    with torch.no_grad():
        projected = rig64.project(result.keypoints3d.detach().to(torch.float64))
        confidence = kp[..., 2].clamp(0, 1) * result.observed.to(torch.float64)
        energy = reprojection_term(projected, kp[..., :2], confidence, sigma_px, per_frame=True)
    valid = result.params.valid.to(torch.bool)
    return torch.where(valid, energy, torch.full_like(energy, float("inf"))).float()


@dataclass
class FitCache:
    """The best fit per frame of one capture.

    Attributes:
        global_orient: ``(F, 3)`` axis-angle, rest frame -> world; body_pose ``(F, 23, 3)``;
        betas: ``(F, 10)``; transl: ``(F, 3)`` metres;
        energy: ``(F,)`` the fit's 2D reprojection energy (``inf`` = no fit yet);
        valid: ``(F,)`` bool, a fit is cached (and supervises the regressor).
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    transl: Tensor
    energy: Tensor
    valid: Tensor

    @classmethod
    def from_fit(cls, params: BodyParams, energy: Tensor) -> "FitCache":
        """The cache's first entries: ``params`` (F frames) where valid with a finite ``energy (F,)``."""
        p = params.detach().to(dtype=torch.float32, device="cpu")
        F = p.num_frames
        valid = p.valid.to(torch.bool) & torch.isfinite(energy)
        return cls(p.global_orient.clone(), p.body_pose.clone(), p.betas.expand(F, -1).clone(), p.transl.clone(),
                   torch.where(valid, energy.float(), torch.full((F,), float("inf"))), valid)

    @property
    def num_frames(self) -> int:
        return int(self.energy.shape[0])

    def update(self, params: BodyParams, energy: Tensor) -> Tensor:
        """Keep the new fit ``params`` where its ``energy (F,)`` is lower (and the fit valid); returns
        the ``(F,)`` bool mask of the frames replaced."""
        p = params.detach().to(dtype=torch.float32, device="cpu")
        better = p.valid.to(torch.bool) & torch.isfinite(energy) & (energy.float() < self.energy)
        F = self.num_frames
        self.global_orient = torch.where(better[:, None], p.global_orient, self.global_orient)
        self.body_pose = torch.where(better[:, None, None], p.body_pose, self.body_pose)
        self.betas = torch.where(better[:, None], p.betas.expand(F, -1), self.betas)
        self.transl = torch.where(better[:, None], p.transl, self.transl)
        self.energy = torch.where(better, energy.float(), self.energy)
        self.valid = self.valid | better
        return better

    def mean_energy(self) -> float:
        """The mean energy of the cached frames (NaN when none is)."""
        return float(self.energy[self.valid].mean()) if bool(self.valid.any()) else float("nan")

    def state_dict(self) -> dict[str, Tensor]:
        return {name: getattr(self, name).clone() for name in FIELDS}

    @classmethod
    def from_state(cls, state: dict[str, Tensor]) -> "FitCache":
        return cls(*(state[name].clone() for name in FIELDS))
