"""Betas from bone lengths (mvmocap.body.bone_shape) on the shipped open body."""

import pytest
import torch

from mvmocap.body import load_body_model
from mvmocap.body import bone_shape as bs
from mvmocap.geometry.rotations import axis_angle_to_matrix


@pytest.fixture(scope="module")
def body():
    return load_body_model().to(dtype=torch.float64)


def test_rest_keypoints_are_linear_in_the_betas(body):
    K0, D = bs.rest_keypoint_basis(body)
    g = torch.Generator().manual_seed(0)
    betas = torch.randn(4, body.num_betas, generator=g, dtype=torch.float64)
    expected = body(betas=betas).coco23
    assert torch.allclose(K0 + torch.einsum("kcs,bs->bkc", D, betas), expected, atol=1e-10)


def test_bone_lengths_do_not_depend_on_the_pose_much(body):
    g = torch.Generator().manual_seed(1)
    betas = torch.randn(1, 10, generator=g, dtype=torch.float64).expand(6, -1)
    pose = axis_angle_to_matrix(0.3 * torch.randn(6, 23, 3, generator=g, dtype=torch.float64))
    rest, _ = bs.bone_lengths(body(betas=betas).coco23)
    posed, conf = bs.bone_lengths(body(body_pose=pose, betas=betas).coco23)
    assert torch.equal(conf, torch.ones_like(conf))
    assert float((rest - posed).abs().max()) < 0.035  # skinning moves the surface keypoints a little


def test_betas_from_exact_bone_lengths(body):
    g = torch.Generator().manual_seed(2)
    truth = torch.randn(8, 10, generator=g, dtype=torch.float64)
    lengths, weights = bs.bone_lengths(body(betas=truth).coco23)
    basis = bs.rest_keypoint_basis(body)
    start = torch.zeros_like(truth)
    betas = bs.betas_from_bone_lengths(basis, lengths, weights, start, prior=1e-6, iterations=8)
    recovered, _ = bs.bone_lengths(body(betas=betas).coco23)
    assert float((recovered - lengths).abs().max()) < 2e-3  # 10 bones, 10 betas: matched to millimetres
    before, _ = bs.bone_lengths(body(betas=start).coco23)
    assert float((before - lengths).abs().mean()) > 0.01


def test_prior_and_unknown_bones(body):
    g = torch.Generator().manual_seed(3)
    truth = torch.randn(2, 10, generator=g, dtype=torch.float64)
    lengths, weights = bs.bone_lengths(body(betas=truth).coco23)
    basis = bs.rest_keypoint_basis(body)
    prior_betas = torch.randn(2, 10, generator=g, dtype=torch.float64)
    # a huge prior, or no known bone: the prior's betas come back
    held = bs.betas_from_bone_lengths(basis, lengths, weights, prior_betas, prior=1e6)
    unknown = bs.betas_from_bone_lengths(basis, lengths, torch.zeros_like(weights), prior_betas, prior=1e-2)
    assert torch.allclose(held, prior_betas, atol=1e-4) and torch.allclose(unknown, prior_betas, atol=1e-12)
    # confidences: the smaller of the two ends
    conf = torch.ones(2, 23, dtype=torch.float64)
    conf[:, 7] = 0.3  # left elbow
    _, w = bs.bone_lengths(body(betas=truth).coco23, conf)
    assert sorted(set(w[0].tolist())) == [0.3, 1.0] and int((w[0] == 0.3).sum()) == 2


def test_lengths_far_from_the_prior_body_are_not_believed(body):
    g = torch.Generator().manual_seed(4)
    truth = 0.5 * torch.randn(1, 10, generator=g, dtype=torch.float64)
    lengths, weights = bs.bone_lengths(body(betas=truth).coco23)
    wild = lengths.clone()
    wild[0, 2] *= 2.0  # one upper arm measured twice as long (two views triangulating badly)
    basis = bs.rest_keypoint_basis(body)
    start = torch.zeros_like(truth)
    believed = bs.betas_from_bone_lengths(basis, wild, weights, start, prior=1e-4)
    robust = bs.betas_from_bone_lengths(basis, wild, weights, start, prior=1e-4, max_change=0.25)

    def error(betas):  # the bones other than the wild one
        got, _ = bs.bone_lengths(body(betas=betas).coco23)
        keep = [k for k in range(len(bs.BONES)) if k != 2]
        return float((got - lengths)[0, keep].abs().mean())

    assert error(robust) < 0.005 < error(believed)
