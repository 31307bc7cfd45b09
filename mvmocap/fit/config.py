"""``FitConfig``: the weights, robust scales, iteration counts and options of the fit (:mod:`mvmocap.fit.smplify`)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch

from mvmocap.errors import InputError
from mvmocap.io.settings import check_values

DTYPES = {"float32": torch.float32, "float64": torch.float64}
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
        if self.dtype not in DTYPES:
            raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
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
