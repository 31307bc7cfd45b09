import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.body.params import BodyParams, fill_invalid_frames
from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_angle_between


def random_params(F, seed=0):
    g = torch.Generator().manual_seed(seed)
    return BodyParams(
        0.5 * torch.randn(F, 3, generator=g, dtype=torch.float64),
        0.3 * torch.randn(F, 23, 3, generator=g, dtype=torch.float64),
        torch.randn(10, generator=g, dtype=torch.float64),
        torch.randn(F, 3, generator=g, dtype=torch.float64),
        torch.ones(F, dtype=torch.bool),
    )


def test_to_smpl_poses_layout_and_round_trip():
    p = random_params(4)
    poses = p.to_smpl_poses()
    assert poses.shape == (4, 72)
    torch.testing.assert_close(poses[:, :3], p.global_orient)
    torch.testing.assert_close(poses[:, 3:6], p.body_pose[:, 0])
    back = BodyParams.from_smpl_poses(poses, p.betas, p.transl, p.valid)
    torch.testing.assert_close(back.body_pose, p.body_pose)


@pytest.mark.parametrize(
    "change",
    [
        dict(global_orient=torch.zeros(3, 3)),
        dict(body_pose=torch.zeros(4, 24, 3)),
        dict(transl=torch.zeros(4, 2)),
        dict(valid=torch.ones(4)),
        dict(betas=torch.zeros(2, 10)),
        dict(transl=torch.full((4, 3), float("nan"))),
    ],
)
def test_validation(change):
    p = BodyParams.zeros(4)
    fields = dict(global_orient=p.global_orient, body_pose=p.body_pose, betas=p.betas, transl=p.transl, valid=p.valid)
    fields.update(change)
    with pytest.raises(InputError):
        BodyParams(**fields)


def test_fill_invalid_frames_interpolates_and_holds():
    p = random_params(6)
    valid = torch.tensor([False, True, False, False, True, False])
    out = fill_invalid_frames(p, valid)
    assert torch.equal(out.valid, valid)
    for name in ("global_orient", "body_pose", "transl"):
        assert torch.isfinite(getattr(out, name)).all()
    # held at both ends
    torch.testing.assert_close(out.transl[0], p.transl[1])
    torch.testing.assert_close(out.transl[5], p.transl[4])
    torch.testing.assert_close(out.global_orient[5], p.global_orient[4])
    # linear translation between frames 1 and 4
    torch.testing.assert_close(out.transl[2], p.transl[1] + (p.transl[4] - p.transl[1]) / 3)
    # valid frames untouched
    torch.testing.assert_close(out.body_pose[valid], p.body_pose[valid])
    # slerp: frame 2's rotation is a third of the way (in angle) from frame 1 to frame 4
    R = axis_angle_to_matrix(out.global_orient)
    total = rotation_angle_between(R[1], R[4])
    assert float(rotation_angle_between(R[1], R[2])) == pytest.approx(float(total) / 3, abs=1e-6)


def test_fill_invalid_frames_needs_a_valid_frame():
    with pytest.raises(InputError):
        fill_invalid_frames(random_params(3), torch.zeros(3, dtype=torch.bool))
