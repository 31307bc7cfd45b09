"""Fitting one batch of frames from a start: orientation and translation first, then everything.

:func:`fit_frames` runs Levenberg-Marquardt on the Gauss-Newton matrix (:mod:`mvmocap.fit.gauss_newton`,
the default) or L-BFGS / Adam on :func:`mvmocap.fit.energy.energy`, with the robust scales
narrowing over ``FitConfig.sigma_schedule``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from mvmocap.fit.config import FitConfig
from mvmocap.fit.energy import FitData, energy as batch_energy
from mvmocap.fit.model import KeypointModel
from mvmocap.body.params import BodyParams
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def minimise(closure_loss, variables: list[Tensor], cfg: FitConfig, iterations: int) -> int:
    """Run the configured optimiser on ``variables``; returns the number of energy evaluations."""
    if iterations <= 0 or not variables:
        return 0
    evaluations = 0

    def closure():
        nonlocal evaluations
        evaluations += 1
        optimiser.zero_grad(set_to_none=True)
        loss = closure_loss()
        loss.backward()
        return loss

    if cfg.optimizer != "adam":  # L-BFGS, also for Gauss-Newton's one gap: shared betas over consecutive frames
        optimiser = torch.optim.LBFGS(
            variables,
            lr=1.0,
            max_iter=iterations,
            max_eval=int(iterations * 1.5) + 1,
            history_size=20,
            tolerance_grad=1e-9,
            tolerance_change=1e-10,
            line_search_fn="strong_wolfe",
        )
        optimiser.step(closure)
    else:
        optimiser = torch.optim.Adam(variables, lr=cfg.adam_lr)
        for _ in range(iterations):
            optimiser.step(closure)
    return evaluations


def fit_frames(
    model: KeypointModel,
    rig: CameraRig,
    cfg: FitConfig,
    data: FitData,
    start: BodyParams,
    *,
    fit_pose: bool,
    fit_betas: bool,
    iters_global: int,
    iters_all: int,
    label: str,
    history: list[dict],
) -> BodyParams:
    """Fit a batch of frames from ``start``: orientation + translation, then also pose (and betas).

    The orientation is optimised as a correction ``delta`` in the body frame:
    ``R = R_start @ exp(delta)``, free of the axis-angle singularity at pi.
    """
    if cfg.optimizer == "gauss-newton" and not (fit_betas and data.consecutive):
        return fit_frames_gauss_newton(model, rig, cfg, data, start, fit_pose=fit_pose, fit_betas=fit_betas,
                                        iters_global=iters_global, iters_all=iters_all, label=label, history=history)
    R_start = axis_angle_to_matrix(start.global_orient).detach()
    delta = torch.zeros_like(start.global_orient, requires_grad=True)
    transl = start.transl.detach().clone().requires_grad_(True)
    body_pose = start.body_pose.detach().clone().requires_grad_(fit_pose)
    betas = start.betas.detach().clone().requires_grad_(fit_betas)

    sigma_scale = cfg.sigma_schedule[0]

    def loss():
        rotation = R_start @ axis_angle_to_matrix(delta)
        total, _ = batch_energy(model, rig, cfg, data, rotation, body_pose, betas, transl, sigma_scale)
        return total

    def record(stage: str, iters: int, evaluations: int):
        with torch.no_grad():
            rotation = R_start @ axis_angle_to_matrix(delta)
            total, terms = batch_energy(model, rig, cfg, data, rotation, body_pose, betas, transl, sigma_scale)
        history.append(
            {
                "stage": f"{label}/{stage}",
                "frames": int(start.num_frames),
                "iterations": iters,
                "evaluations": evaluations,
                "sigma_scale": sigma_scale,
                "loss": float(total),
                **{k: float(v) for k, v in terms.items()},
            }
        )

    evaluations = minimise(loss, [delta, transl], cfg, iters_global)
    record("global", iters_global, evaluations)
    variables = [delta, transl] + ([body_pose] if fit_pose else []) + ([betas] if fit_betas else [])
    if fit_pose or fit_betas:
        passes = len(cfg.sigma_schedule)
        for k, sigma_scale in enumerate(cfg.sigma_schedule):
            iters = iters_all // passes + (1 if k < iters_all % passes else 0)
            evaluations = minimise(loss, variables, cfg, iters)
            record("all" if passes == 1 else f"all{k + 1}", iters, evaluations)

    with torch.no_grad():
        orient = matrix_to_axis_angle(R_start @ axis_angle_to_matrix(delta))
    return BodyParams(orient.detach(), body_pose.detach(), betas.detach(), transl.detach(), start.valid)


def fit_frames_gauss_newton(model: KeypointModel, rig: CameraRig, cfg: FitConfig, data: FitData, start: BodyParams, *,
                             fit_pose: bool, fit_betas: bool, iters_global: int, iters_all: int, label: str,
                             history: list[dict]) -> BodyParams:
    """:func:`fit_frames` with Levenberg-Marquardt steps (:mod:`mvmocap.fit.gauss_newton`): the same
    stages (orientation + translation, then everything over the robust passes), at most
    ``cfg.gn_iters`` steps each; ``iters_global`` / ``iters_all`` = 0 skip a stage, as with L-BFGS.
    The betas move only for independent frames (the key frames), whose matrix is an arrow."""
    from mvmocap.fit.gauss_newton import (GLOBAL_COLUMNS, ArrowSystem, BandedSystem, arrow_matrix,
                                          levenberg_marquardt, normal_matrix)

    F = start.num_frames
    R_start = axis_angle_to_matrix(start.global_orient).detach()
    frames = torch.cat([torch.zeros_like(start.global_orient), start.body_pose.reshape(F, 69), start.transl], 1)
    x = torch.cat([frames.reshape(-1), start.betas]).detach()  # flat: the frames' 75 each, then the betas
    sigma_scale = cfg.sigma_schedule[0]

    def unpack(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        per_frame = x[: F * 75].reshape(F, 75)
        return (R_start @ axis_angle_to_matrix(per_frame[:, :3]), per_frame[:, 3:72].reshape(F, 23, 3),
                x[F * 75:], per_frame[:, 72:])

    def flat_energy(x: Tensor) -> Tensor:
        return batch_energy(model, rig, cfg, data, *unpack(x), sigma_scale)[0]

    def banded(columns):
        def system(x: Tensor) -> BandedSystem:
            matrix = normal_matrix(model, rig, cfg, data, R_start, x[: F * 75].reshape(F, 75), x[F * 75:], sigma_scale)
            return BandedSystem(*matrix, columns, fixed=x.numel() - F * 75)
        return system

    def arrow(x: Tensor) -> ArrowSystem:
        return ArrowSystem(*arrow_matrix(model, rig, cfg, data, R_start, x[: F * 75].reshape(F, 75), x[F * 75:],
                                         sigma_scale))

    def record(stage: str, steps: int, evaluations: int) -> None:
        with torch.no_grad():
            total, terms = batch_energy(model, rig, cfg, data, *unpack(x), sigma_scale)
        history.append({"stage": f"{label}/{stage}", "frames": int(F), "iterations": steps,
                        "evaluations": evaluations, "sigma_scale": sigma_scale, "loss": float(total),
                        **{k: float(v) for k, v in terms.items()}})

    if iters_global > 0:
        x, steps, evaluations = levenberg_marquardt(flat_energy, banded(GLOBAL_COLUMNS), x, cfg.gn_iters, cfg.gn_tolerance)
        record("global", steps, evaluations)
    if (fit_pose or fit_betas) and iters_all > 0:
        system = arrow if fit_betas else banded(None if fit_pose else GLOBAL_COLUMNS)
        passes = len(cfg.sigma_schedule)
        for k, sigma_scale in enumerate(cfg.sigma_schedule):
            x, steps, evaluations = levenberg_marquardt(flat_energy, system, x, cfg.gn_iters, cfg.gn_tolerance)
            record("all" if passes == 1 else f"all{k + 1}", steps, evaluations)
    with torch.no_grad():
        rotation, pose, betas, transl = unpack(x)
        orient = matrix_to_axis_angle(rotation)
    return BodyParams(orient, pose.clone(), betas.clone(), transl.clone(), start.valid)


def with_threads(function: Callable, threads: int) -> Callable:
    """``function`` run with ``threads`` torch threads (a regressor's network wants the caller's
    setting, not the fit's single thread)."""
    def call(*args):
        inner = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return function(*args)
        finally:
            torch.set_num_threads(inner)

    return call
