"""Weak-projection cameras: projection and the 9-number vector."""

from __future__ import annotations

import torch

from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.geometry.weak_projection import weak_camera_from_vector, weak_camera_vector, weak_project


def test_weak_project_is_scaled_orthographic():
    R = torch.eye(3, dtype=torch.float64)
    points = torch.tensor([[1.0, 2.0, 30.0], [-1.0, 0.5, -4.0]], dtype=torch.float64)
    uv = weak_project(points, R, torch.tensor(2.0, dtype=torch.float64), torch.tensor([0.5, -1.0], dtype=torch.float64))
    torch.testing.assert_close(uv, torch.tensor([[2.5, 3.0], [-1.5, 0.0]], dtype=torch.float64))


def test_camera_vector_round_trip_over_batch_dims():
    g = torch.Generator().manual_seed(0)
    R = axis_angle_to_matrix(torch.randn(3, 4, 3, generator=g, dtype=torch.float64))
    s = torch.rand(3, 4, generator=g, dtype=torch.float64) + 0.1
    t = torch.randn(3, 4, 2, generator=g, dtype=torch.float64)
    v = weak_camera_vector(R, s, t)
    assert v.shape == (3, 4, 9)
    R2, s2, t2 = weak_camera_from_vector(v)
    torch.testing.assert_close(R2, R)
    torch.testing.assert_close(s2, s)
    torch.testing.assert_close(t2, t)


def test_weak_project_gradcheck():
    g = torch.Generator().manual_seed(1)
    p = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 9, generator=g, dtype=torch.float64, requires_grad=True)
    f = lambda p, v: weak_project(p, *weak_camera_from_vector(v))  # noqa: E731
    assert torch.autograd.gradcheck(f, (p, v))
