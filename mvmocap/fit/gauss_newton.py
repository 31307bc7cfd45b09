"""Levenberg-Marquardt for the sequence fit (``FitConfig.optimizer = "gauss-newton"``, the default).

The fit's energy (:func:`mvmocap.fit.energy.energy`) is a sum over frames of robust 2D and 3D
data terms and pose priors, plus temporal smoothness terms that tie each frame to its two
neighbours on either side. With each frame's parameters ``x_f = (root correction (3), body pose
(69), translation (3))`` its Gauss-Newton matrix is block-banded (75 x 75 blocks, half-width 2:
:func:`normal_matrix`, solved by :mod:`mvmocap.fit.banded`); for the key frames of the shape stage,
which share the betas and have no temporal terms, it is an arrow (:func:`arrow_matrix`, solved
through the Schur complement of the betas). Both are assembled in closed form from the keypoints'
Jacobians (:meth:`KeypointModel.jacobian`, :meth:`KeypointModel.shape_jacobian`) and the cameras'
projection Jacobian (:meth:`CameraRig.project_jacobian`); the robust Geman-McClure terms enter with
their iteratively reweighted least-squares weights (``rho'`` at the current residuals). The
gradient is the exact one (autograd of the energy), so the steps descend the true energy whatever
the approximations of the matrix; each step solves ``(H + lambda diag H) dx = -g`` and is kept only
if the energy drops (Marquardt's damping rises otherwise).

A step is a handful of batched operations, and a few of them do what L-BFGS needs a hundred energy
evaluations for. Nothing here builds a torch optimiser, whose first construction imports
``torch._dynamo`` (0.7 s in every process).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from mvmocap.fit.banded import block_banded_cholesky, block_banded_solve
from mvmocap.fit.losses import HINGE_JOINTS
from mvmocap.geometry.rotations import axis_angle_to_matrix

POSE = slice(3, 72)  # the body-pose columns of a frame's 75 parameters
GLOBAL_COLUMNS = (0, 1, 2, 72, 73, 74)  # root correction and translation


def _robust_weight(squared: Tensor, sigma: float) -> Tensor:
    """``d/du`` of the Geman-McClure energy ``u / (sigma^2 + u)`` at ``u = squared``."""
    return sigma**2 / (sigma**2 + squared) ** 2


def _band_coefficients(frames: int, context: int, order: int) -> tuple[Tensor, Tensor, Tensor, int]:
    """For finite differences of ``order`` (1 or 2) over ``context`` fixed frames then ``frames`` free
    ones: per free frame ``t`` the sums of ``coef_a coef_b`` over the differences where it is paired
    with itself (``(F,)``), with ``t + 1`` (``(F-1,)``) and with ``t + 2`` (``(F-2,)``); and the
    number of differences."""
    coefs = (-1.0, 1.0) if order == 1 else (1.0, -2.0, 1.0)
    length = context + frames
    count = max(length - order, 0)
    lags = [torch.zeros(max(frames - lag, 0), dtype=torch.float64) for lag in range(3)]
    for start in range(count):
        for a, ca in enumerate(coefs):
            for b, cb in enumerate(coefs[a:], a):
                t = start + a - context
                if t >= 0:
                    lags[b - a][t] += ca * cb
    return lags[0], lags[1], lags[2], count


def _data_metric(model, rig, cfg, data, R_start: Tensor, x: Tensor, betas: Tensor,
                 sigma_scale: float) -> tuple[Tensor, Tensor, Tensor]:
    """At the frames' parameters ``x (F, 75)``: their body poses ``(F, 23, 3)``, the keypoints'
    Jacobian ``(F, K, 3, 75)`` and the robust data terms' metric ``(F, K, 3, 3)`` on the keypoints
    (``d^2 E_data ~= J^T metric J``, IRLS weights at the current residuals)."""
    F = x.shape[0]
    delta, pose, transl = x[:, :3], x[:, POSE].reshape(F, 23, 3), x[:, 72:]
    rotation = R_start @ axis_angle_to_matrix(delta)
    points, jac = model.jacobian(rotation, delta, pose, betas.expand(F, -1), transl)  # (F,K,3), (F,K,3,75)
    s2 = sigma_scale**2
    pixels, d_pixels = rig.project_jacobian(points)
    sigma_2d, sigma_3d = cfg.sigma_2d_px * sigma_scale, cfg.sigma_3d_m * sigma_scale
    w2 = cfg.weight_2d * s2 / F * data.conf2d * _robust_weight(((pixels - data.observed) ** 2).sum(-1), sigma_2d)
    w3 = cfg.weight_3d * s2 / F * data.conf3d * _robust_weight(((points - data.joints3d) ** 2).sum(-1), sigma_3d)
    # f: frame, c: camera, k: keypoint, u: pixel coordinate, i/j: world coordinates
    metric = 2 * torch.einsum("fck,fckui,fckuj->fkij", w2, d_pixels, d_pixels)
    metric = metric + 2 * w3[..., None, None] * torch.eye(3, dtype=points.dtype, device=points.device)
    return pose, jac, metric


def normal_matrix(model, rig, cfg, data, R_start: Tensor, x: Tensor, betas: Tensor,
                  sigma_scale: float) -> tuple[Tensor, list[Tensor]]:
    """Gauss-Newton matrix of the fit's energy at ``x (F, 75)`` (see the module docstring).

    Args:
        model: the :class:`KeypointModel`; rig: the :class:`CameraRig` in the fitting dtype.
        cfg: the :class:`FitConfig`; data: the frames' evidence (:class:`mvmocap.fit.energy.FitData`).
        R_start: ``(F, 3, 3)``, the root rotations the corrections ``x[:, :3]`` apply to.
        betas: ``(S,)`` shape, fixed here; sigma_scale: the current robust-scale factor.

    Returns:
        ``diagonal (F, 75, 75)`` and ``upper = [H[t, t+1] (F-1, 75, 75), H[t, t+2] (F-2, 75, 75)]``.
    """
    F = x.shape[0]
    with torch.no_grad():
        pose, jac, metric = _data_metric(model, rig, cfg, data, R_start, x, betas, sigma_scale)
        # f: frame, k: keypoint, d/e: coordinates, i/j: parameters
        diagonal = torch.einsum("fkdi,fkde,fkej->fij", jac, metric, jac)
        diagonal = diagonal + torch.diag_embed(_prior_curvature(cfg, pose) / F)
        upper = [x.new_zeros(max(F - 1, 0), 75, 75), x.new_zeros(max(F - 2, 0), 75, 75)]
        if data.consecutive:
            _add_smoothness(cfg, data, jac, diagonal, upper)
    return diagonal, upper


def arrow_matrix(model, rig, cfg, data, R_start: Tensor, x: Tensor, betas: Tensor,
                 sigma_scale: float) -> tuple[Tensor, Tensor, Tensor]:
    """Gauss-Newton matrix of the fit's energy over independent frames ``x (F, 75)`` (no temporal
    terms) and the shape ``betas (S,)`` they share: blocks ``frames (F, 75, 75)``, ``coupling
    (F, 75, S)`` (frame-betas) and ``shared (S, S)`` (betas-betas, with the shape prior's curvature)."""
    F = x.shape[0]
    with torch.no_grad():
        pose, jac, metric = _data_metric(model, rig, cfg, data, R_start, x, betas, sigma_scale)
        rotation = R_start @ axis_angle_to_matrix(x[:, :3])
        jac_shape = model.shape_jacobian(rotation, pose, betas, x[:, 72:])  # (F, K, 3, S)
        # f: frame, k: keypoint, d/e: coordinates, i/j: frame parameters, a/b: betas
        frames = torch.einsum("fkdi,fkde,fkej->fij", jac, metric, jac) + torch.diag_embed(_prior_curvature(cfg, pose) / F)
        coupling = torch.einsum("fkdi,fkde,fkea->fia", jac, metric, jac_shape)
        shared = torch.einsum("fkda,fkde,fkeb->ab", jac_shape, metric, jac_shape)
        shared = shared + 2 * cfg.weight_shape * torch.eye(betas.shape[0], dtype=x.dtype, device=x.device)
    return frames, coupling, shared


class BandedSystem:
    """Damped Gauss-Newton steps for ``F`` frames of ``n`` parameters coupled to their neighbours
    (:func:`normal_matrix`), moving only the parameters ``columns`` of each frame (None: all). The
    flat parameters are the frames' ``(F * n,)``, then ``fixed`` more that do not move (the betas)."""

    def __init__(self, diagonal: Tensor, upper: list[Tensor], columns: tuple[int, ...] | None = None,
                 fixed: int = 0):
        self.fixed = fixed
        self.frames, self.size = diagonal.shape[:2]
        self.columns = torch.arange(self.size) if columns is None else torch.tensor(columns)
        self.columns = self.columns.to(diagonal.device)
        c = self.columns
        self.diagonal = diagonal if columns is None else diagonal[:, c][:, :, c]
        self.upper = upper if columns is None else [u[:, c][:, :, c] for u in upper]
        self.scale = self.diagonal.diagonal(dim1=-2, dim2=-1).clamp(min=1e-9)

    def step(self, gradient: Tensor, damping: float) -> Tensor | None:
        """``-(H + damping diag H)^-1 gradient`` for the flat ``gradient (F * n + fixed,)``; None if
        not positive definite."""
        factor = block_banded_cholesky(self.diagonal + torch.diag_embed(damping * self.scale), self.upper)
        if factor is None:
            return None
        g = gradient[: self.frames * self.size].reshape(self.frames, self.size)[:, self.columns]
        step = gradient.new_zeros(self.frames, self.size)
        step[:, self.columns] = block_banded_solve(factor, -g)
        return torch.cat([step.reshape(-1), gradient.new_zeros(self.fixed)])


class ArrowSystem:
    """Damped Gauss-Newton steps for independent frames sharing a few parameters (:func:`arrow_matrix`):
    the shared block is solved through its Schur complement, the frames' blocks in one batch. The flat
    parameters are the frames' ``(F * n,)`` then the shared ``(S,)``."""

    def __init__(self, frames: Tensor, coupling: Tensor, shared: Tensor):
        self.blocks, self.coupling, self.shared = frames, coupling, shared
        self.scale = frames.diagonal(dim1=-2, dim2=-1).clamp(min=1e-9)
        self.shared_scale = shared.diagonal().clamp(min=1e-9)

    def step(self, gradient: Tensor, damping: float) -> Tensor | None:
        """``-(H + damping diag H)^-1 gradient`` for the flat ``gradient (F * n + S,)``; None if not
        positive definite."""
        F, n = self.blocks.shape[:2]
        g_frames, g_shared = gradient[: F * n].reshape(F, n, 1), gradient[F * n :]
        L, info = torch.linalg.cholesky_ex(self.blocks + torch.diag_embed(damping * self.scale))
        if bool((info != 0).any()):
            return None
        inv_coupling = torch.cholesky_solve(self.coupling, L)  # (F, n, S): A^-1 B
        inv_g = torch.cholesky_solve(g_frames, L)  # (F, n, 1): A^-1 g
        # f: frame, i: frame parameter, a/b: shared parameters
        schur = self.shared + torch.diag(damping * self.shared_scale) - torch.einsum("fia,fib->ab", self.coupling,
                                                                                     inv_coupling)
        rhs = -g_shared + torch.einsum("fia,fi->a", self.coupling, inv_g[..., 0])
        L_shared, info = torch.linalg.cholesky_ex(schur)
        if int(info) != 0:
            return None
        d_shared = torch.cholesky_solve(rhs[:, None], L_shared)[:, 0]
        d_frames = -inv_g[..., 0] - inv_coupling @ d_shared
        return torch.cat([d_frames.reshape(-1), d_shared])


def _prior_curvature(cfg, pose: Tensor) -> Tensor:
    """``(F, 75)``: second derivatives of one frame's pose priors (pose, bending, hinge twist)."""
    F = pose.shape[0]
    curvature = pose.new_zeros(F, 23, 3)
    curvature += 2 * cfg.weight_pose
    for h in HINGE_JOINTS:
        flexion = h.sign * pose[:, h.index, h.axis]
        bent_wrong = (flexion < 0) | (flexion > h.max_flexion)
        curvature[:, h.index, h.axis] += 2 * cfg.weight_bending * bent_wrong
        for axis in range(3):
            if axis != h.axis:
                curvature[:, h.index, axis] += 2 * cfg.weight_hinge
    full = pose.new_zeros(F, 75)
    full[:, POSE] = curvature.reshape(F, 69)
    return full


def _add_smoothness(cfg, data, jac: Tensor, diagonal: Tensor, upper: list[Tensor]) -> None:
    """Add (in place) the joint-acceleration and pose-velocity terms' blocks."""
    F = jac.shape[0]
    context = 0 if data.context_points is None else data.context_points.shape[0]
    like = {"dtype": diagonal.dtype, "device": diagonal.device}
    c0, c1, c2, count = _band_coefficients(F, context, 2)
    if count:
        w = 2 * cfg.weight_smooth_joints / cfg.smooth_scale_m**2 / count
        # f: frame, k: keypoint, d: coordinate, i/j: parameters
        diagonal += w * c0.to(**like)[:, None, None] * torch.einsum("fkdi,fkdj->fij", jac, jac)
        if F > 1:
            upper[0] += w * c1.to(**like)[:, None, None] * torch.einsum("fkdi,fkdj->fij", jac[:-1], jac[1:])
        if F > 2:
            upper[1] += w * c2.to(**like)[:, None, None] * torch.einsum("fkdi,fkdj->fij", jac[:-2], jac[2:])
    c0, c1, _, count = _band_coefficients(F, context, 1)
    if count:
        w = 2 * cfg.weight_smooth_pose / count
        idx = torch.arange(3, 72, device=diagonal.device)
        diagonal[:, idx, idx] += w * c0.to(**like)[:, None]
        if F > 1:
            upper[0][:, idx, idx] += w * c1.to(**like)[:, None]


def levenberg_marquardt(
    energy: Callable[[Tensor], Tensor],
    system: Callable[[Tensor], "BandedSystem | ArrowSystem"],
    x: Tensor,
    iterations: int,
    tolerance: float = 1e-6,
    damping: float = 1e-3,
) -> tuple[Tensor, int, int]:
    """Minimise ``energy(x)`` over the flat parameters ``x (N,)`` by damped Gauss-Newton steps.

    Each step solves ``(H + lambda diag H) dx = -g`` (``system(x).step``) and takes the first of
    ``dx``, ``dx / 2``, ``dx / 4`` that lowers the energy (halving costs one energy evaluation, a new
    ``lambda`` a new factorisation); ``lambda`` shrinks after a full step, grows after a shortened
    one and grows until some step succeeds.

    Args:
        energy: ``x -> scalar``, differentiable.
        system: ``x ->`` a :class:`BandedSystem` or :class:`ArrowSystem` (the Gauss-Newton matrix).
        iterations: the most steps; it stops earlier when a step lowers the energy by less than
            ``tolerance`` (relative) or no damping finds a lower energy.
        damping: Marquardt's initial ``lambda`` (relative to the matrix's diagonal).

    Returns:
        the minimiser, the number of steps taken and the number of energy evaluations.
    """
    x = x.detach().clone()
    evaluations = steps = 0
    for _ in range(iterations):
        with torch.enable_grad():  # also when the caller runs under no_grad, as torch's optimisers do
            x_var = x.clone().requires_grad_(True)
            value = energy(x_var)
            (gradient,) = torch.autograd.grad(value, x_var)
        evaluations += 1
        value = float(value.detach())
        matrix = system(x)
        new_value = value
        while new_value >= value and damping < 1e10:
            step = matrix.step(gradient, damping)
            if step is None:
                damping *= 4
                continue
            for fraction in (1.0, 0.5, 0.25):
                trial = x + fraction * step
                with torch.no_grad():
                    new_value = float(energy(trial))
                evaluations += 1
                if new_value < value:
                    x, steps = trial, steps + 1
                    damping = max(damping / 3, 1e-7) if fraction == 1.0 else damping * 2
                    break
            else:
                damping *= 4
        if new_value >= value or value - new_value < tolerance * abs(value):
            break
    return x, steps, evaluations
