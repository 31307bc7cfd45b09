"""The neural optimizer: permutation equivariance, the MLP baseline, shapes, zero-initialised steps."""

from __future__ import annotations

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.regressors.metapose.gmm import JointGMM
from mvmocap.regressors.metapose.inputs import MetaPoseInputs
from mvmocap.regressors.metapose.model import NeuralOptimizer, bone_lengths, initial_state

from .conftest import make_inputs


def _permuted(inputs: MetaPoseInputs, order: torch.Tensor) -> MetaPoseInputs:
    g = inputs.gmm
    return MetaPoseInputs(inputs.keypoints[:, order], inputs.confidence[:, order],
                          JointGMM(g.means[:, order], g.sigmas[:, order], g.weights[:, order]),
                          inputs.mono3d[:, order], inputs.mono_weight[:, order], inputs.view_valid[:, order],
                          inputs.centre[:, order], inputs.box[:, order])


def _randomise_heads(net: torch.nn.Module) -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.normal_(0, 0.05)


def test_shuffling_cameras_shuffles_camera_updates_and_keeps_the_pose():
    inputs, _, _ = make_inputs(B=2, C=5, seed=3)
    inputs = MetaPoseInputs(*[getattr(inputs, f) for f in ("keypoints", "confidence", "gmm", "mono3d", "mono_weight")],
                            inputs.view_valid.clone(), inputs.centre, inputs.box)
    inputs.view_valid[1, 3] = False  # a missing view stays out of the pooled moments wherever it is
    net = NeuralOptimizer(steps=2, layers=(32, "CC", 32))
    _randomise_heads(net)
    joints, cameras = initial_state(inputs)
    order = torch.tensor([3, 0, 4, 1, 2])
    with torch.no_grad():
        j1, c1 = net(inputs, joints, cameras)[-1]
        j2, c2 = net(_permuted(inputs, order), joints, cameras[:, order])[-1]
    torch.testing.assert_close(j2, j1, atol=1e-5, rtol=0)
    torch.testing.assert_close(c2, c1[:, order], atol=1e-5, rtol=0)
    assert j1.abs().sum() > 0 and not torch.allclose(j1, joints)


def test_untrained_steps_leave_the_state_unchanged():
    inputs, _, _ = make_inputs()
    joints, cameras = initial_state(inputs)
    with torch.no_grad():
        states = NeuralOptimizer(steps=3, layers=(16, "CC", 16))(inputs, joints, cameras)
    assert len(states) == 3
    torch.testing.assert_close(states[-1][0], joints)
    torch.testing.assert_close(states[-1][1], cameras, atol=1e-5, rtol=0)


def test_shapes_over_batch_and_view_counts():
    net = NeuralOptimizer(steps=1, layers=(16, "CC", 16))
    for B, C in ((1, 2), (4, 8)):
        inputs, _, _ = make_inputs(B=B, C=C)
        j, c = net(inputs, *initial_state(inputs))[-1]
        assert j.shape == (B, 17, 3) and c.shape == (B, C, 9)


def test_mlp_baseline_needs_its_camera_count():
    inputs, _, _ = make_inputs(C=4)
    net = NeuralOptimizer(steps=1, architecture="mlp", views=4, layers=1)
    _randomise_heads(net)
    j, c = net(inputs, *initial_state(inputs))[-1]
    assert j.shape == (3, 17, 3)
    other, _, _ = make_inputs(C=3)
    with pytest.raises(InputError, match="4 cameras"):
        net(other, *initial_state(other))
    with pytest.raises(InputError, match="fixed number of views"):
        NeuralOptimizer(architecture="mlp")


def test_bone_prior_model_needs_bone_lengths():
    inputs, joints, _ = make_inputs()
    net = NeuralOptimizer(steps=1, bone_prior=True, layers=(16, "CC", 16))
    with pytest.raises(InputError, match="bone lengths"):
        net(inputs, *initial_state(inputs))
    out = net(inputs, *initial_state(inputs), bones=bone_lengths(joints))
    assert out[-1][0].shape == (3, 17, 3)


def test_bone_lengths_are_scale_free():
    _, joints, _ = make_inputs()
    torch.testing.assert_close(bone_lengths(joints * 3.0), bone_lengths(joints))
    torch.testing.assert_close(bone_lengths(joints).mean(-1), torch.ones(3))
