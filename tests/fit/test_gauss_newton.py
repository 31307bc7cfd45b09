"""The Gauss-Newton matrix of the sequence fit and the Levenberg-Marquardt loop."""

import pytest
import torch

from mvmocap.fit.gauss_newton import ArrowSystem, BandedSystem, arrow_matrix, levenberg_marquardt, normal_matrix
from mvmocap.fit.model import KeypointModel
from mvmocap.fit.config import FitConfig
from mvmocap.fit.energy import FitData, energy as fit_energy
from mvmocap.geometry.rotations import axis_angle_to_matrix



def _dense(diagonal, upper):
    F, n = diagonal.shape[:2]
    H = torch.zeros(F * n, F * n, dtype=diagonal.dtype)
    for t in range(F):
        H[t * n:(t + 1) * n, t * n:(t + 1) * n] = diagonal[t]
        for k, band in enumerate(upper, 1):
            if t + k < F:
                H[t * n:(t + 1) * n, (t + k) * n:(t + k + 1) * n] = band[t]
                H[(t + k) * n:(t + k + 1) * n, t * n:(t + 1) * n] = band[t].T
    return H


@pytest.mark.parametrize("context", [0, 2])
def test_normal_matrix_is_the_hessian_where_every_residual_is_zero(tiny_model, rig4, context):
    """Where the model meets its evidence exactly and the frames are still (no acceleration, no
    velocity), the Gauss-Newton matrix is the energy's Hessian: every data, prior, smoothness and
    context term checked against autograd, with two hinge components bent the wrong way."""
    model = KeypointModel(tiny_model, dtype=torch.float64)
    rig = rig4.to(dtype=torch.float64)
    g = torch.Generator().manual_seed(4)
    F = 4
    pose = 0.3 * torch.randn(23, 3, generator=g, dtype=torch.float64)
    pose[3, 0] = -0.2  # left knee bent backwards
    pose[17, 1] = 0.3  # left elbow bent the wrong way (its sign is -1)
    x = torch.cat([torch.zeros(3), pose.flatten(), torch.tensor([0.1, 0.0, 1.0])]).to(torch.float64).repeat(F, 1)
    R_start = axis_angle_to_matrix(torch.tensor([1.2, 0.3, -0.4], dtype=torch.float64)).expand(F, 3, 3)
    betas = 0.5 * torch.randn(10, generator=g, dtype=torch.float64)
    with torch.no_grad():
        points = model(R_start, x[:, 3:72].reshape(F, 23, 3), betas, x[:, 72:])
    conf2d = torch.rand(F, len(rig), 23, generator=g, dtype=torch.float64)
    data = FitData(rig.project(points), conf2d, points.clone(), torch.rand(F, 23, generator=g, dtype=torch.float64),
                 consecutive=True,
                 context_points=points[:context] if context else None,
                 context_pose=x[:context, 3:72].reshape(context, 23, 3) if context else None)
    cfg = FitConfig()

    def energy(x):
        R = R_start @ axis_angle_to_matrix(x[:, :3])
        return fit_energy(model, rig, cfg, data, R, x[:, 3:72].reshape(F, 23, 3), betas, x[:, 72:], 2.0)[0]

    expected = torch.autograd.functional.hessian(energy, x, vectorize=True).reshape(F * 75, F * 75)
    diagonal, upper = normal_matrix(model, rig, cfg, data, R_start, x, betas, 2.0)
    assert diagonal.shape == (F, 75, 75) and [u.shape[0] for u in upper] == [F - 1, F - 2]
    torch.testing.assert_close(_dense(diagonal, upper), expected, rtol=1e-7, atol=1e-7 * float(expected.abs().max()))


def test_levenberg_marquardt_solves_a_banded_least_squares_problem():
    """Rosenbrock valleys (one per frame) chained by a smoothness term: converges to all ones;
    fixed columns stay put."""
    F = 3

    def energy(flat):
        x = flat.reshape(F, 2)
        a, b = x[:, 0], x[:, 1]
        return (100 * (b - a**2) ** 2 + (1 - a) ** 2).sum() + ((x[1:] - x[:-1]) ** 2).sum()

    def system(columns):
        def build(flat):
            a = flat.reshape(F, 2)[:, 0]
            J = torch.stack([torch.stack([-20 * a, torch.full_like(a, 10.0)], -1),
                             torch.stack([-torch.ones_like(a), torch.zeros_like(a)], -1)], -2)  # (F, 2 residuals, 2)
            degree = torch.full((F,), 2.0, dtype=flat.dtype)
            degree[[0, -1]] = 1.0
            diagonal = 2 * J.transpose(-1, -2) @ J + 2 * degree[:, None, None] * torch.eye(2, dtype=flat.dtype)
            return BandedSystem(diagonal, [-2 * torch.eye(2, dtype=flat.dtype).expand(F - 1, 2, 2)], columns)
        return build

    x0 = torch.tensor([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0]], dtype=torch.float64).reshape(-1)
    x, steps, evaluations = levenberg_marquardt(energy, system(None), x0, iterations=200, tolerance=0.0)
    torch.testing.assert_close(x, torch.ones_like(x0), atol=1e-6, rtol=0)
    assert 0 < steps <= evaluations
    fixed, _, _ = levenberg_marquardt(energy, system((1,)), x0, iterations=5)
    torch.testing.assert_close(fixed.reshape(F, 2)[:, 0], x0.reshape(F, 2)[:, 0])
    assert float(energy(fixed)) < float(energy(x0))


