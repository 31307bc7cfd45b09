"""Small synthetic MetaPose inputs built without the dataset (fast)."""

from __future__ import annotations

import pytest
import torch

from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.geometry.weak_projection import weak_project
from mvmocap.regressors.metapose.inputs import prepare_inputs


def make_inputs(B=3, C=4, seed=0, noise_px=2.0, mono_noise_m=0.03):
    """Frame-sets of a random 17-joint body seen by weak cameras in pixels; noisy 2D and monocular 3D."""
    g = torch.Generator().manual_seed(seed)
    joints = torch.randn(B, 17, 3, generator=g) * 0.4
    joints = joints - joints[:, [11, 12]].mean(-2, keepdim=True)
    R = axis_angle_to_matrix(torch.randn(B, C, 3, generator=g))
    scale = 300 + 100 * torch.rand(B, C, generator=g)
    shift = 500 + 100 * torch.randn(B, C, 2, generator=g)
    uv_gt = weak_project(joints[:, None], R, scale, shift)
    uv = uv_gt + noise_px * torch.randn(uv_gt.shape, generator=g)
    conf = 0.5 + 0.5 * torch.rand(B, C, 17, generator=g)
    mono = torch.einsum("bcij,bnj->bcni", R, joints) + mono_noise_m * torch.randn(B, C, 17, 3, generator=g)
    inputs = prepare_inputs(uv, conf, mono, conf)
    return inputs, joints, uv_gt


@pytest.fixture
def small_inputs():
    return make_inputs()
