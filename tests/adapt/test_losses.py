"""The paper's loss terms (eq. 1, 3, 4, 5, 6)."""

from __future__ import annotations

import torch

from mvmocap.adapt import losses


def test_2d_loss_is_in_crop_units_and_confidence_weighted():
    projected = torch.zeros(1, 2, 3, 2)
    detected = torch.zeros(1, 2, 3, 3)
    detected[..., 2] = 1.0
    detected[0, 0, 0, :2] = torch.tensor([10.0, 0.0])  # 10 px off in a 100 px crop: 0.2 crop units
    scale = torch.full((1, 2), 100.0)
    assert torch.isclose(losses.keypoint_2d_loss(projected, detected, scale), torch.tensor(0.04 / 6))
    detected[0, 0, 0, 2] = 0.1  # under the threshold: left out
    assert losses.keypoint_2d_loss(projected, detected, scale, min_confidence=0.2) == 0


def test_3d_and_mesh_losses_ignore_translation_and_unweighted_frames():
    g = torch.Generator().manual_seed(0)
    joints = torch.randn(3, 17, 3, generator=g)
    verts = torch.randn(3, 40, 3, generator=g)
    shift = torch.tensor([1.0, -2.0, 0.5])
    weight = torch.tensor([1.0, 1.0, 0.0])
    assert losses.joints_3d_loss(joints, joints + shift, weight) < 1e-12
    assert losses.mesh_loss(verts, joints, verts + shift, joints + shift, weight) < 1e-12
    other = joints.clone()
    other[2] += torch.randn(17, 3, generator=g)  # only the unweighted frame differs
    assert losses.joints_3d_loss(joints, other, weight) < 1e-12
    other[0, 0] += 1.0
    assert losses.joints_3d_loss(joints, other, weight) > 0


def test_parameter_loss_and_the_paper_weights():
    rot = torch.eye(3).expand(2, 24, 3, 3)
    betas = torch.zeros(2, 10)
    w = torch.ones(2)
    assert losses.parameter_loss(rot, betas, rot, betas + 1.0, w) == 1.0
    assert losses.PAPER_WEIGHTS == {"w_2d": 5.0, "w_3d": 5.0, "w_theta": 1.0, "w_mesh": 0.001}
    terms = {"2d": torch.tensor(1.0), "3d": torch.tensor(1.0), "theta": torch.tensor(1.0), "mesh": torch.tensor(1.0)}
    assert torch.isclose(losses.collaborative_loss(terms), torch.tensor(11.001))
    assert torch.isclose(losses.collaborative_loss({"2d": torch.tensor(2.0)}), torch.tensor(10.0))
