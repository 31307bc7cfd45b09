import torch

from mvmocap.fit.initialise import initial_params, rest_body_pose, yaw_only_orientation
from mvmocap.fit.model import KeypointModel
from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_angle_between


def test_yaw_only_orientation_turns_rest_frame_to_z_up():
    yaw = torch.tensor([0.0, 1.0], dtype=torch.float64)
    R = axis_angle_to_matrix(yaw_only_orientation(yaw))
    up = R @ torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    front = R @ torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(up, torch.tensor([[0.0, 0.0, 1.0]] * 2, dtype=torch.float64))
    torch.testing.assert_close(front[0], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(front[1], torch.tensor([-torch.sin(yaw[1]), torch.cos(yaw[1]), 0.0], dtype=torch.float64))
    assert torch.allclose(torch.det(R), torch.ones(2, dtype=torch.float64))


def test_initial_params_recovers_orientation_and_translation(tiny_model):
    model = KeypointModel(tiny_model, dtype=torch.float64)
    F = 5
    yaw = torch.linspace(-3.0, 3.0, F, dtype=torch.float64)
    orient = yaw_only_orientation(yaw)
    transl = torch.tensor([[0.5, -1.0, 0.9]], dtype=torch.float64).expand(F, 3)
    pose = rest_body_pose(F, dtype=torch.float64)
    betas = torch.zeros(10, dtype=torch.float64)
    joints = model(orient, pose, betas, transl)
    conf = torch.ones(F, 23, dtype=torch.float64)
    conf[2] = 0.0  # nobody in frame 2
    init = initial_params(model, joints, conf)
    assert init.valid.tolist() == [True, True, False, True, True]
    ok = init.valid
    angle = rotation_angle_between(axis_angle_to_matrix(init.global_orient[ok]), axis_angle_to_matrix(orient[ok]))
    assert float(angle.max()) < 1e-6
    torch.testing.assert_close(init.transl[ok], transl[ok])
    assert torch.isfinite(init.global_orient).all() and torch.isfinite(init.transl).all()
