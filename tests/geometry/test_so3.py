import torch

from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.geometry.so3 import hat, right_jacobian


def test_hat_is_the_cross_product():
    g = torch.Generator().manual_seed(0)
    v, w = torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close((hat(v) @ w[..., None])[..., 0], torch.linalg.cross(v, w))
    torch.testing.assert_close(hat(v), -hat(v).transpose(-1, -2))


def test_right_jacobian_linearises_the_exponential():
    """d/dt exp(phi)^T exp(phi + t e_a) at t = 0 is hat(J_r(phi) e_a), for small, ordinary and near-pi angles."""
    g = torch.Generator().manual_seed(1)
    directions = torch.nn.functional.normalize(torch.randn(4, 3, generator=g, dtype=torch.float64), dim=-1)
    phi = directions * torch.tensor([0.0, 1e-4, 1.3, 3.1], dtype=torch.float64)[:, None]
    jr = right_jacobian(phi)
    assert jr.shape == (4, 3, 3)
    for a in range(3):
        tangent = torch.zeros_like(phi)
        tangent[:, a] = 1
        R, dR = torch.func.jvp(axis_angle_to_matrix, (phi,), (tangent,))
        torch.testing.assert_close(R.transpose(-1, -2) @ dR, hat(jr[:, :, a]))


def test_right_jacobian_gradcheck_float64():
    g = torch.Generator().manual_seed(2)
    phi = torch.randn(3, 3, generator=g, dtype=torch.float64)
    phi[0] = 1e-5  # the series branch
    assert torch.autograd.gradcheck(right_jacobian, (phi.requires_grad_(),))
