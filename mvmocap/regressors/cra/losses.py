"""CRA's training loss (paper eq. 6): MSE on vertices, 2D joints, 3D joints and SMPL parameters,
weighted by learned homoscedastic uncertainties (Kendall et al. 2018):

``L = sum_k L_k / sigma_k^2 + log(sigma_v sigma_j2D sigma_j3D sigma_SMPL)``, written with the learned
``s_k = log sigma_k^2``: ``sum_k exp(-s_k) L_k + 0.5 s_k``.

Targets, per view: 3D joints (COCO-17) and vertices root-relative (mid-hip) in the camera's axes,
metres; 2D joints: the true projections in normalised crop coordinates; SMPL parameters: the root
rotation in camera axes and the 23 joint rotations as matrices, and the betas.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

TERMS = ("v", "j2d", "j3d", "smpl")


class HomoscedasticWeights(nn.Module):
    """The learned ``s_k = log sigma_k^2`` of eq. 6's four terms (start at 0: unit weights)."""

    def __init__(self):
        super().__init__()
        self.log_variance = nn.Parameter(torch.zeros(len(TERMS)))

    def forward(self, terms: dict[str, Tensor]) -> Tensor:
        total = self.log_variance.new_zeros(())
        for k, name in enumerate(TERMS):
            s = self.log_variance[k]
            total = total + torch.exp(-s) * terms[name] + 0.5 * s
        return total


def masked_mean(values: Tensor, weight: Tensor) -> Tensor:
    """Mean of ``values (N, ...)`` over the rows with ``weight (N,)`` 1 (0 when none)."""
    per_row = values.reshape(values.shape[0], -1).mean(-1)
    return (per_row * weight).sum() / weight.sum().clamp(min=1.0)


def regression_terms(pred: dict[str, Tensor], target: dict[str, Tensor], valid: Tensor) -> dict[str, Tensor]:
    """Eq. 6's four MSE terms of a decoded prediction (:meth:`BodyDecoder.decode`) against
    ``target`` (same keys: ``vertices``, ``joints2d``, ``joints``, ``global_orient``, ``body_pose``,
    ``betas``) over the views with ``valid (N,)`` 1."""
    smpl = torch.cat([
        (pred["global_orient"] - target["global_orient"]).flatten(1),
        (pred["body_pose"] - target["body_pose"]).flatten(1),
        (pred["betas"] - target["betas"]),
    ], -1)
    return {
        "v": masked_mean((pred["vertices"] - target["vertices"]) ** 2, valid),
        "j2d": masked_mean((pred["joints2d"] - target["joints2d"]) ** 2, valid),
        "j3d": masked_mean((pred["joints"] - target["joints"]) ** 2, valid),
        "smpl": masked_mean(smpl ** 2, valid),
    }
