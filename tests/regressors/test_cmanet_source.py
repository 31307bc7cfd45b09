"""The cmanet drift guard's labelled source (mvmocap/regressors/cmanet/source.py): the training domain it
draws, the true parameters as stage 2's targets in each camera's axes, and the frames of each step."""

from __future__ import annotations

import pytest
import torch

from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.regressors.cmanet.source import (
    SOURCE_CAMERAS, SOURCE_CONDITIONS, SourceFrames, camera_orientations, source_sequence,
)
from mvmocap.synth.rig_sampler import TRAINING_RIG_FAMILIES


def test_the_source_is_the_training_domain_cycling_cameras_and_conditions():
    configs = [source_sequence(i, frames=7, mask_side=100) for i in range(6)]
    assert [c.cameras for c in configs] == [SOURCE_CAMERAS[i % 3] for i in range(6)]
    assert [c.condition for c in configs] == [SOURCE_CONDITIONS[i % 2] for i in range(6)]
    assert all(c.rig_families == TRAINING_RIG_FAMILIES and "high_wide" not in c.rig_families for c in configs)
    assert all(c.motion.frames == 7 and c.mask_side == 100 for c in configs)
    assert "gesturing" not in configs[0].motion.pose_families


def test_camera_orientations_pose_the_root_relative_body_as_each_camera_sees_it():
    from mvmocap.synth.dataset import load_body

    g = torch.Generator().manual_seed(4)
    F, C = 3, 4
    orient_world = axis_angle_to_matrix(torch.randn(F, 3, generator=g, dtype=torch.float64))
    pose = axis_angle_to_matrix(0.3 * torch.randn(F, 23, 3, generator=g, dtype=torch.float64))
    R = axis_angle_to_matrix(torch.randn(C, 3, generator=g, dtype=torch.float64))
    body = load_body(None).to(dtype=torch.float64)
    world = body(global_orient=orient_world, body_pose=pose, betas=torch.zeros(F, 10, dtype=torch.float64))
    seen = body(global_orient=camera_orientations(orient_world, R).reshape(F * C, 3, 3),
                body_pose=pose[:, None].expand(F, C, 23, 3, 3).reshape(F * C, 23, 3, 3),
                betas=torch.zeros(F * C, 10, dtype=torch.float64))
    world_rel = world.coco23 - world.joints[:, :1]
    seen_rel = (seen.coco23 - seen.joints[:, :1]).reshape(F, C, 23, 3)
    torch.testing.assert_close(seen_rel, torch.einsum("cij,fkj->fcki", R, world_rel))


def test_the_frames_of_a_step_depend_on_seed_and_step_only_and_are_usable():
    usable = [torch.tensor([True, False, True]), torch.tensor([False, True])]
    source, again = SourceFrames(usable, batch=4, seed=1), SourceFrames(usable, batch=4, seed=1)
    allowed = [{0, 2}, {1}]
    draws = [source.frames_of_step(step) for step in range(20)]
    for step, (which, frames) in enumerate(draws):
        assert set(frames.tolist()) <= allowed[which] and len(frames) == 4
        same = again.frames_of_step(step)
        assert same[0] == which and torch.equal(same[1], frames)
    assert {which for which, _ in draws} == {0, 1}
    other = [SourceFrames(usable, batch=4, seed=2).frames_of_step(step) for step in range(20)]
    assert any(a[0] != b[0] or not torch.equal(a[1], b[1]) for a, b in zip(draws, other))


def test_a_source_without_a_usable_frame_is_refused():
    with pytest.raises(ValueError, match="usable"):
        SourceFrames([torch.zeros(3, dtype=torch.bool)], batch=2, seed=0)