def test_arrow_system_step_matches_a_dense_solve():
    g = torch.Generator().manual_seed(5)
    F, n, S = 4, 5, 3
    A = torch.randn(F * n + S, F * n + S, generator=g, dtype=torch.float64)
    H = A @ A.T + torch.eye(F * n + S, dtype=torch.float64)
    for f in range(F):  # frames are coupled only through the shared parameters
        for e in range(F):
            if e != f:
                H[f * n:(f + 1) * n, e * n:(e + 1) * n] = 0
    H = H + F * n * torch.eye(F * n + S, dtype=torch.float64)  # still positive definite
    frames = torch.stack([H[f * n:(f + 1) * n, f * n:(f + 1) * n] for f in range(F)])
    coupling = torch.stack([H[f * n:(f + 1) * n, F * n:] for f in range(F)])
    system = ArrowSystem(frames, coupling, H[F * n:, F * n:])
    gradient = torch.randn(F * n + S, generator=g, dtype=torch.float64)
    for damping in (0.0, 0.3):
        damped = H + torch.diag(damping * H.diagonal())
        torch.testing.assert_close(system.step(gradient, damping), -torch.linalg.solve(damped, gradient))
    frames[1] = -frames[1]
    assert ArrowSystem(frames, coupling, H[F * n:, F * n:]).step(gradient, 0.0) is None


def test_arrow_matrix_is_the_hessian_where_every_residual_is_zero(tiny_model, rig4):
    """Key frames (independent, no temporal terms) sharing the betas: the arrow blocks are the
    energy's Hessian over the frames' parameters and the betas where the model meets its evidence."""
    model = KeypointModel(tiny_model, dtype=torch.float64)
    rig = rig4.to(dtype=torch.float64)
    g = torch.Generator().manual_seed(8)
    F, S = 3, 10
    x = torch.cat([0.1 * torch.randn(F, 3, generator=g, dtype=torch.float64),
                   0.3 * torch.randn(F, 69, generator=g, dtype=torch.float64),
                   torch.tensor([[0.1, 0.0, 1.0]], dtype=torch.float64).expand(F, 3)], 1)
    R_start = axis_angle_to_matrix(0.5 * torch.randn(F, 3, generator=g, dtype=torch.float64))
    betas = 0.5 * torch.randn(S, generator=g, dtype=torch.float64)
    with torch.no_grad():
        points = model(R_start @ axis_angle_to_matrix(x[:, :3]), x[:, 3:72].reshape(F, 23, 3), betas, x[:, 72:])
    data = FitData(rig.project(points), torch.rand(F, len(rig), 23, generator=g, dtype=torch.float64), points.clone(),
                 torch.rand(F, 23, generator=g, dtype=torch.float64), consecutive=False)
    cfg = FitConfig(weight_bending=0.0)

    def energy(flat):
        frames, b = flat[: F * 75].reshape(F, 75), flat[F * 75:]
        R = R_start @ axis_angle_to_matrix(frames[:, :3])
        return fit_energy(model, rig, cfg, data, R, frames[:, 3:72].reshape(F, 23, 3), b, frames[:, 72:], 1.0)[0]

    expected = torch.autograd.functional.hessian(energy, torch.cat([x.reshape(-1), betas]), vectorize=True)
    frames, coupling, shared = arrow_matrix(model, rig, cfg, data, R_start, x, betas, 1.0)
    dense = torch.zeros_like(expected)
    for f in range(F):
        dense[f * 75:(f + 1) * 75, f * 75:(f + 1) * 75] = frames[f]
        dense[f * 75:(f + 1) * 75, F * 75:] = coupling[f]
        dense[F * 75:, f * 75:(f + 1) * 75] = coupling[f].T
    dense[F * 75:, F * 75:] = shared
    torch.testing.assert_close(dense, expected, rtol=1e-7, atol=1e-7 * float(expected.abs().max()))
