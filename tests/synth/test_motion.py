"""Motion clips: deterministic, smooth (bounded joint speeds and accelerations), on the floor."""

from __future__ import annotations

import math

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.synth.motion import MotionConfig, hermite_spline, pose_clip, sample_clip


def test_clips_are_deterministic_per_seed_and_index():
    a, b, c = sample_clip(3, 1), sample_clip(3, 1), sample_clip(3, 2)
    assert torch.equal(a.body_pose, b.body_pose) and torch.equal(a.transl, b.transl) and torch.equal(a.betas, b.betas)
    assert not torch.allclose(a.body_pose, c.body_pose)
    assert a.body_pose.shape == (90, 23, 3) and a.global_orient.shape == (90, 3) and a.betas.shape == (10,)


def test_joint_rotations_turn_at_plausible_speeds():
    config = MotionConfig(frames=60)
    for index in range(3):
        clip = sample_clip(0, index, config)
        R = axis_angle_to_matrix(torch.cat([clip.global_orient[:, None], clip.body_pose], 1))  # (T, 24, 3, 3)
        rel = R[1:] @ R[:-1].transpose(-1, -2)
        angle = torch.acos(((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1))
        speed = angle * config.fps  # rad/s
        # the spline may overshoot the key-to-key average speed, not by a factor of 2
        assert float(speed.max()) < 2 * config.max_joint_speed
        assert float(speed.max()) > 0.1  # it moves


def test_posed_clip_is_smooth_and_stands_on_the_floor(toy_body):
    config = MotionConfig(frames=90)
    posed = pose_clip(sample_clip(1, 0, config), toy_body)
    assert posed.vertices[..., 2].amin(-1).abs().max() < 1e-4  # lowest vertex on the floor, every frame
    joints = posed.coco23.double()
    velocity = (joints[1:] - joints[:-1]) * config.fps
    acceleration = (velocity[1:] - velocity[:-1]) * config.fps
    assert float(velocity.norm(dim=-1).max()) < 6.0  # m/s: a fast human hand, not a teleport
    assert float(acceleration.norm(dim=-1).max()) < 80.0  # m/s^2
    path = posed.transl[:, :2].double()
    assert float((path[1:] - path[:-1]).norm(dim=-1).sum()) <= config.max_path_m + 1e-6


def test_a_family_restricts_every_key_pose():
    clip = sample_clip(0, 0, MotionConfig(pose_families=("leaning",)))
    assert set(clip.key_families) == {"leaning"}
    with pytest.raises(InputError, match="unknown pose family"):
        MotionConfig(pose_families=("flying",))
    with pytest.raises(InputError, match="frames"):
        MotionConfig(frames=1)


def test_hermite_spline_passes_through_the_knots_with_continuous_slope():
    g = torch.Generator().manual_seed(0)
    times = torch.tensor([0.0, 0.4, 1.1, 1.5, 2.6], dtype=torch.float64)
    values = torch.randn(5, 2, generator=g, dtype=torch.float64)
    assert torch.allclose(hermite_spline(times, values, times), values)
    eps = 1e-6
    for knot in times[1:-1]:
        left = (hermite_spline(times, values, knot[None] - eps) - hermite_spline(times, values, knot[None] - 2 * eps)) / eps
        right = (hermite_spline(times, values, knot[None] + 2 * eps) - hermite_spline(times, values, knot[None] + eps)) / eps
        assert torch.allclose(left, right, atol=1e-3)
    assert not math.isnan(float(hermite_spline(times, values, torch.tensor([2.6], dtype=torch.float64)).sum()))
