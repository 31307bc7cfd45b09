"""``mvmocap adapt`` settings: :class:`AdaptConfig` (a run is a function of these, its captures and its code)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mvmocap.errors import InputError

# Settings that must not change when resuming (the rest, e.g. steps or log_every, may).
FROZEN_ON_RESUME = ("method", "seed", "batch_size", "refit_every", "lr", "weights", "betas_weight", "min_confidence",
                    "synthetic_every", "synthetic_batch", "fit", "frames", "cameras", "vertex_stride",
                    "deep_supervision", "fit_mode")


@dataclass(frozen=True)
class AdaptConfig:
    """Attributes:
        method: the regressor to adapt (``mvmocap.methods.adaptation_methods``; ``volumetric``).
        checkpoint: the network to start from (None: the method's shipped / environment checkpoint).
        seed: seeds which frames each step trains on and the synthetic drift-guard batches.
        steps: optimisation steps; batch_size: frame-sets per step (all from one capture).
        lr: Adam's learning rate (the paper: "Adam with 3 x 10^-5 learning rate"); grad_clip (0 = off).
        refit_every: run multi-view SMPLify from the regressor on every frame of every capture
            every this many steps (step 0 included): the collaborative loop's schedule.
        weights: the loss weights ``w_2d, w_3d, w_theta, w_mesh`` (default the paper's 5, 5, 1, 0.001).
        betas_weight: the betas' share of L_Theta (rotations MSE + betas_weight x betas MSE); 0.001 as
            SPIN, the paper's base (with 1 the fits' shape takes nearly all the gradient: docs/adapt_handoff.md).
        min_confidence: detections below it are left out of the 2D loss (CMANet's threshold lambda;
            the run's own threshold already applies).
        vertex_stride: the mesh loss uses every this-many-th vertex.
        deep_supervision: the loss on every refinement iteration of the network (weights halving
            backwards from the last, as its synthetic training), not the last only.
        synthetic_every: 0, or add a labelled synthetic batch's training loss every this many steps
            (the drift guard: the network's own ``train-synthetic`` loss on its own training data;
            ``cmanet``: stage 2's loss against the true parameters of captures of its training domain).
        synthetic_batch: samples (``cmanet``: frames) per synthetic batch and process; w_synthetic: its weight.
        fit: :class:`mvmocap.fit.FitConfig` options of the refits (default: every frame starts from
            the regressor, ``refine_start: init``).
        fit_mode: the refit: ``calibrated`` (the project's multi-view fit), ``uncalibrated`` (the paper's
            MV-SMPLify, per-view orientation, shared pose and shape) or ``single-view`` (SMPLify on
            each view alone), see :mod:`mvmocap.adapt.view_fits`.
        frames: ``[start, stop)`` frame positions of every capture to adapt on (None: all).
        cameras: the cameras of every capture to adapt on (None: all; a subset is re-triangulated
            and the run's own fit, which saw the others, is left out of the fit cache).
        log_every, checkpoint_every: in steps (0 = only at the end).
    """

    method: str = "volumetric"
    checkpoint: str | None = None
    seed: int = 0
    steps: int = 200
    batch_size: int = 8
    lr: float = 3e-5
    grad_clip: float = 1.0
    refit_every: int = 50
    weights: dict[str, float] = field(default_factory=lambda: {"w_2d": 5.0, "w_3d": 5.0, "w_theta": 1.0, "w_mesh": 0.001})
    betas_weight: float = 0.001
    min_confidence: float = 0.0
    vertex_stride: int = 8
    deep_supervision: bool = True
    synthetic_every: int = 0
    synthetic_batch: int = 8
    w_synthetic: float = 1.0
    fit: dict[str, Any] = field(default_factory=lambda: {"refine_start": "init"})
    fit_mode: str = "calibrated"
    frames: tuple[int, int] | None = None
    cameras: tuple[str, ...] | None = None
    log_every: int = 10
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "refit_every", "vertex_stride", "synthetic_batch"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("synthetic_every", "log_every", "checkpoint_every"):
            if int(getattr(self, name)) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < float(self.lr) <= 1:
            raise InputError(f"lr must be in (0, 1], got {self.lr}")
        unknown = sorted(set(self.weights) - {"w_2d", "w_3d", "w_theta", "w_mesh"})
        if unknown:
            raise InputError(f"unknown loss weight(s) {', '.join(unknown)}; known: w_2d, w_3d, w_theta, w_mesh")
        if (any(float(v) < 0 for v in self.weights.values()) or self.w_synthetic < 0 or self.grad_clip < 0
                or self.betas_weight < 0):
            raise InputError("loss weights and grad_clip must be >= 0")
        if self.frames is not None and (len(self.frames) != 2 or not 0 <= int(self.frames[0]) < int(self.frames[1])):
            raise InputError(f"frames must be START:STOP with 0 <= START < STOP, got {self.frames}")
        if self.cameras is not None and len(self.cameras) < 2:
            raise InputError("cameras: adapt needs at least 2 cameras per capture")
        from mvmocap.fit.smplify import FitConfig

        FitConfig.from_dict(dict(self.fit))  # unknown or bad fit options fail before any work
        from mvmocap.adapt.view_fits import check_fit_mode

        check_fit_mode(self.fit_mode)

    def fit_config(self):
        """The refits' :class:`FitConfig` (one thread, no per-stage lines)."""
        from mvmocap.fit.smplify import FitConfig

        return FitConfig.from_dict(dict(self.fit))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["frames"] = None if self.frames is None else [int(v) for v in self.frames]
        d["cameras"] = None if self.cameras is None else list(self.cameras)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AdaptConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown adapt option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        d = dict(d)
        if d.get("frames") is not None:
            d["frames"] = tuple(int(v) for v in d["frames"])
        if d.get("cameras") is not None:
            d["cameras"] = tuple(str(v) for v in d["cameras"])
        return cls(**d)
