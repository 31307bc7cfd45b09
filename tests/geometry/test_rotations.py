import math

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mvmocap.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    orthonormality_error,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
    rotation_angle_between,
)

BATCH_SHAPES = [(), (1,), (2, 3)]


def random_axis_angle(shape, generator, max_angle=math.pi - 1e-3):
    axis = torch.nn.functional.normalize(torch.randn(shape + (3,), generator=generator, dtype=torch.float64), dim=-1)
    angle = torch.rand(shape + (1,), generator=generator, dtype=torch.float64) * max_angle
    return axis * angle


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_axis_angle_round_trip(shape, generator):
    aa = random_axis_angle(shape, generator)
    R = axis_angle_to_matrix(aa)
    assert R.shape == shape + (3, 3)
    assert torch.allclose(matrix_to_axis_angle(R), aa, atol=1e-10)
    assert orthonormality_error(R).max() < 1e-12
    assert torch.allclose(torch.det(R), torch.ones(shape, dtype=R.dtype))


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_quaternion_and_6d_round_trips(shape, generator):
    R = axis_angle_to_matrix(random_axis_angle(shape, generator, max_angle=math.pi))
    q = matrix_to_quaternion(R)
    assert q.shape == shape + (4,)
    assert torch.allclose(q.norm(dim=-1), torch.ones(shape, dtype=q.dtype))
    assert (q[..., 0] >= 0).all()
    assert torch.allclose(quaternion_to_matrix(q), R, atol=1e-12)
    d6 = matrix_to_rotation_6d(R)
    assert d6.shape == shape + (6,)
    assert torch.allclose(rotation_6d_to_matrix(d6), R, atol=1e-12)


def test_matches_opencv_rodrigues(generator):
    aa = random_axis_angle((50,), generator)
    ours = axis_angle_to_matrix(aa).numpy()
    theirs = np.stack([cv2.Rodrigues(v.numpy())[0] for v in aa])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    back = np.stack([cv2.Rodrigues(m)[0].ravel() for m in ours])
    np.testing.assert_allclose(matrix_to_axis_angle(torch.from_numpy(ours)).numpy(), back, atol=1e-9)


@pytest.mark.parametrize("angle", [0.0, 1e-12, 1e-7, 1e-4, 1e-3, math.pi - 1e-7, math.pi])
def test_edge_angles_round_trip_and_finite_gradients(angle):
    axis = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    aa = (axis / axis.norm() * angle).requires_grad_(True)
    R = axis_angle_to_matrix(aa)
    expected = cv2.Rodrigues(aa.detach().numpy())[0]
    np.testing.assert_allclose(R.detach().numpy(), expected, atol=1e-12)
    back = matrix_to_axis_angle(R)
    # At exactly pi, v and -v are the same rotation: compare matrices.
    assert torch.allclose(axis_angle_to_matrix(back), R, atol=1e-9)
    (R.sum() + back.sum()).backward()
    assert torch.isfinite(aa.grad).all()


def test_gradient_of_matrix_to_axis_angle_is_finite_at_identity_and_pi():
    for R in (torch.eye(3, dtype=torch.float64), torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))):
        R = R.clone().requires_grad_(True)
        matrix_to_axis_angle(R).sum().backward()
        assert torch.isfinite(R.grad).all()


@pytest.mark.parametrize("scale", [1.0, 1e-5, 0.0])
def test_gradcheck_axis_angle_to_matrix(scale, generator):
    aa = (random_axis_angle((4,), generator) * scale).requires_grad_(True)
    assert torch.autograd.gradcheck(axis_angle_to_matrix, (aa,))


def test_gradcheck_matrix_to_axis_angle_and_6d(generator):
    R = axis_angle_to_matrix(random_axis_angle((4,), generator, max_angle=3.0)).requires_grad_(True)
    assert torch.autograd.gradcheck(matrix_to_axis_angle, (R,))
    d6 = torch.randn(3, 6, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rotation_6d_to_matrix, (d6,))
    q = torch.randn(3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(quaternion_to_axis_angle, (q,))


def test_quaternion_sign_is_irrelevant(generator):
    q = torch.randn(10, 4, generator=generator, dtype=torch.float64)
    assert torch.allclose(quaternion_to_axis_angle(q), quaternion_to_axis_angle(-q), atol=1e-12)
    assert torch.allclose(quaternion_to_matrix(q), quaternion_to_matrix(-q), atol=1e-12)
    aa = quaternion_to_axis_angle(q)
    assert torch.allclose(quaternion_to_matrix(axis_angle_to_quaternion(aa)), quaternion_to_matrix(q), atol=1e-12)


def test_rotation_6d_output_is_a_rotation_for_any_input(generator):
    R = rotation_6d_to_matrix(torch.randn(100, 6, generator=generator, dtype=torch.float64))
    assert orthonormality_error(R).max() < 1e-12
    assert torch.allclose(torch.det(R), torch.ones(100, dtype=R.dtype))


def test_rotation_angle_between(generator):
    aa = random_axis_angle((20,), generator)
    R = axis_angle_to_matrix(aa)
    I = torch.eye(3, dtype=torch.float64).expand(20, 3, 3)
    assert torch.allclose(rotation_angle_between(I, R), aa.norm(dim=-1), atol=1e-10)


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(*[st.floats(-1, 1, allow_nan=False) for _ in range(3)]),
    st.floats(0, math.pi * 0.999, allow_nan=False),
)
def test_property_round_trip(axis, angle):
    v = torch.tensor(axis, dtype=torch.float64)
    if v.norm() < 1e-3:
        v = torch.tensor([1.0, 0, 0], dtype=torch.float64)
    aa = v / v.norm() * angle
    assert torch.allclose(matrix_to_axis_angle(axis_angle_to_matrix(aa)), aa, atol=1e-9)
