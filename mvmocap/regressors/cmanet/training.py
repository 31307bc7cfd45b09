"""CMANet's self-supervised training (paper 3.5) and its ablations, on 2D detections only.

* ``intra`` (stage 1): the IRV alone; per view eq. 3 = alpha eq. 1 (confidence-filtered 2D) + gamma eq. 2
  (against SMPLify of that view alone, started from the IRV's estimate; :func:`mvmocap.fit.uncalibrated.fit_views`
  with ``share_body=False``). "we have N loss functions for N views": their sum, each view's gradient
  reaching only its own estimate.
* ``inter`` (stage 2): the IRV frozen ("the weights of IRV is frozen"), the IEV trained with eq. 6 = alpha
  eq. 4 (the 2D loss summed over the views of the canonical result) + gamma eq. 5 (against the multi-view
  SMPLify, shared pose and shape, per-view orientation, started from the canonical result).
* ``joint``: both modules at once, eq. 3 + eq. 6 (the paper's "without two-stage learning" row).
* ``inter-only``: no IRV estimates; the canonical space starts from the mean parameters, the encoder and
  the IEV trained with eq. 6 (the paper's "IEV alone" row).

A step never reads ground truth: a batch is ``{"keypoints": (B, V, J, 3) pixels + confidence}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.fit.uncalibrated import ViewFitConfig, ViewStart, fit_views
from mvmocap.regressors.cmanet import losses
from mvmocap.regressors.cmanet.inputs import CROP_PX, FOCAL_PX, crop_keypoints, network_input
from mvmocap.regressors.cmanet.model import CMANet, camera_translation, decode

STAGES = ("intra", "inter", "joint", "inter-only")
COCO23 = 23


@dataclass(frozen=True)
class TrainConfig:
    """``lr``: the paper's 1e-5 ("a fixed learning rate 1e-5"); ``min_confidence``: the filter lambda (not
    given in the paper); ``alpha``, ``gamma``: eq. 3 / 6's weights (not given; 1); ``smplify``: the
    SMPLify targets' optimiser (the collaborative paper's Adam 0.01 x 100 by default), in crop pixels."""

    lr: float = 1e-5
    min_confidence: float = 0.3
    alpha: float = 1.0
    gamma: float = 1.0
    smplify: ViewFitConfig = field(default_factory=lambda: ViewFitConfig(sigma_px=10.0))


def _pad23(uv: Tensor, confidence: Tensor) -> Tensor:
    """COCO-17 crop keypoints -> the COCO-23 ``(..., 23, 3)`` the fit reads (feet missing)."""
    kp = torch.cat([uv, confidence[..., None]], -1)
    return torch.nn.functional.pad(kp, (0, 0, 0, COCO23 - kp.shape[-2]))


def _camera(B: int, V: int) -> tuple[Tensor, Tensor]:
    return torch.full((B, V), FOCAL_PX), torch.full((B, V, 2), CROP_PX / 2)


def _smpl_translation(decoded: dict[str, Tensor], body_model) -> Tensor:
    """The SMPL translation ``(B, V, 3)`` (camera axes) of a decoded estimate: the root at its camera's."""
    rot, betas = decoded["rotations"].detach(), decoded["betas"].detach()
    root = body_model(body_pose=rot[..., 1:, :, :], betas=betas).joints[..., 0, :]
    return camera_translation(decoded["weak"].detach()) - root


@torch.no_grad()
def view_targets(decoded: dict[str, Tensor], uv: Tensor, confidence: Tensor, body_model, config: TrainConfig):
    """Stage 1's SMPLify: each view fitted alone from the IRV's estimate -> rotations ``(B, V, 24, 3, 3)``, betas."""
    rot = decoded["rotations"].detach()
    start = ViewStart(rot[..., 0, :, :], rot[..., 1:, :, :], decoded["betas"].detach(), _smpl_translation(decoded, body_model))
    fit = fit_views(body_model, _pad23(uv, confidence), *_camera(*uv.shape[:2]), start, config.smplify, share_body=False)
    return torch.cat([fit.global_orient[..., None, :, :], fit.body_pose], -3), fit.betas


