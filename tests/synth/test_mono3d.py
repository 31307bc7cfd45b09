"""Synthetic monocular 3D (mvmocap.synth.mono3d)."""

from __future__ import annotations

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.synth.mono3d import MonocularNoise


def _scene(seed=0, B=3, C=4, J=17):
    g = torch.Generator().manual_seed(seed)
    joints = torch.randn(B, J, 3, generator=g) * 0.4 + torch.tensor([0.0, 0.0, 1.0])
    R = axis_angle_to_matrix(torch.randn(B, C, 3, generator=g))
    t = torch.randn(B, C, 3, generator=g)
    conf = torch.rand(B, C, J, generator=g) * 0.5 + 0.5
    return joints, R, t, conf


def test_exact_monocular_3d_is_the_root_relative_camera_frame_pose():
    joints, R, t, conf = _scene()
    conf[0, 1, 3] = 0
    mono, w = MonocularNoise.none().apply(joints, R, t, conf, torch.Generator().manual_seed(0))
    cam = torch.einsum("bcij,bnj->bcni", R, joints)
    cam = cam - cam[:, :, [11, 12]].mean(-2, keepdim=True)
    expected = cam.clone()
    expected[0, 1, 3] = 0
    torch.testing.assert_close(mono, expected, atol=1e-5, rtol=0)
    assert w[0, 1, 3] == 0 and torch.equal(w[conf > 0], conf[conf > 0])


def test_noise_is_larger_in_depth_and_reproducible():
    joints, R, t, conf = _scene(1, B=64)
    conf = torch.ones_like(conf)
    noise = MonocularNoise(rotation_deg=0.0, scale_sigma=0.0, flip_rate=0.0)
    mono, _ = noise.apply(joints, R, t, conf, torch.Generator().manual_seed(5))
    again, _ = noise.apply(joints, R, t, conf, torch.Generator().manual_seed(5))
    assert torch.equal(mono, again)
    exact, _ = MonocularNoise.none().apply(joints, R, t, conf, torch.Generator().manual_seed(5))
    err = (mono - exact).std(dim=(0, 1, 2))
    assert err[2] > 1.5 * err[:2].max()


def test_invalid_noise_is_refused():
    with pytest.raises(InputError, match="joint_sigma_m"):
        MonocularNoise(joint_sigma_m=-1.0)


def test_flips_swap_left_and_right_of_whole_views():
    joints, R, t, conf = _scene(2, B=50)
    noise = MonocularNoise(joint_sigma_m=0.0, rotation_deg=0.0, scale_sigma=0.0, flip_rate=0.5, follow_2d_swaps=0.0)
    mono, _ = noise.apply(joints, R, t, conf, torch.Generator().manual_seed(1))
    exact, _ = MonocularNoise.none().apply(joints, R, t, conf, torch.Generator().manual_seed(1))
    same = torch.isclose(mono, exact, atol=1e-6).all(-1).all(-1)  # (B, C)
    assert 0.3 < float(same.double().mean()) < 0.7
    from mvmocap.keypoints import COCO17, flip_permutation

    perm = list(flip_permutation(COCO17))
    torch.testing.assert_close(mono[~same], exact[~same][:, perm], atol=1e-5, rtol=0)


def test_monocular_flips_follow_swapped_2d_views():
    from mvmocap.keypoints import COCO17, flip_permutation
    from mvmocap.synth.mono3d import swapped_views

    joints, R, t, conf = _scene(3, B=4)
    truth = torch.einsum("bcij,bnj->bcni", R, joints)[..., :2]
    detected = truth.clone()
    perm = list(flip_permutation(COCO17))
    detected[1, 2] = truth[1, 2][perm]
    swapped = swapped_views(detected, truth, conf)
    expected = torch.zeros(4, 4, dtype=torch.bool)
    expected[1, 2] = True
    assert torch.equal(swapped, expected)
    noise = MonocularNoise(joint_sigma_m=0.0, rotation_deg=0.0, scale_sigma=0.0, follow_2d_swaps=1.0)
    mono, _ = noise.apply(joints, R, t, conf, torch.Generator().manual_seed(0), swapped)
    exact, _ = MonocularNoise.none().apply(joints, R, t, conf, torch.Generator().manual_seed(0))
    torch.testing.assert_close(mono[1, 2], exact[1, 2][perm], atol=1e-5, rtol=0)
    torch.testing.assert_close(mono[~expected], exact[~expected], atol=1e-5, rtol=0)
