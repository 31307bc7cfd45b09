"""MetaPose's training objectives, each a pure function of a state ``(joints (B, J, 3), cameras (B, C, 9))``.

* :func:`reprojection_loss`: eq. 16, the squared distance of the projections to the true 2D (the
  supervised S2);
* :func:`bone_loss`: eq. 19, the scale-free bone lengths against the subject's (the bone prior);
* :func:`likelihood_loss`: the negative log of the probabilistic bundle adjustment objective
  (eq. 6) under the per-joint mixtures: no 2D truth needed (the self-supervised S2/SS of Table 2;
  also the objective of the iterative refiner, :mod:`mvmocap.regressors.metapose.refine`).

All are means (over valid views and joints), in the views' normalised 2D units.
"""

from __future__ import annotations

from torch import Tensor

from mvmocap.regressors.metapose.inputs import MetaPoseInputs
from mvmocap.regressors.metapose.model import bone_lengths, joint_log_likelihood, project_state


def reprojection_loss(joints: Tensor, cameras: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Eq. 16: ``sum_{c,j} w |pi(j_j, c_c) - k_gt|^2 / sum w`` for ``target (B, C, J, 2)``, ``weight (B, C, J)``."""
    sq = ((project_state(joints, cameras) - target) ** 2).sum(-1)
    return (sq * weight).sum() / weight.sum().clamp(min=1e-12)


def bone_loss(joints: Tensor, bones: Tensor) -> Tensor:
    """Eq. 19: ``|b_N(J) - B|^2`` averaged over frame-sets, ``bones (B, E)`` scale-free."""
    return ((bone_lengths(joints) - bones) ** 2).sum(-1).mean()


def likelihood_loss(joints: Tensor, cameras: Tensor, inputs: MetaPoseInputs) -> Tensor:
    """``-mean_{c,j} log p(pi(j_j, c_c) | g_{j,c})`` over the valid views (eq. 6, negated and averaged)."""
    return -joint_log_likelihood(project_state(joints, cameras), inputs).mean()