@torch.no_grad()
def canonical_targets(decoded: dict[str, Tensor], uv: Tensor, confidence: Tensor, body_model, config: TrainConfig):
    """Stage 2's multi-view SMPLify (shared pose and shape) from the canonical result -> body rotations
    ``(B, 23, 3, 3)``, betas ``(B, S)``, global orientations ``(B, V, 3, 3)``."""
    rot = decoded["rotations"].detach()
    start = ViewStart(rot[..., 0, :, :], rot[..., 1:, :, :], decoded["betas"].detach(), _smpl_translation(decoded, body_model))
    fit = fit_views(body_model, _pad23(uv, confidence), *_camera(*uv.shape[:2]), start, config.smplify, share_body=True)
    return fit.body_pose, fit.betas, fit.global_orient


def stage_losses(model: CMANet, keypoints: Tensor, stage: str, body_model, config: TrainConfig
                 ) -> tuple[Tensor, dict[str, float]]:
    """The loss of ``stage`` on a batch of detections ``keypoints (B, V, J, 3)`` (pixels + confidence)."""
    if stage not in STAGES:
        raise InputError(f"CMANet stage must be one of {', '.join(STAGES)}, got {stage!r}")
    uv, confidence, _ = crop_keypoints(keypoints, config.min_confidence)
    out = model(network_input(uv, confidence), uv, confidence, body_model, from_intra=stage != "inter-only")
    weight = (confidence.sum(-1) > 0).to(uv.dtype)  # (B, V)
    total = torch.zeros((), dtype=uv.dtype)
    parts: dict[str, float] = {}
    if stage in ("intra", "joint"):  # eq. 3 for each view, on the IRV's last iteration
        view = decode(out["intra"][-1], body_model)
        rot_opt, betas_opt = view_targets(view, uv, confidence, body_model, config)
        l2d = losses.keypoint_loss(view["uv"], uv, confidence)
        lsmpl = losses.view_smpl_loss(view["rotations"], view["betas"], rot_opt, betas_opt) * weight
        stage1 = losses.stage_loss(l2d, lsmpl, config.alpha, config.gamma).sum(-1).mean()
        total = total + stage1
        parts.update(intra_2d=float(l2d.detach().sum(-1).mean()), intra_smpl=float(lsmpl.detach().sum(-1).mean()))
    if stage in ("inter", "joint", "inter-only"):  # eq. 6 on the canonical result
        canonical = decode(out["canonical"].params(), body_model)
        body_opt, betas_opt, global_opt = canonical_targets(canonical, uv, confidence, body_model, config)
        l2d = losses.keypoint_loss(canonical["uv"], uv, confidence).sum(-1)  # eq. 4: summed over the views
        rot = canonical["rotations"]
        lsmpl = losses.canonical_smpl_loss(rot[:, 0, 1:], canonical["betas"][:, 0], rot[..., 0, :, :], body_opt,
                                           betas_opt, global_opt, weight)
        stage2 = losses.stage_loss(l2d, lsmpl, config.alpha, config.gamma).mean()
        total = total + stage2
        parts.update(inter_2d=float(l2d.detach().mean()), inter_smpl=float(lsmpl.detach().mean()))
    parts["loss"] = float(total.detach())
    return total, parts


def trainable(model: CMANet, stage: str) -> list[torch.nn.Parameter]:
    """The parameters ``stage`` trains; stage 2 (``inter``) freezes the IRV (``requires_grad`` off)."""
    model.intra.requires_grad_(stage != "inter")
    model.inter.requires_grad_(stage != "intra")
    return [p for p in model.parameters() if p.requires_grad]


def train(model: CMANet, batches, stage: str, steps: int, body_model, config: TrainConfig | None = None,
          log=lambda record: None) -> list[dict[str, float]]:
    """``steps`` Adam steps of ``stage`` over ``batches`` (an iterable of ``(B, V, J, 3)`` detections, cycled);
    returns the per-step loss records."""
    config = config or TrainConfig()
    optimizer = torch.optim.Adam(trainable(model, stage), lr=config.lr)
    batches = list(batches)
    records = []
    for step in range(steps):
        loss, parts = stage_losses(model, batches[step % len(batches)], stage, body_model, config)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record = {"step": step, "stage": stage, **parts}
        records.append(record)
        log(record)
    return records
