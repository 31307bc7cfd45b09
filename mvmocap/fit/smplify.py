"""Multi-view SMPLify over a whole sequence (after Li, Oskarsson & Heyden, and SMPLify).

One pose and one shape per frame are shared by all cameras (the cameras are
calibrated, so there is no per-view orientation as in the paper's weak
perspective setting): the model's COCO-23 keypoints are projected into every
camera with :meth:`CameraRig.project` and pulled, through a robust
Geman-McClure penalty, to the confidence-weighted detections, and in 3D to the
triangulated joints; priors keep shape, elbows, knees and motion plausible.

The sequence is optimised in batched chunks of frames (every frame of a chunk
at once, no per-frame Python loop):

1. initialise every frame geometrically from the triangulated torso;
2. fit the shape (betas, shared by the sequence) together with the pose on a
   few key frames spread over the sequence;
3. for each chunk of ``chunk_size`` frames: warm-start every frame from the
   nearest already fitted frame, a key frame or the previous chunk's last
   frame (``warm_start="key_frames"``, the default; ``"previous_chunk"`` uses
   the previous chunk's last frame only); fit orientation and
   translation, then orientation, translation and body pose with robust scales
   narrowing over ``sigma_schedule``; the temporal smoothness terms include the
   previous chunk's last two frames, so chunks join without a jump.

Every stage runs Levenberg-Marquardt on its Gauss-Newton matrix (:mod:`mvmocap.fit.gauss_newton`,
``optimizer="gauss-newton"``, the default; at most ``gn_iters`` steps per stage and robust pass)
or L-BFGS / Adam (``optimizer="lbfgs"`` / ``"adam"``, ``iters_*`` iterations). On the shared demo
(fresh processes, ``benchmarks/volumetric_demo.py``) the Gauss-Newton fit took 1.7 s after
detection against 4.1 s for L-BFGS, at a median reprojection of 12.13 against 12.69 px.

Frames where nobody is seen keep ``valid = False`` and get parameters
interpolated (or held) from their neighbours, never NaN.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, fields, replace
from typing import Callable

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.fit import losses
from mvmocap.fit.initialise import initial_params
from mvmocap.fit.model import KeypointModel
from mvmocap.fit.params import BodyParams, fill_invalid_frames
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.io.settings import check_values
from mvmocap.keypoints import COCO23

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
REFINE_STARTS = ("init", "anchors", "best")
POSE_PRIOR_MEANS = ("regressor", "rest")
OPTIMIZERS = ("lbfgs", "adam", "gauss-newton")


@dataclass
class FitConfig:
    """Weights, robust scales and iteration counts of the fit.

    The weights were tuned on the 4-camera, 60 fps, 1080x1920 Pose2Sim demo
    (``benchmarks/fit.py``, with L-BFGS): light smoothing, since stronger joint smoothing
    visibly raises the reprojection error against the (noisy) detections.

    Energy (per frame, averaged over frames; see :mod:`mvmocap.fit.losses`)::

        w_2d  sum_cj c rho(|proj - det|; sigma_2d_px) / sigma_2d_px^2
      + w_3d  sum_j  c rho(|X - X_tri|; sigma_3d_m) / sigma_3d_m^2
      + w_shape |beta|^2 + w_pose |theta - theta_0|^2 + w_bending bend(theta) + w_hinge twist(theta)
      + w_smooth_joints |d^2 X / frame^2|^2 / smooth_scale_m^2 + w_smooth_pose |d theta / frame|^2

    ``theta_0`` is the rest pose (zeros), except in a fit started from a regressor's estimate with
    ``refine_pose_prior="regressor"``: there it is that estimate on the frames it covers.
    """

    # data terms
    weight_2d: float = 1.0
    weight_3d: float = 1.0
    sigma_2d_px: float = 25.0
    sigma_3d_m: float = 0.1
    # priors. weight_pose was 0.005 while the fit ran L-BFGS for a fixed number of iterations, which
    # stopped it early in the directions the keypoints barely see (the twist of spine, collars,
    # wrists, ankles); Gauss-Newton converges there, so the prior must hold them: chosen among
    # 0.05 / 0.1 / 0.2 on synthetic validation samples (seed 5, n = 100; MPJPE / PA-MPJPE / PVE mm
    # 25.7 / 16.8 / 41.2, 25.5 / 16.5 / 37.4, 25.8 / 16.5 / 35.9; L-BFGS with 0.005: 25.7 / 16.9 / 38.3).
    weight_shape: float = 0.02
    weight_pose: float = 0.1
    weight_bending: float = 10.0
    weight_hinge: float = 0.5
    weight_smooth_joints: float = 0.005
    smooth_scale_m: float = 0.01
    weight_smooth_pose: float = 0.2
    # Graduated robustness: the "all" stage runs once per factor, the robust
    # scales multiplied by it, the iterations shared out; wide first, so that
    # joints starting far from their evidence are not written off as outliers.
    sigma_schedule: tuple[float, ...] = (4.0, 1.0)
    # schedule (iterations of L-BFGS / Adam; Gauss-Newton takes gn_iters steps instead)
    chunk_size: int = 100
    shape_frames: int = 24
    iters_shape: int = 150
    iters_global: int = 20
    iters_pose: int = 300
    # A fit started from a regressor's estimate (``init``) has its own schedule:
    # these replace sigma_schedule, iters_global, iters_shape, iters_pose and optimizer
    # (None = keep). By default it makes one robust pass at the final scale (the regressor
    # starts every frame near its evidence, so the wide pass that guards a geometric start
    # against writing joints off as outliers is not needed; from its geometric start the plain fit
    # ends 2.4 % worse with one pass on the demo, 12.42 against 12.13 px) and uses Gauss-Newton
    # (mvmocap.fit.gauss_newton): models/regressors/MODEL_CARD.md.
    refine_sigma_schedule: tuple[float, ...] | None = (1.0,)
    refine_iters_global: int | None = None
    refine_iters_shape: int | None = None
    refine_iters_pose: int | None = None
    # Where each frame of a refinement starts once the key frames are fitted (they always
    # start from ``init``): "anchors" = the nearest fitted frame, as the plain fit does (its
    # orientation and translation corrected by the difference between the fitted and the
    # regressed anchor); "init" = the regressor's estimate; "best" = whichever of the two has the
    # lower data energy (robust 2D + 3D terms at the first robust scale), frame by frame. On the
    # real demo (volumetric+fit, Gauss-Newton, pose prior 0.005, experiment script) "anchors"
    # ended lowest (12.44 px) and "best" 0.3-0.4 % above; "init" ended 0.4 % or 8 % above in two
    # processes, a few frames starting far off.
    refine_start: str = "anchors"
    refine_optimizer: str | None = "gauss-newton"
    # Where the pose prior (weight_pose) pulls a refinement's frames that have the regressor's
    # estimate (its key frames with refine_start="anchors", every frame otherwise): "regressor" = to
    # that estimate, a learned prior in place of the rest pose; "rest" = to the rest pose, as the
    # plain fit does. Frames without an estimate always keep the rest pose. On the real demo
    # (benchmarks/volumetric_demo.py) "regressor" took volumetric+fit from 12.136 to 12.025 px
    # (the fit: 12.128), and lowered it on 8 of the 11 camera sets of 2-4 cameras, in the same time;
    # on synthetic single frames it leaves 4 and 8 views about even and costs 1-2 mm with 2 views
    # (models/regressors/MODEL_CARD.md).
    refine_pose_prior: str = "regressor"
    # "gauss-newton" (Levenberg-Marquardt on the Gauss-Newton matrix: mvmocap.fit.gauss_newton),
    # "lbfgs" or "adam" (torch optimisers, iters_* iterations per stage).
    optimizer: str = "gauss-newton"
    adam_lr: float = 0.02
    # Gauss-Newton: the most steps per stage and robust pass (iters_* only switch a stage off
    # when 0), and the relative energy decrease below which a pass stops early.
    gn_iters: int = 8
    gn_tolerance: float = 1e-5
    fit_shape: bool = True
    # "key_frames": each frame of a chunk starts from the nearest fitted frame
    # among the key frames and the previous chunk's last frame; "previous_chunk":
    # from the previous chunk's last frame only (the first chunk from the key
    # frames). Either way the previous chunk's last two frames enter the chunk's
    # smoothness terms.
    warm_start: str = "key_frames"
    # initialisation and validity
    arm_drop: float = 1.1
    min_joints: int = 6
    # numerics
    dtype: str = "float32"
    device: str | None = None
    # The batches are small: on the CPU one thread is several times faster than
    # several fighting over 2 cores. None leaves torch's setting alone.
    num_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.shape_frames < 1:
            raise InputError(f"chunk_size and shape_frames must be >= 1, got {self.chunk_size}, {self.shape_frames}")
        for name in ("optimizer", "refine_optimizer"):
            value = getattr(self, name)
            if value not in OPTIMIZERS and not (name == "refine_optimizer" and value is None):
                raise InputError(f"{name} must be one of {', '.join(OPTIMIZERS)}, got {value!r}")
        if self.refine_start not in REFINE_STARTS:
            raise InputError(f"refine_start must be one of {', '.join(REFINE_STARTS)}, got {self.refine_start!r}")
        if self.refine_pose_prior not in POSE_PRIOR_MEANS:
            raise InputError(f"refine_pose_prior must be one of {', '.join(POSE_PRIOR_MEANS)}, "
                             f"got {self.refine_pose_prior!r}")
        if self.warm_start not in ("key_frames", "previous_chunk"):
            raise InputError(f"warm_start must be 'key_frames' or 'previous_chunk', got {self.warm_start!r}")
        if self.dtype not in _DTYPES:
            raise InputError(f"dtype must be one of {', '.join(_DTYPES)}, got {self.dtype!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise InputError(f"FitConfig.{f.name} must be >= 0, got {value}")
        if self.sigma_2d_px <= 0 or self.sigma_3d_m <= 0 or self.smooth_scale_m <= 0:
            raise InputError("FitConfig sigmas and smooth_scale_m must be > 0")
        self.sigma_schedule = tuple(float(f) for f in self.sigma_schedule)
        if not self.sigma_schedule or min(self.sigma_schedule) <= 0:
            raise InputError(f"sigma_schedule must be positive factors, got {self.sigma_schedule}")
        if self.refine_sigma_schedule is not None:
            self.refine_sigma_schedule = tuple(float(f) for f in self.refine_sigma_schedule)
            if not self.refine_sigma_schedule or min(self.refine_sigma_schedule) <= 0:
                raise InputError(f"refine_sigma_schedule must be positive factors, got {self.refine_sigma_schedule}")

    def for_refinement(self) -> "FitConfig":
        """The settings of a fit that starts from a regressor's estimate (the ``refine_*`` fields)."""
        changes = {"sigma_schedule": self.refine_sigma_schedule, "iters_global": self.refine_iters_global,
                   "iters_shape": self.refine_iters_shape, "iters_pose": self.refine_iters_pose,
                   "optimizer": self.refine_optimizer}
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_dict(cls, values: dict) -> "FitConfig":
        """Build from a (YAML/TOML) mapping; unknown keys raise :class:`InputError` listing the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown fit option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        check_values(cls, values, source="fit options")
        return cls(**values)

    def to_dict(self) -> dict:
        """Plain values (lists for tuples), ready for YAML/JSON."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}


