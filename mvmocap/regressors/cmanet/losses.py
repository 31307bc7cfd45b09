"""CMANet's losses (paper 3.5), each a pure function. Crop pixels are divided by the crop side, so the
2D terms are in crop units; rotations are compared as matrices (their 6D is not unique)."""

from __future__ import annotations

from torch import Tensor

from mvmocap.regressors.cmanet.inputs import CROP_PX


def keypoint_loss(predicted: Tensor, observed: Tensor, confidence: Tensor) -> Tensor:
    """Eq. 1 per view, ``(B, V)``: ``C_Filt^i |J^_2D^i - J_2D^i|^2`` summed over the joints. ``predicted``,
    ``observed (B, V, J, 2)`` crop pixels; ``confidence (B, V, J)`` already filtered (0 below lambda)."""
    return (confidence * (((predicted - observed) / CROP_PX) ** 2).sum(-1)).sum(-1)


def view_smpl_loss(rotations: Tensor, betas: Tensor, target_rotations: Tensor, target_betas: Tensor) -> Tensor:
    """Eq. 2 per view, ``(B, V)``: ``|{beta_opt^i, theta_opt^i} - {beta^i, theta^i}|^2`` with the 24 rotations
    ``(B, V, 24, 3, 3)`` and the betas ``(B, V, S)``."""
    return ((rotations - target_rotations) ** 2).sum((-1, -2, -3)) + ((betas - target_betas) ** 2).sum(-1)


def canonical_smpl_loss(body_rotations: Tensor, betas: Tensor, global_rotations: Tensor, target_body: Tensor,
                        target_betas: Tensor, target_global: Tensor, view_weight: Tensor) -> Tensor:
    """Eq. 5, ``(B,)``: the shared body pose ``(B, 23, 3, 3)`` and shape ``(B, S)`` against the multi-view
    SMPLify's, plus each view's global orientation ``(B, V, 3, 3)`` against its own (``view_weight (B, V)``:
    0 for a view without keypoints)."""
    body = ((body_rotations - target_body) ** 2).sum((-1, -2, -3)) + ((betas - target_betas) ** 2).sum(-1)
    views = (((global_rotations - target_global) ** 2).sum((-1, -2)) * view_weight).sum(-1)
    return body + views


def stage_loss(keypoints: Tensor, smpl: Tensor, alpha: float = 1.0, gamma: float = 1.0) -> Tensor:
    """Eq. 3 (per view, stage 1) and eq. 6 (stage 2): ``alpha L_2D + gamma L_SMPL``."""
    return alpha * keypoints + gamma * smpl
