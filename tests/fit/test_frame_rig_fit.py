"""SMPLify under per-frame cameras (:class:`mvmocap.geometry.frame_rig.FrameRig`)."""


import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit import FitConfig, fit_sequence
from mvmocap.geometry.frame_rig import FrameRig
from mvmocap.geometry.rotations import axis_angle_to_matrix

FAST = FitConfig(iters_shape=30, iters_global=10, iters_pose=30, chunk_size=9)


def test_a_per_frame_rig_equal_in_every_frame_gives_the_static_fit(synthetic):
    static = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=FAST, progress=False)
    per_frame = FrameRig.static(synthetic.rig, synthetic.keypoints_2d.shape[0])
    moving = fit_sequence(synthetic.keypoints_2d, per_frame, synthetic.model, config=FAST, progress=False)
    torch.testing.assert_close(moving.params.body_pose, static.params.body_pose, atol=1e-5, rtol=0)
    torch.testing.assert_close(moving.keypoints3d, static.keypoints3d, atol=1e-5, rtol=0)
    torch.testing.assert_close(moving.reprojection_px, static.reprojection_px, atol=1e-4, rtol=0)


def test_each_frame_is_fitted_to_its_own_cameras(synthetic):
    """Cameras that turn about the world +Z axis through the body, more each frame, film the static
    synthetic body's keypoints turned the other way: fitting the re-rendered 2D with the per-frame
    rig recovers the body; with the first frame's cameras the body turns with the cameras instead."""
    F = synthetic.keypoints_2d.shape[0]
    angle = torch.linspace(0, 0.5, F, dtype=torch.float64)
    turn = axis_angle_to_matrix(torch.stack([torch.zeros_like(angle), torch.zeros_like(angle), angle], -1))  # (F, 3, 3)
    rig = synthetic.rig.to(torch.float64)
    R = rig.R[None] @ turn[:, None].transpose(-1, -2)  # x_cam = R turn^T x: the world turned by +angle
    moving = FrameRig(rig.names, rig.K.expand(F, -1, -1, -1), rig.dist.expand(F, -1, -1), R,
                      rig.t.expand(F, -1, -1), rig.sizes)
    truth = synthetic.keypoints3d.to(torch.float64)
    uv = moving.project(truth)
    kp = torch.cat([uv, synthetic.keypoints_2d[..., 2:].to(torch.float64)], -1) * (synthetic.keypoints_2d[..., 2:] > 0)
    fitted = fit_sequence(kp, moving, synthetic.model, config=FAST, progress=False)
    error = (fitted.keypoints3d.double() - truth).norm(dim=-1)
    assert float(error.mean()) < 0.02
    assert fitted.median_reprojection_px() < 3.0
    frozen = fit_sequence(kp, FrameRig.static(moving.at(0), F), synthetic.model, config=FAST, progress=False)
    frozen_error = (frozen.keypoints3d.double() - truth).norm(dim=-1)
    assert float(frozen_error[-1].mean()) > 5 * float(error[-1].mean())


def test_a_per_frame_rig_must_cover_the_frames(synthetic):
    short = FrameRig.static(synthetic.rig, synthetic.keypoints_2d.shape[0] - 1)
    with pytest.raises(InputError, match="per-frame cameras cover"):
        fit_sequence(synthetic.keypoints_2d, short, synthetic.model, config=FAST, progress=False)


def test_method_inputs_slice_a_per_frame_rig(synthetic):
    from mvmocap.fit.inputs import MethodInputs

    F = synthetic.keypoints_2d.shape[0]
    rig = FrameRig.static(synthetic.rig, F)
    inputs = MethodInputs(synthetic.keypoints_2d, rig, synthetic.model)
    part = inputs.frames(torch.tensor([2, 5, 7]))
    assert part.rig.num_frames == 3 and part.keypoints_2d.shape[0] == 3
    torch.testing.assert_close(part.rig.R, rig.R[[2, 5, 7]])
    assert inputs.frames(torch.tensor([1])).rig is not rig
    static = MethodInputs(synthetic.keypoints_2d, synthetic.rig, synthetic.model)
    assert static.frames(torch.tensor([1, 2])).rig is synthetic.rig
