"""Our linear blend skinning against smplx's SMPL on the same (random) arrays, and its gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvmocap.body import load_body_model
from mvmocap.body.lbs import forward_kinematics, linear_blend_skinning, rodrigues, skin_vertices
from mvmocap.geometry.rotations import axis_angle_to_matrix

smplx = pytest.importorskip("smplx")


def _random_parameters(batch: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    f64 = dict(dtype=torch.float64, generator=g)
    return {
        "global_orient": torch.randn(batch, 3, **f64),
        "body_pose": 0.6 * torch.randn(batch, 23, 3, **f64),
        "betas": torch.randn(batch, 10, **f64),
        "transl": torch.randn(batch, 3, **f64),
    }


@pytest.fixture(scope="module")
def both_models(smpl_pkl):
    reference = smplx.SMPL(model_path=str(smpl_pkl), dtype=torch.float64)
    ours = load_body_model(smpl_pkl, dtype=torch.float64)
    return reference, ours


def test_matches_smplx_to_1e6(both_models):
    reference, ours = both_models
    p = _random_parameters(4, seed=0)
    expected = reference(
        global_orient=p["global_orient"], body_pose=p["body_pose"].reshape(4, 69), betas=p["betas"], transl=p["transl"]
    )
    got = ours(**p)
    assert (got.vertices - expected.vertices).abs().max() < 1e-6
    assert (got.joints - expected.joints[:, :24]).abs().max() < 1e-6
    # smplx appends the face and foot vertices after the 24 joints, in its own order.
    extra = {"nose": 24, "right_eye": 25, "left_eye": 26, "right_ear": 27, "left_ear": 28, "left_big_toe": 29,
             "left_small_toe": 30, "left_heel": 31, "right_big_toe": 32, "right_small_toe": 33, "right_heel": 34}
    from mvmocap.keypoints import COCO23

    for name, column in extra.items():
        assert (got.coco23[:, COCO23.index(name)] - expected.joints[:, column]).abs().max() < 1e-6, name


def test_matrix_inputs_match_axis_angle(both_models):
    _, ours = both_models
    p = _random_parameters(3, seed=1)
    by_aa = ours(**p)
    by_matrix = ours(
        global_orient=axis_angle_to_matrix(p["global_orient"]),
        body_pose=axis_angle_to_matrix(p["body_pose"]),
        betas=p["betas"],
        transl=p["transl"],
    )
    assert torch.allclose(by_aa.vertices, by_matrix.vertices, atol=1e-10)


def test_identity_pose_keeps_rest_shape(smpl_arrays):
    rng = np.random.default_rng(3)
    v_template = torch.as_tensor(smpl_arrays["v_template"])
    shapedirs = torch.as_tensor(smpl_arrays["shapedirs"])
    betas = torch.as_tensor(rng.normal(size=(2, 10)))
    rotations = torch.eye(3, dtype=torch.float64).expand(2, 24, 3, 3)
    posedirs = torch.as_tensor(smpl_arrays["posedirs"].reshape(-1, 207).T)
    regressor = torch.as_tensor(smpl_arrays["J_regressor"])
    weights = torch.as_tensor(smpl_arrays["weights"])
    from mvmocap.body.joint_sets import SMPL_PARENTS

    vertices, joints = linear_blend_skinning(
        rotations, betas, v_template, shapedirs, posedirs, regressor, SMPL_PARENTS, weights
    )
    rest = v_template + torch.einsum("bs,vcs->bvc", betas, shapedirs)
    assert torch.allclose(vertices, rest, atol=1e-12)
    assert torch.allclose(joints, torch.einsum("jv,bvc->bjc", regressor, rest), atol=1e-12)


def test_gradcheck_small_tree():
    g = torch.Generator().manual_seed(5)
    parents = (-1, 0, 1, 1, 3)
    v, j = 12, len(parents)
    f64 = dict(dtype=torch.float64, generator=g)
    v_template = torch.randn(v, 3, **f64)
    shapedirs = 0.1 * torch.randn(v, 3, 2, **f64)
    posedirs = 0.01 * torch.randn(9 * (j - 1), v * 3, **f64)
    regressor = torch.softmax(torch.randn(j, v, **f64), dim=1)
    weights = torch.softmax(torch.randn(v, j, **f64), dim=1)
    pose = (0.5 * torch.randn(2, j, 3, **f64)).requires_grad_()
    betas = torch.randn(2, 2, **f64).requires_grad_()

    def run(pose, betas):
        vertices, joints = linear_blend_skinning(
            axis_angle_to_matrix(pose), betas, v_template, shapedirs, posedirs, regressor, parents, weights
        )
        return vertices, joints

    assert torch.autograd.gradcheck(run, (pose, betas))


def test_forward_kinematics_rigid_chain():
    """A rotation at the root turns every joint and vertex rigidly about the root joint."""
    g = torch.Generator().manual_seed(7)
    parents = (-1, 0, 1, 2)
    joints = torch.randn(1, 4, 3, dtype=torch.float64, generator=g)
    rotation = axis_angle_to_matrix(torch.tensor([[0.3, -0.2, 0.9]], dtype=torch.float64))
    rotations = torch.eye(3, dtype=torch.float64).repeat(1, 4, 1, 1)
    rotations[:, 0] = rotation
    posed, transforms = forward_kinematics(rotations, joints, parents)
    expected = (rotation @ (joints - joints[:, :1]).transpose(1, 2)).transpose(1, 2) + joints[:, :1]
    assert torch.allclose(posed, expected, atol=1e-12)
    points = torch.randn(1, 6, 3, dtype=torch.float64, generator=g)
    weights = torch.softmax(torch.randn(6, 4, dtype=torch.float64, generator=g), dim=1)
    skinned = skin_vertices(points, weights, transforms)
    assert torch.allclose(skinned, (rotation @ (points - joints[:, :1]).transpose(1, 2)).transpose(1, 2)
                          + joints[:, :1], atol=1e-12)


def test_rodrigues_matches_geometry_and_has_gradients():
    g = torch.Generator().manual_seed(9)
    aa = torch.randn(50, 3, dtype=torch.float64, generator=g)
    aa[:10] *= 1e-5  # the small-angle branch
    aa[10:20] *= 3.0  # beyond pi
    assert torch.allclose(rodrigues(aa), axis_angle_to_matrix(aa), atol=1e-12)
    for start in (aa[:3].clone(), torch.zeros(2, 3, dtype=torch.float64), aa[12:14].clone()):
        assert torch.autograd.gradcheck(rodrigues, (start.requires_grad_(),))
