"""The BodyModel layer on the shipped open bodies: shapes, the T-pose, skinning locality, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvmocap.body import SHIPPED_MODELS, BodyOutput, load_body_model
from mvmocap.body.joint_sets import SMPL_JOINTS, SMPL_PARENTS
from mvmocap.errors import InputError
from mvmocap.keypoints import COCO23, H36M17


@pytest.fixture(scope="module")
def neutral():
    return load_body_model("open_neutral")


@pytest.mark.parametrize("batch_shape", [(), (1,), (2, 3)])
def test_output_shapes(neutral, batch_shape):
    g = torch.Generator().manual_seed(0)
    out = neutral(
        global_orient=0.3 * torch.randn(*batch_shape, 3, generator=g),
        body_pose=0.3 * torch.randn(*batch_shape, 23, 3, generator=g),
        betas=torch.randn(*batch_shape, 10, generator=g),
        transl=torch.randn(*batch_shape, 3, generator=g),
    )
    assert isinstance(out, BodyOutput)
    assert out.vertices.shape == (*batch_shape, neutral.num_vertices, 3)
    assert out.joints.shape == (*batch_shape, 24, 3)
    assert out.coco23.shape == (*batch_shape, len(COCO23), 3)
    assert out.h36m17.shape == (*batch_shape, len(H36M17), 3)


def test_batch_shapes_broadcast(neutral):
    g = torch.Generator().manual_seed(1)
    pose = 0.3 * torch.randn(4, 23, 3, generator=g)
    betas = torch.randn(1, 10, generator=g)
    together = neutral(body_pose=pose, betas=betas)
    one = neutral(body_pose=pose[2], betas=betas[0])
    assert torch.allclose(together.vertices[2], one.vertices, atol=1e-5)


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_shipped_file_invariants(name):
    model = load_body_model(name)
    assert model.name == name
    assert model.num_vertices == 13718 and model.faces.shape == (27420, 3)
    assert model.faces.dtype == torch.long and int(model.faces.min()) == 0
    assert int(model.faces.max()) == model.num_vertices - 1
    assert tuple(model.parents.tolist()) == SMPL_PARENTS
    assert model.num_betas == 10
    assert torch.allclose(model.joint_regressor.sum(1), torch.ones(24), atol=1e-5)
    assert torch.allclose(model.weights.sum(1), torch.ones(model.num_vertices), atol=1e-5)
    assert (model.weights >= 0).all()
    assert model.coco23_available.dtype == torch.bool and model.coco23_available.shape == (23,)
    assert len(model.file_hash) == 64
    assert model.posedirs is None


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_zero_pose_is_an_adult_t_pose(name):
    model = load_body_model(name)
    out = model()
    v, j = out.vertices, out.joints
    height = float(v[:, 1].max() - v[:, 1].min())
    low, high = (1.60, 1.80) if name == "open_neutral" else (1.50, 1.95)
    assert low <= height <= high, height
    assert j[0].norm() < 1e-4  # pelvis at the origin
    for side in ("left", "right"):
        chain = [SMPL_JOINTS.index(f"{side}_{part}") for part in ("shoulder", "elbow", "wrist", "hand")]
        arm = j[chain]
        # arms horizontal and sideways: the chain is a straight line along x
        assert (arm[:, 1] - arm[0, 1]).abs().max() < 0.01
        assert (arm[:, 2] - arm[0, 2]).abs().max() < 0.01
        sign = 1.0 if side == "left" else -1.0
        assert (sign * torch.diff(arm[:, 0]) > 0.05).all()
    # the subject's left is +x, the front +z
    assert out.coco23[COCO23.index("left_shoulder"), 0] > 0 > out.coco23[COCO23.index("right_shoulder"), 0]
    assert out.coco23[COCO23.index("nose"), 2] > j[15, 2]


def test_hands_flat_horizontal(neutral):
    """Palms down (or up): the hand's thinnest direction is vertical."""
    v = neutral().vertices
    for hand in (22, 23):
        points = v[neutral.weights[:, hand] > 0.5]
        centred = points - points.mean(0)
        _, _, vh = torch.linalg.svd(centred, full_matrices=False)
        assert abs(float(vh[2, 1])) > 0.9


