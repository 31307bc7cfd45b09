"""Loss terms (eq. 16, 19, 6) and the iterative refiner (S1+IR)."""

from __future__ import annotations

import torch

from mvmocap.regressors.metapose.losses import bone_loss, likelihood_loss, reprojection_loss
from mvmocap.regressors.metapose.model import bone_lengths, initial_state, project_state
from mvmocap.regressors.metapose.refine import iterative_refinement

from .conftest import make_inputs


def test_reprojection_loss_is_zero_at_the_truth_and_weighted():
    inputs, _, _ = make_inputs()
    joints, cameras = initial_state(inputs)
    target = project_state(joints, cameras)
    w = torch.ones(target.shape[:-1])
    assert reprojection_loss(joints, cameras, target, w) == 0
    moved = target.clone()
    moved[0, 0, 0] += torch.tensor([0.3, 0.4])
    torch.testing.assert_close(reprojection_loss(joints, cameras, moved, w), torch.tensor(0.25 / w.numel()))
    w[0, 0, 0] = 0
    assert reprojection_loss(joints, cameras, moved, w) == 0


def test_bone_loss_vanishes_for_the_subjects_bones():
    _, joints, _ = make_inputs()
    assert bone_loss(joints * 2, bone_lengths(joints)) < 1e-10
    assert bone_loss(joints + 0.1 * torch.randn(joints.shape, generator=torch.Generator().manual_seed(9)),
                     bone_lengths(joints)) > 1e-4


def test_iterative_refinement_lowers_the_objective_and_the_2d_error():
    inputs, _, uv_gt = make_inputs(B=4, noise_px=1.0, mono_noise_m=0.08, seed=2)
    joints, cameras = initial_state(inputs)
    j2, c2 = iterative_refinement(inputs, joints, cameras, steps=60)
    assert likelihood_loss(j2, c2, inputs) < likelihood_loss(joints, cameras, inputs) - 1.0
    target = inputs.normalise(uv_gt)
    w = torch.ones(target.shape[:-1])
    assert reprojection_loss(j2, c2, target, w) < 0.5 * reprojection_loss(joints, cameras, target, w)
