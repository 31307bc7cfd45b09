"""``FrameRig``: per-frame cameras, their smoothing and the moved-camera measure."""

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.frame_rig import FrameRig, camera_motion, nominal_rig, smoothed_rig
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.synth.moving import HandHeld, hand_held_rig


def _turning(rig: CameraRig, F: int, camera: int, degrees: float) -> FrameRig:
    """``rig`` over ``F`` frames with camera ``camera`` yawing linearly to ``degrees`` about its own centre."""
    still = FrameRig.static(rig, F)
    yaw = torch.deg2rad(torch.linspace(0, degrees, F, dtype=torch.float64))
    turn = axis_angle_to_matrix(torch.stack([torch.zeros_like(yaw), torch.zeros_like(yaw), yaw], -1))
    R, t = still.R.clone(), still.t.clone()
    centre = rig.centers()[camera]
    R[:, camera] = rig.R[camera] @ turn.transpose(-1, -2)
    t[:, camera] = -(R[:, camera] @ centre)
    return FrameRig(rig.names, still.K, still.dist, R, t, still.sizes)


def test_a_static_frame_rig_projects_and_triangulates_as_its_rig(rig4):
    g = torch.Generator().manual_seed(0)
    points = torch.randn(5, 7, 3, generator=g, dtype=torch.float64) * 0.3 + torch.tensor([0, 0, 1.0], dtype=torch.float64)
    moving = FrameRig.static(rig4, 5)
    torch.testing.assert_close(moving.project(points), rig4.project(points))
    torch.testing.assert_close(moving.depths(points), rig4.depths(points))
    uv = rig4.project(points)
    tri = moving.triangulate_robust(uv)
    torch.testing.assert_close(tri.points, points, atol=1e-6, rtol=0)
    torch.testing.assert_close(moving.reprojection_errors(points, uv), torch.zeros(5, 4, 7, dtype=torch.float64),
                               atol=1e-6, rtol=0)
    one = moving.at(3)
    assert isinstance(one, CameraRig) and torch.equal(one.R, rig4.R)
    assert moving.frames(torch.tensor([1, 2])).num_frames == 2 and moving.frames(slice(0, 3)).num_frames == 3
    sub = moving.subset(list(reversed(rig4.names)))
    torch.testing.assert_close(sub.project(points)[:, 0], rig4.project(points)[:, 3])


def test_each_frame_projects_with_its_own_cameras(rig4):
    moving = _turning(rig4, 6, camera=2, degrees=30)
    points = torch.tensor([[0.1, 0.2, 1.0]], dtype=torch.float64).expand(6, 1, 3)
    uv = moving.project(points)
    for f in (0, 5):
        torch.testing.assert_close(uv[f], moving.at(f).project(points[f]))
    assert float((uv[5, 2] - uv[0, 2]).norm()) > 50  # the turned camera sees the point elsewhere
    torch.testing.assert_close(uv[5, 1], uv[0, 1])  # the others do not


def test_relative_to_fixes_the_reference_camera(rig4):
    moving = _turning(rig4, 4, camera=0, degrees=20)
    rel = moving.relative_to(0)
    torch.testing.assert_close(rel.R[:, 0], torch.eye(3, dtype=torch.float64).expand(4, 3, 3))
    torch.testing.assert_close(rel.t[:, 0], torch.zeros(4, 3, dtype=torch.float64), atol=1e-12, rtol=0)
    points = torch.randn(4, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    # the same images of the points moved into camera 0's frame
    cam0 = points @ moving.R[:, 0].transpose(-1, -2) + moving.t[:, None, 0]
    torch.testing.assert_close(rel.project(cam0), moving.project(points))


def test_bad_shapes_are_input_errors(rig4):
    moving = FrameRig.static(rig4, 3)
    with pytest.raises(InputError, match="F = 3 frames"):
        moving.project(torch.zeros(2, 5, 3))
    with pytest.raises(InputError, match="FrameRig.R"):
        FrameRig(rig4.names, moving.K, moving.dist, rig4.R, moving.t, rig4.sizes)


def test_smoothing(rig4):
    still = FrameRig.static(rig4, 9)
    smooth = smoothed_rig(still, 5)
    torch.testing.assert_close(smooth.R, still.R)
    torch.testing.assert_close(smooth.t, still.t, atol=1e-9, rtol=0)
    # a linear turn stays linear inside the sequence: the window mean of a frame is that frame
    turning = _turning(rig4, 9, camera=1, degrees=16)
    torch.testing.assert_close(smoothed_rig(turning, 3).R[1:-1], turning.R[1:-1], atol=1e-9, rtol=0)


def test_the_turning_camera_is_flagged_and_the_others_are_not(rig4):
    moving = _turning(rig4, 60, camera=2, degrees=30)
    motion = camera_motion(moving, fps=30.0)
    assert motion.moved.tolist() == [False, False, True, False]
    assert 25 < float(motion.rotation_deg[2]) < 31 and float(motion.rotation_deg[[0, 1, 3]].max()) < 1e-3
    still = camera_motion(FrameRig.static(rig4, 60), fps=30.0)
    assert not bool(still.moved.any())
    # a camera estimated only in its first frames cannot be said to move
    valid = torch.ones(60, 4, dtype=torch.bool)
    valid[10:, 2] = False
    assert not bool(camera_motion(moving, 30.0, valid).moved[2])


def test_hand_held_rigs_move_as_asked(rig4):
    motion = HandHeld(yaw_deg=25.0, slide_m=0.6, duration_s=3.0)
    moving = hand_held_rig(rig4, 100, 30.0, motion, torch.Generator().manual_seed(0))
    torch.testing.assert_close(moving.R[0], rig4.R)
    slide = (moving.centers()[-1] - rig4.centers()).norm(dim=-1)
    torch.testing.assert_close(slide, torch.full((4,), 0.6, dtype=torch.float64))
    relative = moving.R[-1] @ rig4.R.transpose(-1, -2)
    yaw = torch.rad2deg(torch.arccos(((relative.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)))
    assert bool(((yaw >= 12.5 - 1e-6) & (yaw <= 25 + 1e-6)).all())
    torch.testing.assert_close(moving.R[90:], moving.R[90:91].expand(10, -1, -1, -1))  # still after 3 s
    assert bool(camera_motion(moving, 30.0).moved.all())


def test_nominal_rig_knows_names_and_sizes_only():
    rig = nominal_rig(("a", "b"), torch.tensor([[1920, 1080], [640, 480]]))
    assert rig.names == ("a", "b") and float(rig.K[0, 0, 0]) == 1920 and float(rig.K[1, 1, 2]) == 240
    torch.testing.assert_close(rig.R, torch.eye(3, dtype=torch.float64).expand(2, 3, 3))