@dataclass
class FitResult:
    """What :func:`fit_sequence` returns.

    Attributes:
        params: the fitted :class:`BodyParams` (float32 on the CPU).
        keypoints3d: ``(F, 23, 3)`` metres, the fitted model's COCO-23 points, world.
        reprojection_px: ``(F, C, 23)`` pixels, distance between the projected model
            points and the detections, everywhere (meaningful where ``observed``).
        observed: ``(F, C, 23)`` bool, detection confidence > 0 (and the model defines the point).
        height_m: the fitted body's height in its rest pose (vertical extent of the
            mesh), metres; NaN if the body model gives no vertices.
        timings: seconds per stage (``initialise``, ``shape``, ``pose``, ``total``).
        history: one dict per optimisation stage: ``stage``, ``frames``, ``iterations``,
            ``loss`` and the value of every weighted term at the end.
    """

    params: BodyParams
    keypoints3d: Tensor
    reprojection_px: Tensor
    observed: Tensor
    height_m: float = float("nan")
    timings: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)

    def median_reprojection_px(self, valid_frames_only: bool = True) -> float:
        """Median pixel error over the observed keypoints (of valid frames)."""
        mask = self.observed
        if valid_frames_only:
            mask = mask & self.params.valid[:, None, None]
        errors = self.reprojection_px[mask]
        return float(errors.median()) if errors.numel() else float("nan")