def test_elbow_bend_moves_only_the_forearm(neutral):
    pose = torch.zeros(23, 3)
    pose[SMPL_JOINTS.index("left_elbow") - 1] = torch.tensor([0.0, -np.pi / 2, 0.0])
    rest = neutral().vertices
    bent = neutral(body_pose=pose).vertices
    moved = (bent - rest).norm(dim=-1) > 1e-4
    forearm = [SMPL_JOINTS.index(n) for n in ("left_elbow", "left_wrist", "left_hand")]
    arm_weight = neutral.weights[:, forearm].sum(1)
    assert moved.sum() > 500
    assert (arm_weight[moved] > 0).float().mean() >= 0.95
    assert not moved[arm_weight == 0].any()
    # the forearm now points forward
    j = neutral(body_pose=pose).joints
    forearm_direction = j[20] - j[18]
    assert forearm_direction[2] > 0.9 * forearm_direction.norm()


def test_joints_linear_in_betas(neutral):
    model = neutral.to(dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    b1, b2 = torch.randn(10, generator=g, dtype=torch.float64), torch.randn(10, generator=g, dtype=torch.float64)
    joints = model(betas=torch.stack([torch.zeros(10, dtype=torch.float64), b1, b2, b1 + b2])).joints
    assert (joints[3] - joints[1] - joints[2] + joints[0]).abs().max() < 1e-9


def test_beta1_makes_taller(neutral):
    v = neutral(betas=torch.tensor([[-2.0], [2.0]])).vertices
    heights = v[..., 1].amax(-1) - v[..., 1].amin(-1)
    assert 1.40 < heights[0] < 1.60 and 1.80 < heights[1] < 2.00  # roughly 1.5-1.9 m


def test_h36m_from_joints(neutral):
    out = neutral(body_pose=0.2 * torch.ones(23, 3))
    assert torch.allclose(out.h36m17[H36M17.index("pelvis")], out.joints[0], atol=1e-6)
    assert torch.allclose(out.h36m17[H36M17.index("left_knee")], out.joints[4], atol=1e-6)
    zero = neutral()
    assert zero.h36m17[H36M17.index("head_top"), 1] >= zero.vertices[:, 1].max() - 1e-6


def test_to_returns_a_new_model(neutral):
    double = neutral.to(dtype=torch.float64)
    assert double.dtype == torch.float64 and neutral.dtype == torch.float32
    assert torch.allclose(double().vertices.float(), neutral().vertices, atol=1e-5)


def test_transl_shifts_everything(neutral):
    shift = torch.tensor([0.5, -1.0, 2.0])
    a, b = neutral(), neutral(transl=shift)
    for field in ("vertices", "joints", "coco23", "h36m17"):
        assert torch.allclose(getattr(b, field) - getattr(a, field), shift.expand_as(getattr(a, field)), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"body_pose": torch.zeros(2, 21, 3)}, "(2, 21, 3)"),
        ({"global_orient": torch.zeros(2, 4)}, "global_orient"),
        ({"betas": torch.zeros(2, 11)}, "betas"),
        ({"transl": torch.zeros(2, 2)}, "transl"),
        ({"body_pose": torch.full((1, 23, 3), float("nan"))}, "NaN"),
        ({"betas": torch.tensor([[float("inf")]])}, "NaN"),
        ({"body_pose": torch.zeros(2, 23, 3), "betas": torch.zeros(3, 10)}, "broadcast"),
    ],
)
def test_bad_parameters(neutral, kwargs, words):
    with pytest.raises(InputError, match=None) as info:
        neutral(**kwargs)
    assert words in str(info.value)


def test_gradcheck_through_the_layer(neutral):
    model = neutral.to(dtype=torch.float64)
    g = torch.Generator().manual_seed(4)
    pose = (0.3 * torch.randn(1, 23, 3, generator=g, dtype=torch.float64)).requires_grad_()
    betas = torch.randn(1, 4, generator=g, dtype=torch.float64).requires_grad_()

    def keypoints(pose, betas):
        out = model(body_pose=pose, betas=betas)
        return out.joints, out.coco23

    assert torch.autograd.gradcheck(keypoints, (pose, betas), fast_mode=True)
