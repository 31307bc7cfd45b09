"""The iterative refiner (S1+IR, section 5.1): gradient descent on the same objective as S2/SS.

Adam on the pose and the cameras' 9-number vectors, minimising the negative GMM log-likelihood of
the projections (eq. 6, :func:`mvmocap.regressors.metapose.losses.likelihood_loss`) plus, with the
subject's bone lengths, the bone prior (eq. 19). The paper's settings: "Adam with learning rate
1e-2 for 100 steps" (section 8.3).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.regressors.metapose.inputs import MetaPoseInputs
from mvmocap.regressors.metapose.losses import bone_loss, likelihood_loss

IR_STEPS = 100
IR_LR = 1e-2


def iterative_refinement(inputs: MetaPoseInputs, joints: Tensor, cameras: Tensor, *, steps: int = IR_STEPS,
                         lr: float = IR_LR, bones: Tensor | None = None, bone_weight: float = 1.0) -> tuple[Tensor, Tensor]:
    """Refined ``(joints (B, J, 3), cameras (B, C, 9))`` from a start state (stage 1 or random).

    The frame-sets are independent; their objectives are summed so one Adam run serves the batch
    (Adam's per-parameter steps keep them independent)."""
    J = joints.detach().clone().requires_grad_(True)
    Cv = cameras.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([J, Cv], lr=lr)
    B = joints.shape[0]
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = likelihood_loss(J, Cv, inputs) * B
            if bones is not None:
                loss = loss + bone_weight * bone_loss(J, bones) * B
            loss.backward()
            optimizer.step()
    # missing views keep their start (they have no evidence; Adam moves them only by their zero gradient)
    return J.detach(), Cv.detach()
