import pytest
import torch

from mvmocap.geometry.procrustes import apply_similarity, rigid_procrustes, similarity_procrustes
from mvmocap.geometry.rotations import axis_angle_to_matrix


@pytest.mark.parametrize("shape", [(), (1,), (2, 3)])
def test_recovers_a_known_similarity(shape, generator):
    src = torch.randn(shape + (20, 3), generator=generator, dtype=torch.float64)
    R = axis_angle_to_matrix(torch.randn(shape + (3,), generator=generator, dtype=torch.float64))
    s = torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5
    t = torch.randn(shape + (3,), generator=generator, dtype=torch.float64)
    dst = apply_similarity(src, s, R, t)
    s_hat, R_hat, t_hat = similarity_procrustes(src, dst)
    assert s_hat.shape == shape and R_hat.shape == shape + (3, 3) and t_hat.shape == shape + (3,)
    assert torch.allclose(s_hat, s) and torch.allclose(R_hat, R) and torch.allclose(t_hat, t)
    R_rigid, t_rigid = rigid_procrustes(src, apply_similarity(src, torch.ones_like(s), R, t))
    assert torch.allclose(R_rigid, R) and torch.allclose(t_rigid, t)


def test_never_returns_a_reflection(generator):
    src = torch.randn(30, 3, generator=generator, dtype=torch.float64)
    mirrored = src * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    _, R, _ = similarity_procrustes(src, mirrored)
    assert torch.allclose(torch.det(R), torch.tensor(1.0, dtype=torch.float64))


def test_zero_weight_outliers_are_ignored(generator):
    src = torch.randn(30, 3, generator=generator, dtype=torch.float64)
    R = axis_angle_to_matrix(torch.tensor([0.3, -1.2, 0.4], dtype=torch.float64))
    dst = apply_similarity(src, torch.tensor(2.0, dtype=torch.float64), R, torch.zeros(3, dtype=torch.float64))
    dst[:5] += 10.0
    weights = torch.ones(30, dtype=torch.float64)
    weights[:5] = 0
    s, R_hat, _ = similarity_procrustes(src, dst, weights)
    assert torch.allclose(s, torch.tensor(2.0, dtype=torch.float64)) and torch.allclose(R_hat, R)
