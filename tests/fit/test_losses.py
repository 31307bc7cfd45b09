import pytest
import torch

from mvmocap.fit import losses
from mvmocap.fit.losses import HINGE_JOINTS


def test_geman_mcclure_hand_values():
    r2 = torch.tensor([0.0, 1.0, 4.0, 100.0], dtype=torch.float64)
    # sigma = 2: 4 r^2 / (4 + r^2)
    expected = torch.tensor([0.0, 4 / 5, 16 / 8, 400 / 104], dtype=torch.float64)
    torch.testing.assert_close(losses.geman_mcclure(r2, 2.0), expected)


def test_geman_mcclure_is_quadratic_near_zero_and_bounded():
    r2 = torch.tensor([1e-6, 1e8], dtype=torch.float64)
    out = losses.geman_mcclure(r2, 3.0)
    assert out[0] == pytest.approx(1e-6, rel=1e-6)
    assert out[1] < 9.0 and out[1] == pytest.approx(9.0, rel=1e-6)


def test_reprojection_term_hand_computed():
    projected = torch.zeros(2, 1, 2, 2, dtype=torch.float64)
    observed = torch.zeros_like(projected)
    observed[0, 0, 0] = torch.tensor([3.0, 4.0])  # residual 5 px
    observed[1, 0, 1] = torch.tensor([0.0, 10.0])  # residual 10 px, zero confidence
    conf = torch.tensor([[[0.5, 1.0]], [[1.0, 0.0]]], dtype=torch.float64)
    sigma = 10.0
    # frame 0: 0.5 * (100 * 25 / 125) / 100 = 0.1; frame 1: 0; mean over frames = 0.05
    value = losses.reprojection_term(projected, observed, conf, sigma)
    assert float(value) == pytest.approx(0.05)


def test_joints3d_term_hand_computed():
    model = torch.zeros(1, 2, 3, dtype=torch.float64)
    target = torch.tensor([[[0.1, 0.0, 0.0], [0.0, 0.0, 0.0]]], dtype=torch.float64)
    conf = torch.ones(1, 2, dtype=torch.float64)
    # sigma 0.1: rho = 0.01 * 0.01 / 0.02 = 0.005; / sigma^2 = 0.5
    assert float(losses.joints3d_term(model, target, conf, 0.1)) == pytest.approx(0.5)


def test_priors_zero_at_rest():
    rest = torch.zeros(5, 23, 3, dtype=torch.float64)
    assert float(losses.shape_prior(torch.zeros(10))) == 0.0
    assert float(losses.pose_prior(rest)) == 0.0
    assert torch.all(losses.bending_prior(rest) == 0)
    assert torch.all(losses.hinge_off_axis_prior(rest) == 0)


def test_pose_prior_about_a_mean():
    g = torch.Generator().manual_seed(3)
    pose = torch.randn(4, 23, 3, generator=g, dtype=torch.float64)
    mean = torch.randn(4, 23, 3, generator=g, dtype=torch.float64)
    assert float(losses.pose_prior(pose, pose)) == 0.0
    torch.testing.assert_close(losses.pose_prior(pose, mean), losses.pose_prior(pose - mean))
    assert float(losses.pose_prior(pose, None)) == pytest.approx(float((pose**2).sum() / 4))
    # one mean for every frame broadcasts
    torch.testing.assert_close(losses.pose_prior(pose, mean[0]), losses.pose_prior(pose - mean[:1]))


def test_bending_prior_zero_for_natural_bending_positive_when_violated():
    pose = torch.zeros(len(HINGE_JOINTS), 23, 3, dtype=torch.float64)
    for k, h in enumerate(HINGE_JOINTS):
        pose[k, h.index, h.axis] = h.sign * 1.0  # natural flexion of 1 rad
    assert torch.all(losses.bending_prior(pose) == 0)
    wrong = torch.zeros_like(pose)
    over = torch.zeros_like(pose)
    for k, h in enumerate(HINGE_JOINTS):
        wrong[k, h.index, h.axis] = -h.sign * 0.5  # bent backwards
        over[k, h.index, h.axis] = h.sign * (h.max_flexion + 0.3)
    torch.testing.assert_close(losses.bending_prior(wrong), torch.full((4,), 0.25, dtype=torch.float64))
    torch.testing.assert_close(losses.bending_prior(over), torch.full((4,), 0.09, dtype=torch.float64))


def test_hinge_off_axis_prior_counts_only_off_axis_components():
    pose = torch.zeros(1, 23, 3, dtype=torch.float64)
    h = HINGE_JOINTS[0]
    pose[0, h.index, h.axis] = 1.0
    assert float(losses.hinge_off_axis_prior(pose)) == 0.0
    pose[0, h.index, (h.axis + 1) % 3] = 0.2
    assert float(losses.hinge_off_axis_prior(pose)) == pytest.approx(0.04)


def test_temporal_smoothness():
    t = torch.arange(6, dtype=torch.float64)
    linear = torch.stack([t, 2 * t, -t], -1)  # constant velocity
    assert float(losses.temporal_smoothness(linear, 2)) == pytest.approx(0.0)
    assert float(losses.temporal_smoothness(linear, 1)) == pytest.approx(6.0)
    quadratic = (t**2)[:, None]
    assert float(losses.temporal_smoothness(quadratic, 2)) == pytest.approx(4.0)
    assert float(losses.temporal_smoothness(linear[:2], 2)) == 0.0


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    r2 = (torch.rand(7, generator=g, dtype=torch.float64) * 5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: losses.geman_mcclure(x, 1.5), (r2,))
    proj = torch.randn(2, 3, 4, 2, generator=g, dtype=torch.float64, requires_grad=True)
    obs = torch.randn(2, 3, 4, 2, generator=g, dtype=torch.float64)
    conf = torch.rand(2, 3, 4, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: losses.reprojection_term(p, obs, conf, 0.7), (proj,))
    pose = (0.5 * torch.randn(2, 23, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: losses.bending_prior(p), (pose,))
    assert torch.autograd.gradcheck(lambda p: losses.hinge_off_axis_prior(p), (pose,))
    seq = torch.randn(5, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: losses.temporal_smoothness(s, 2), (seq,))


@pytest.mark.parametrize("batch", [(), (1,), (2, 3)])
def test_priors_and_penalty_keep_batch_shapes(batch):
    g = torch.Generator().manual_seed(1)
    pose = torch.randn(*batch, 23, 3, generator=g)
    assert losses.bending_prior(pose).shape == batch
    assert losses.hinge_off_axis_prior(pose).shape == batch
    assert losses.shape_prior(torch.randn(*batch, 10, generator=g)).shape == batch
    assert losses.geman_mcclure(torch.rand(batch, generator=g), 2.0).shape == batch