# -- the energy of one batch of frames ----------------------------------------------


@dataclass
class _Data:
    """Evidence for a batch of frames, already on the fitting dtype/device."""

    observed: Tensor  # (F, C, J, 2) px
    conf2d: Tensor  # (F, C, J)
    joints3d: Tensor  # (F, J, 3) m
    conf3d: Tensor  # (F, J)
    consecutive: bool  # whether the frames follow each other (temporal terms apply)
    context_points: Tensor | None = None  # (K, J, 3) model points of the frames just before
    context_pose: Tensor | None = None  # (K, 23, 3) body pose of the frames just before
    pose_mean: Tensor | None = None  # (F, 23, 3) where the pose prior pulls each frame; None: the rest pose


def _energy(
    model: KeypointModel,
    rig: CameraRig,
    cfg: FitConfig,
    data: _Data,
    rotation: Tensor,
    body_pose: Tensor,
    betas: Tensor,
    transl: Tensor,
    sigma_scale: float = 1.0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Total energy and its weighted terms for ``F`` frames (``rotation (F, 3, 3)``).

    ``sigma_scale`` multiplies both robust scales and the data terms are
    multiplied by its square, so that small residuals cost the same whatever the scale.
    """
    points = model(rotation, body_pose, betas, transl)  # (F, J, 3)
    projected = rig.project(points)  # (F, C, J, 2)
    s2 = sigma_scale**2
    sigma_2d, sigma_3d = cfg.sigma_2d_px * sigma_scale, cfg.sigma_3d_m * sigma_scale
    terms = {
        "2d": cfg.weight_2d * s2 * losses.reprojection_term(projected, data.observed, data.conf2d, sigma_2d),
        "3d": cfg.weight_3d * s2 * losses.joints3d_term(points, data.joints3d, data.conf3d, sigma_3d),
        "shape": cfg.weight_shape * losses.shape_prior(betas),
        "pose": cfg.weight_pose * losses.pose_prior(body_pose, data.pose_mean),
        "bending": cfg.weight_bending * losses.bending_prior(body_pose).mean(),
        "hinge": cfg.weight_hinge * losses.hinge_off_axis_prior(body_pose).mean(),
    }
    if data.consecutive:
        pts, pose = points, body_pose
        if data.context_points is not None:
            pts = torch.cat([data.context_points, points])
            pose = torch.cat([data.context_pose, body_pose])
        scale2 = cfg.smooth_scale_m**2
        terms["smooth_joints"] = cfg.weight_smooth_joints * losses.temporal_smoothness(pts, 2) / scale2
        terms["smooth_pose"] = cfg.weight_smooth_pose * losses.temporal_smoothness(pose, 1)
    total = sum(terms.values())
    return total, terms


def _minimise(closure_loss, variables: list[Tensor], cfg: FitConfig, iterations: int) -> int:
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


def _fit_frames(
    model: KeypointModel,
    rig: CameraRig,
    cfg: FitConfig,
    data: _Data,
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
        return _fit_frames_gauss_newton(model, rig, cfg, data, start, fit_pose=fit_pose, fit_betas=fit_betas,
                                        iters_global=iters_global, iters_all=iters_all, label=label, history=history)
    R_start = axis_angle_to_matrix(start.global_orient).detach()
    delta = torch.zeros_like(start.global_orient, requires_grad=True)
    transl = start.transl.detach().clone().requires_grad_(True)
    body_pose = start.body_pose.detach().clone().requires_grad_(fit_pose)
    betas = start.betas.detach().clone().requires_grad_(fit_betas)

    sigma_scale = cfg.sigma_schedule[0]

    def loss():
        rotation = R_start @ axis_angle_to_matrix(delta)
        total, _ = _energy(model, rig, cfg, data, rotation, body_pose, betas, transl, sigma_scale)
        return total

    def record(stage: str, iters: int, evaluations: int):
        with torch.no_grad():
            rotation = R_start @ axis_angle_to_matrix(delta)
            total, terms = _energy(model, rig, cfg, data, rotation, body_pose, betas, transl, sigma_scale)
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

    evaluations = _minimise(loss, [delta, transl], cfg, iters_global)
    record("global", iters_global, evaluations)
    variables = [delta, transl] + ([body_pose] if fit_pose else []) + ([betas] if fit_betas else [])
    if fit_pose or fit_betas:
        passes = len(cfg.sigma_schedule)
        for k, sigma_scale in enumerate(cfg.sigma_schedule):
            iters = iters_all // passes + (1 if k < iters_all % passes else 0)
            evaluations = _minimise(loss, variables, cfg, iters)
            record("all" if passes == 1 else f"all{k + 1}", iters, evaluations)

    with torch.no_grad():
        orient = matrix_to_axis_angle(R_start @ axis_angle_to_matrix(delta))
    return BodyParams(orient.detach(), body_pose.detach(), betas.detach(), transl.detach(), start.valid)


def _fit_frames_gauss_newton(model: KeypointModel, rig: CameraRig, cfg: FitConfig, data: _Data, start: BodyParams, *,
                             fit_pose: bool, fit_betas: bool, iters_global: int, iters_all: int, label: str,
                             history: list[dict]) -> BodyParams:
    """:func:`_fit_frames` with Levenberg-Marquardt steps (:mod:`mvmocap.fit.gauss_newton`): the same
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

    def energy(x: Tensor) -> Tensor:
        return _energy(model, rig, cfg, data, *unpack(x), sigma_scale)[0]

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
            total, terms = _energy(model, rig, cfg, data, *unpack(x), sigma_scale)
        history.append({"stage": f"{label}/{stage}", "frames": int(F), "iterations": steps,
                        "evaluations": evaluations, "sigma_scale": sigma_scale, "loss": float(total),
                        **{k: float(v) for k, v in terms.items()}})

    if iters_global > 0:
        x, steps, evaluations = levenberg_marquardt(energy, banded(GLOBAL_COLUMNS), x, cfg.gn_iters, cfg.gn_tolerance)
        record("global", steps, evaluations)
    if (fit_pose or fit_betas) and iters_all > 0:
        system = arrow if fit_betas else banded(None if fit_pose else GLOBAL_COLUMNS)
        passes = len(cfg.sigma_schedule)
        for k, sigma_scale in enumerate(cfg.sigma_schedule):
            x, steps, evaluations = levenberg_marquardt(energy, system, x, cfg.gn_iters, cfg.gn_tolerance)
            record("all" if passes == 1 else f"all{k + 1}", steps, evaluations)
    with torch.no_grad():
        rotation, pose, betas, transl = unpack(x)
        orient = matrix_to_axis_angle(rotation)
    return BodyParams(orient, pose.clone(), betas.clone(), transl.clone(), start.valid)


# -- the public entry point -----------------------------------------------------------


def _with_threads(function: Callable, threads: int) -> Callable:
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


def _regressed_pose_mean(num_frames: int, keys: Tensor, regressed: BodyParams, keys_only: bool) -> Tensor:
    """``(F, 23, 3)``: the pose prior's mean of a refinement, the regressor's body pose on the frames
    where it gave a valid estimate (``regressed`` holds the key frames ``keys`` when ``keys_only``,
    else every frame) and the rest pose (zeros) elsewhere."""
    pose = regressed.body_pose * regressed.valid.to(regressed.body_pose.dtype)[:, None, None]
    if not keys_only:
        return pose  # already a new tensor
    mean = pose.new_zeros(num_frames, *pose.shape[1:])
    mean[keys] = pose
    return mean


def _given_start(init, frames: Tensor, what: str) -> BodyParams:
    """The caller's starting parameters at ``frames (K,)``: ``init`` itself (all frames) or ``init(frames)``."""
    params = init(frames) if callable(init) else init
    if not isinstance(params, BodyParams):
        raise InputError(f"init must give BodyParams, got {type(params).__name__}")
    if params.num_frames != frames.numel():
        raise InputError(f"init has {params.num_frames} frames, {what} {frames.numel()}")
    return params


def _check_inputs(keypoints_2d: Tensor, rig: CameraRig, joints3d, joints3d_confidence) -> None:
    if not isinstance(rig, CameraRig):
        raise InputError(f"rig must be a CameraRig, got {type(rig).__name__}")
    J = len(COCO23)
    if keypoints_2d.dim() != 4 or keypoints_2d.shape[1] != len(rig) or keypoints_2d.shape[2:] != (J, 3):
        raise InputError(
            f"keypoints_2d must have shape (F, {len(rig)}, {J}, 3) (frames, cameras of the rig, COCO-23, x/y/confidence), "
            f"got {tuple(keypoints_2d.shape)}"
        )
    if keypoints_2d.shape[0] == 0:
        raise InputError("keypoints_2d has no frames")
    if not bool(torch.isfinite(keypoints_2d).all()):
        raise InputError("keypoints_2d has NaN/inf: missing points must have confidence 0 instead")
    F = keypoints_2d.shape[0]
    if joints3d is not None:
        if tuple(joints3d.shape) != (F, J, 3):
            raise InputError(f"joints3d must have shape ({F}, {J}, 3), got {tuple(joints3d.shape)}")
        if not bool(torch.isfinite(joints3d).all()):
            raise InputError("joints3d has NaN/inf: missing joints must have confidence 0 instead")
    if joints3d_confidence is not None:
        if joints3d is None:
            raise InputError("joints3d_confidence given without joints3d")
        if tuple(joints3d_confidence.shape) != (F, J):
            raise InputError(f"joints3d_confidence must have shape ({F}, {J}), got {tuple(joints3d_confidence.shape)}")


def _keyframes(valid: Tensor, count: int) -> Tensor:
    """Up to ``count`` valid frame indices spread evenly over the sequence."""
    idx = torch.nonzero(valid).flatten()
    if idx.numel() <= count:
        return idx
    picks = torch.linspace(0, idx.numel() - 1, count).round().long()
    return idx[picks.unique()]


def _nearest(frames: Tensor, keys: Tensor) -> Tensor:
    """For each of ``frames (F,)``, the position in ``keys (K,)`` of the nearest key frame."""
    return (frames[:, None] - keys[None, :]).abs().argmin(dim=1)


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[fit] {message}", file=sys.stderr, flush=True)


def fit_sequence(
    keypoints_2d: Tensor,
    rig: CameraRig,
    body_model,
    joints3d: Tensor | None = None,
    joints3d_confidence: Tensor | None = None,
    config: FitConfig | None = None,
    init: BodyParams | Callable[[Tensor], BodyParams] | None = None,
    progress: bool = True,
) -> FitResult:
    """Fit one body (pose per frame, one shape) to multi-view keypoints of a sequence.

    Args:
        keypoints_2d: ``(F, C, 23, 3)`` x, y pixels (distorted image, as detected) and
            confidence in [0, 1], COCO-23 layout (:data:`mvmocap.keypoints.COCO23`),
            cameras in ``rig`` order; missing = confidence 0.
        rig: the calibrated :class:`CameraRig` (world +Z up, metres).
        body_model: a body model of :mod:`mvmocap.body` (``load_body_model``).
        joints3d: ``(F, 23, 3)`` metres, triangulated joints; None triangulates
            ``keypoints_2d`` with :meth:`CameraRig.triangulate_robust`.
        joints3d_confidence: ``(F, 23)``; None: 1 where a joint is seen by >= 2 cameras.
        config: :class:`FitConfig`; None = defaults.
        init: starting parameters (e.g. from a regressor) for every frame, or a function
            ``frames (K,) -> BodyParams`` of those K frames, asked only for the key frames when
            ``refine_start == "anchors"`` (the other frames start as the plain fit's do, from the
            nearest fitted key frame, so their starts would go unused); a fit from ``init`` uses
            the ``refine_*`` settings. None = geometric initialisation.
        progress: print one line per stage on stderr.

    Returns:
        :class:`FitResult`. Frames with fewer than ``config.min_joints`` usable
        joints are ``valid = False`` with interpolated parameters.

    Raises:
        :class:`InputError` for bad shapes or when no frame shows a person.
    """
    cfg = config or FitConfig()
    keypoints_2d = torch.as_tensor(keypoints_2d)
    _check_inputs(keypoints_2d, rig, joints3d, joints3d_confidence)
    threads = torch.get_num_threads()
    if callable(init):
        init = _with_threads(init, threads)
    if cfg.num_threads and (cfg.device is None or torch.device(cfg.device).type == "cpu"):
        torch.set_num_threads(cfg.num_threads)
    try:
        return _fit_sequence(keypoints_2d, rig, body_model, joints3d, joints3d_confidence, cfg, init, progress)
    finally:
        torch.set_num_threads(threads)


def _fit_sequence(keypoints_2d, rig, body_model, joints3d, joints3d_confidence, cfg, init, progress) -> FitResult:
    if init is not None:
        cfg = cfg.for_refinement()
    dtype = _DTYPES[cfg.dtype]
    device = torch.device(cfg.device) if cfg.device else keypoints_2d.device
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    history: list[dict] = []

    model = KeypointModel(body_model, dtype=dtype, device=device)
    rig_f = rig.to(dtype=dtype, device=device)
    kp = keypoints_2d.to(dtype=dtype, device=device)
    available = model.available.to(dtype)
    observed = kp[..., :2]
    conf2d = kp[..., 2].clamp(0, 1) * available
    seen_twice = (conf2d > 0).sum(1) >= 2  # (F, J)
    if joints3d is None:
        tri = rig_f.triangulate_robust(observed, conf2d)
        j3d, conf3d = tri.points, tri.confidence
    else:
        j3d = torch.as_tensor(joints3d).to(dtype=dtype, device=device)
        if joints3d_confidence is None:
            conf3d = seen_twice.to(dtype)
        else:
            conf3d = torch.as_tensor(joints3d_confidence).to(dtype=dtype, device=device).clamp(0, 1)
    conf3d = conf3d * available
    frame_valid = (conf3d > 0).sum(-1) >= cfg.min_joints
    F = kp.shape[0]
    if not bool(frame_valid.any()):
        raise InputError(
            f"no frame has at least {cfg.min_joints} joints seen by two cameras: nobody to fit in {F} frames"
        )
    # Invalid frames carry no evidence at all (a few stray points would only pull them astray).
    conf2d = conf2d * frame_valid[:, None, None]
    conf3d = conf3d * frame_valid[:, None]

    # 1. initialisation
    t0 = time.perf_counter()
    keys = _keyframes(frame_valid, cfg.shape_frames)
    init_keys_only = callable(init) and cfg.refine_start == "anchors"  # the other frames start as in the plain fit
    with torch.no_grad():
        if init is None or init_keys_only:
            start = initial_params(model, j3d, conf3d, arm_drop=cfg.arm_drop)
            seen = start.valid & frame_valid
            if bool(seen.any()):
                start = fill_invalid_frames(start, seen)
        else:
            start = _given_start(init, torch.arange(F, device=keys.device), "the keypoints").to(dtype=dtype, device=device)
        key_start = start.frames(keys)
        if init_keys_only:
            key_start = _given_start(init, keys, "the key frames").to(dtype=dtype, device=device)
        betas = _pad_betas(key_start.betas, model.num_betas)
        pose_mean = None
        if init is not None and cfg.refine_pose_prior == "regressor":
            pose_mean = _regressed_pose_mean(F, keys, key_start if init_keys_only else start, init_keys_only)
    timings["initialise"] = time.perf_counter() - t0
    _log(progress, f"initialised {F} frames ({int(frame_valid.sum())} with a person) in {timings['initialise']:.2f} s")

    # 2. shape on key frames
    t0 = time.perf_counter()
    key_params = BodyParams(
        key_start.global_orient, key_start.body_pose, betas, key_start.transl, key_start.valid
    )
    key_data = _Data(observed[keys], conf2d[keys], j3d[keys], conf3d[keys], consecutive=False,
                     pose_mean=None if pose_mean is None else pose_mean[keys])
    fitted_keys = _fit_frames(
        model, rig_f, cfg, key_data, key_params,
        fit_pose=True, fit_betas=cfg.fit_shape, iters_global=cfg.iters_global, iters_all=cfg.iters_shape,
        label="shape", history=history,
    )
    betas = fitted_keys.betas
    timings["shape"] = time.perf_counter() - t0
    _log(progress, f"shape fitted on {keys.numel()} key frames in {timings['shape']:.2f} s")

    # 3. pose, chunk by chunk (a single frame was fitted completely as its own key frame)
    t0 = time.perf_counter()
    evidence = _Data(observed, conf2d, j3d, conf3d, consecutive=True, pose_mean=pose_mean)
    if F == 1:
        parts = [fitted_keys]
    else:
        parts = _fit_chunks(model, rig_f, cfg, evidence, start, fitted_keys, keys, frame_valid,
                            start_mode="anchors" if init is None else cfg.refine_start,
                            history=history, progress=progress)
    timings["pose"] = time.perf_counter() - t0

    params = fill_invalid_frames(BodyParams.concatenate(parts), frame_valid)
    with torch.no_grad():
        points = model(axis_angle_to_matrix(params.global_orient), params.body_pose, params.betas, params.transl)
        reprojection = (rig_f.project(points) - observed).norm(dim=-1)
        height = rest_height(model, params.betas)
    timings["total"] = time.perf_counter() - t_start
    _log(progress, f"fit done in {timings['total']:.2f} s (height {height:.2f} m)")
    cpu = torch.device("cpu")
    return FitResult(
        params=params.to(dtype=torch.float32, device=cpu),
        keypoints3d=points.to(dtype=torch.float32, device=cpu),
        reprojection_px=reprojection.to(dtype=torch.float32, device=cpu),
        observed=((kp[..., 2] > 0) & model.available).to(cpu),
        height_m=height,
        timings=timings,
        history=history,
    )


def _fit_chunks(
    model: KeypointModel,
    rig: CameraRig,
    cfg: FitConfig,
    evidence: _Data,
    start: BodyParams,
    fitted_keys: BodyParams,
    keys: Tensor,
    frame_valid: Tensor,
    *,
    start_mode: str,
    history: list[dict],
    progress: bool,
) -> list[BodyParams]:
    """Fit all frames, ``cfg.chunk_size`` at a time, each chunk one batch; returns the chunks' parameters.

    ``start`` holds every frame's starting parameters (geometric, or the caller's
    ``init``). ``start_mode`` (see ``FitConfig.refine_start``): ``"anchors"``: each
    frame rather starts from the nearest already fitted frame (see
    ``FitConfig.warm_start``); ``"init"``: the key frames start from their fitted
    values and the others from ``start``; ``"best"``: each frame from whichever of
    the two has the lower data energy.
    """
    F = start.num_frames
    warm_from_anchors = start_mode != "init"
    own_starts = start  # the frames' own starts, which the anchors' corrections apply to
    if start_mode != "anchors":
        start = _replace_frames(start, keys, fitted_keys)
    frame_ids = torch.arange(F, device=keys.device)
    betas = fitted_keys.betas
    parts: list[BodyParams] = []
    context_points = context_pose = None
    for c0 in range(0, F, cfg.chunk_size):
        c1 = min(c0 + cfg.chunk_size, F)
        e = evidence
        data = _Data(
            e.observed[c0:c1], e.conf2d[c0:c1], e.joints3d[c0:c1], e.conf3d[c0:c1], consecutive=True,
            context_points=context_points, context_pose=context_pose,
            pose_mean=None if e.pose_mean is None else e.pose_mean[c0:c1],
        )
        chunk_start = start.frames(slice(c0, c1))
        if warm_from_anchors:
            # Anchors: fitted frames whose pose (and orientation / translation
            # corrections) seed their neighbours: the key frames and, once there
            # is one, the last frame of the previous chunk.
            if parts and cfg.warm_start == "previous_chunk":
                anchor_ids, anchors = frame_ids[c0 - 1 : c0], parts[-1].frames(slice(-1, None))
            elif parts:
                anchor_ids = torch.cat([keys, frame_ids[c0 - 1 : c0]])
                anchors = BodyParams.concatenate([fitted_keys, parts[-1].frames(slice(-1, None))])
            else:
                anchor_ids, anchors = keys, fitted_keys
            from_anchors = _start_from_anchors(own_starts.frames(slice(c0, c1)), frame_ids[c0:c1], anchors, anchor_ids,
                                               own_starts.frames(anchor_ids))
            if start_mode == "best":
                chunk_start = _lower_energy(model, rig, cfg, data, chunk_start, from_anchors, betas)
            else:
                chunk_start = from_anchors
        chunk_start = BodyParams(
            chunk_start.global_orient, chunk_start.body_pose, betas, chunk_start.transl, frame_valid[c0:c1]
        )
        fitted = _fit_frames(
            model, rig, cfg, data, chunk_start,
            fit_pose=True, fit_betas=False, iters_global=cfg.iters_global, iters_all=cfg.iters_pose,
            label=f"pose[{c0}:{c1}]", history=history,
        )
        parts.append(fitted)
        with torch.no_grad():
            tail = slice(max(c1 - c0 - 2, 0), c1 - c0)
            context_points = model(
                axis_angle_to_matrix(fitted.global_orient[tail]), fitted.body_pose[tail], betas, fitted.transl[tail]
            )
            context_pose = fitted.body_pose[tail]
        _log(progress, f"frames {c0}-{c1 - 1} fitted ({history[-1]['loss']:.3f})")
    return parts


def _data_energy_per_frame(model: KeypointModel, rig: CameraRig, cfg: FitConfig, data: _Data, params: BodyParams,
                           betas: Tensor) -> Tensor:
    """``(F,)`` robust 2D + 3D data energies of ``params`` (with ``betas``) at the first robust scale."""
    s = cfg.sigma_schedule[0]
    with torch.no_grad():
        points = model(axis_angle_to_matrix(params.global_orient), params.body_pose, betas, params.transl)
        e2d = losses.reprojection_term(rig.project(points), data.observed, data.conf2d, cfg.sigma_2d_px * s, per_frame=True)
        e3d = losses.joints3d_term(points, data.joints3d, data.conf3d, cfg.sigma_3d_m * s, per_frame=True)
    return cfg.weight_2d * e2d + cfg.weight_3d * e3d


def _lower_energy(model: KeypointModel, rig: CameraRig, cfg: FitConfig, data: _Data, a: BodyParams, b: BodyParams,
                  betas: Tensor) -> BodyParams:
    """Frame by frame, whichever of the starts ``a`` and ``b`` has the lower data energy (``a`` on ties)."""
    take_b = _data_energy_per_frame(model, rig, cfg, data, b, betas) < _data_energy_per_frame(model, rig, cfg, data, a, betas)
    pick = lambda x, y: torch.where(take_b.view(-1, *([1] * (x.dim() - 1))), y, x)  # noqa: E731
    return BodyParams(pick(a.global_orient, b.global_orient), pick(a.body_pose, b.body_pose), a.betas,
                      pick(a.transl, b.transl), a.valid)


def _replace_frames(params: BodyParams, frames: Tensor, values: BodyParams) -> BodyParams:
    """``params`` with the per-frame parameters of ``frames (K,)`` taken from ``values`` (K frames)."""
    def put(target: Tensor, source: Tensor) -> Tensor:
        target = target.clone()
        target[frames] = source.to(target)
        return target

    return BodyParams(
        put(params.global_orient, values.global_orient), put(params.body_pose, values.body_pose),
        params.betas, put(params.transl, values.transl), params.valid,
    )


def rest_height(model: KeypointModel, betas: Tensor) -> float:
    """Height of the body with shape ``betas (nb,)`` in its rest pose: the mesh's extent
    along the rest frame's y (up) axis, metres; NaN when the model has no vertices."""
    try:
        out = model.forward_full(None, torch.zeros(1, 23, 3, dtype=betas.dtype, device=betas.device), betas, None)
        vertices = out.vertices.reshape(-1, 3)
    except (AttributeError, TypeError):
        return float("nan")
    return float(vertices[:, 1].max() - vertices[:, 1].min())


def _start_from_anchors(
    geometric: BodyParams, frames: Tensor, anchors: BodyParams, anchor_frames: Tensor, anchors_geometric: BodyParams
) -> BodyParams:
    """Start each frame from its nearest (in time) anchor, an already fitted frame.

    The anchor's body pose is copied; its orientation and translation are
    carried over as corrections of the frame's own geometric start (the torso
    alignment is biased by the person's posture the same way in nearby frames).

    Args:
        geometric: the frames' geometric starts (``n`` frames), ``frames (n,)`` their indices.
        anchors: the fitted anchor frames (``A``), ``anchor_frames (A,)`` their indices,
            ``anchors_geometric`` their geometric starts.
    """
    nearest = _nearest(frames, anchor_frames)
    R_geo = axis_angle_to_matrix(geometric.global_orient)
    R_anchor_geo = axis_angle_to_matrix(anchors_geometric.global_orient[nearest])
    correction = R_anchor_geo.transpose(-1, -2) @ axis_angle_to_matrix(anchors.global_orient[nearest])
    orient = matrix_to_axis_angle(R_geo @ correction)
    transl = geometric.transl + (anchors.transl[nearest] - anchors_geometric.transl[nearest])
    return BodyParams(orient, anchors.body_pose[nearest], geometric.betas, transl, geometric.valid)


def _pad_betas(betas: Tensor, num_betas: int) -> Tensor:
    """Betas ``(B,)`` zero-padded or truncated to the model's ``num_betas``."""
    if betas.shape[0] >= num_betas:
        return betas[:num_betas].clone()
    return torch.cat([betas, betas.new_zeros(num_betas - betas.shape[0])])
