import torch

from mvmocap.fit.model import KeypointModel


def random_inputs(B, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, 3, generator=g, dtype=torch.float64),
        0.4 * torch.randn(B, 23, 3, generator=g, dtype=torch.float64),
        torch.randn(B, 10, generator=g, dtype=torch.float64),
        torch.randn(B, 3, generator=g, dtype=torch.float64),
    )


class _Generic:
    """A body model that follows the API but exposes no SMPL arrays (KeypointModel calls it whole)."""

    num_betas = 10

    def __init__(self, body):
        self.body = body
        self.coco23_available = body.coco23_available

    def __call__(self, **kwargs):
        return self.body(**kwargs)


def test_reduced_skinning_matches_full_model(tiny_model):
    model = KeypointModel(tiny_model, dtype=torch.float64)
    assert model.reduced is not None
    orient, pose, betas, transl = random_inputs(5)
    full = tiny_model(global_orient=orient, body_pose=pose, betas=betas, transl=transl).coco23
    torch.testing.assert_close(model(orient, pose, betas, transl), full)
    # shared betas (1-D) and rotation matrices for the root
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    shared = tiny_model(global_orient=orient, body_pose=pose, betas=betas[0].expand(5, -1), transl=transl).coco23
    torch.testing.assert_close(model(axis_angle_to_matrix(orient), pose, betas[0], transl), shared)


def test_generic_callable_model_is_called_whole(tiny_model):
    model = KeypointModel(_Generic(tiny_model), dtype=torch.float64)
    assert model.reduced is None
    orient, pose, betas, transl = random_inputs(3, seed=1)
    full = tiny_model(global_orient=orient, body_pose=pose, betas=betas, transl=transl).coco23
    torch.testing.assert_close(model(orient, pose, betas, transl), full)


def test_reduced_skinning_matches_the_shipped_open_model():
    from mvmocap.body.loading import MODELS_DIR, load_body_model

    if not (MODELS_DIR / "open_neutral.npz").is_file():
        import pytest

        pytest.skip("models/body/open_neutral.npz not built (mvmocap body build-open)")
    body = load_body_model("open_neutral", dtype=torch.float64)
    model = KeypointModel(body, dtype=torch.float64)
    orient, pose, betas, transl = random_inputs(3, seed=2)
    full = body(global_orient=orient, body_pose=pose, betas=betas, transl=transl).coco23
    torch.testing.assert_close(model(orient, pose, betas, transl), full)


def test_level_kinematics_matches_the_body_stage():
    from mvmocap.body.joint_sets import SMPL_PARENTS
    from mvmocap.body.lbs import forward_kinematics
    from mvmocap.fit.model import LevelKinematics
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    g = torch.Generator().manual_seed(3)
    rotations = axis_angle_to_matrix(torch.randn(4, 24, 3, generator=g, dtype=torch.float64))
    joints = torch.randn(4, 24, 3, generator=g, dtype=torch.float64)
    expected = forward_kinematics(rotations, joints, SMPL_PARENTS)
    got = LevelKinematics(SMPL_PARENTS)(rotations, joints)
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1])


def _autodiff_jacobian(model, rotation_start, delta, pose, betas, transl):
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    B = pose.shape[0]

    def points(x):
        R = rotation_start @ axis_angle_to_matrix(x[:, :3])
        return model(R, x[:, 3:72].reshape(B, 23, 3), betas, x[:, 72:])

    x = torch.cat([delta, pose.flatten(1), transl], dim=1)
    full = torch.autograd.functional.jacobian(points, x)  # (B, 23, 3, B, 75)
    return torch.stack([full[b, :, :, b] for b in range(B)])


def test_closed_form_jacobian_matches_autodiff(tiny_model):
    """The tiny model has pose correctives, so their part of the Jacobian is checked too."""
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    model = KeypointModel(tiny_model, dtype=torch.float64)
    assert model.reduced is not None and model.reduced.moment_pose is not None
    orient, pose, betas, transl = random_inputs(4, seed=5)
    g = torch.Generator().manual_seed(6)
    delta = 0.3 * torch.randn(4, 3, generator=g, dtype=torch.float64)
    delta[0] = 0.0  # the series branch of the right Jacobian
    pose[1, 3] = 0.0
    start = axis_angle_to_matrix(orient)
    rotation = start @ axis_angle_to_matrix(delta)
    points, jac = model.jacobian(rotation, delta, pose, betas, transl)
    assert jac.shape == (4, 23, 3, 75)
    torch.testing.assert_close(points, model(rotation, pose, betas, transl))
    torch.testing.assert_close(jac, _autodiff_jacobian(model, start, delta, pose, betas, transl))


def test_generic_model_jacobian_matches_the_closed_form(tiny_model):
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    closed, generic = KeypointModel(tiny_model, dtype=torch.float64), KeypointModel(_Generic(tiny_model), dtype=torch.float64)
    orient, pose, betas, transl = random_inputs(2, seed=7)
    delta = torch.full((2, 3), 0.1, dtype=torch.float64)
    rotation = axis_angle_to_matrix(orient) @ axis_angle_to_matrix(delta)
    expected = closed.jacobian(rotation, delta, pose, betas[0], transl)
    got = generic.jacobian(rotation, delta, pose, betas[0], transl)
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1])


def test_shape_jacobian_matches_autodiff_and_the_generic_path(tiny_model):
    """The affine shortcut of the SMPL-format body equals autograd's derivative (pose correctives on)."""
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    model = KeypointModel(tiny_model, dtype=torch.float64)
    orient, pose, betas, transl = random_inputs(3, seed=9)
    rotation = axis_angle_to_matrix(orient)
    jac = model.shape_jacobian(rotation, pose, betas[0], transl)
    assert jac.shape == (3, 23, 3, 10)
    expected = torch.autograd.functional.jacobian(lambda b: model(rotation, pose, b, transl), betas[0])
    torch.testing.assert_close(jac, expected)
    generic = KeypointModel(_Generic(tiny_model), dtype=torch.float64).shape_jacobian(rotation, pose, betas[0], transl)
    torch.testing.assert_close(generic, expected)
