"""The pieces of one collaborative round (paper section 3.4, Fig. 1), on one capture:

* :func:`refit`: the regressor predicts every frame; multi-view SMPLify (the existing Gauss-Newton
  fit, :func:`mvmocap.fit.run_fit`) starts from it and refines; the fit cache keeps, per frame, the
  better of the new fit and the cached one (:mod:`mvmocap.adapt.fit_cache`);
* :func:`capture_loss`: the regressor on a batch of frames against the detections (eq. 1) and the
  cached fits (eq. 3-5), combined by eq. 6 (:mod:`mvmocap.adapt.losses`);
* :func:`evaluate`: the same loss over every frame, no gradients (the self-supervised figure the
  metrics report before and after adapting).

``method`` is an adaptable regressor (:mod:`mvmocap.regressors.volumetric.adaptation`):
``prepare``, ``regress_frames``, ``sequence_params`` and ``body_model``.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch
from torch import Tensor

from mvmocap.adapt import losses
from mvmocap.adapt.captures import Capture
from mvmocap.adapt.fit_cache import FitCache, frame_energy
from mvmocap.adapt.view_fits import view_refit
from mvmocap.fit.inputs import evaluate_params, run_fit
from mvmocap.geometry.rotations import axis_angle_to_matrix


def initial_cache(capture: Capture, sigma_px: float, fit_mode: str = "calibrated") -> FitCache:
    """The cache's first entries: the run's own fit, with its energy. With another ``fit_mode`` the
    cache starts empty (SPIN's dictionary starts from fits of the same kind; the run's calibrated fit,
    lower in 2D energy, would otherwise keep supervising): the step-0 refit fills it."""
    if fit_mode != "calibrated":
        return FitCache.from_fit(capture.fit, torch.full((capture.fit.num_frames,), float("inf")))
    result = evaluate_params(capture.inputs, capture.fit)
    return FitCache.from_fit(capture.fit, frame_energy(result, capture.inputs.keypoints_2d, capture.inputs.rig, sigma_px))


def refit(method, capture: Capture, prepared, cache: FitCache, fit_config, fit_mode: str = "calibrated") -> dict[str, float]:
    """One refit of every frame of ``capture`` from the regressor (``fit_mode``: the calibrated
    multi-view fit, or :mod:`mvmocap.adapt.view_fits`' uncalibrated / per-view SMPLify); updates
    ``cache``; returns figures for the metrics (the new fit's and the cache's mean energy, frames
    replaced, seconds)."""
    began = time.perf_counter()
    start = method.sequence_params(capture.inputs, prepared)
    if fit_mode == "calibrated":
        result = run_fit(replace(capture.inputs, config=fit_config, progress=False), init=start)
    else:
        result = evaluate_params(capture.inputs, view_refit(capture.inputs, start, fit_mode))
    energy = frame_energy(result, capture.inputs.keypoints_2d, capture.inputs.rig, fit_config.sigma_2d_px)
    replaced = cache.update(result.params, energy)
    finite = torch.isfinite(energy)
    return {"fit_energy": float(energy[finite].mean()) if bool(finite.any()) else float("nan"),
            "cache_energy": cache.mean_energy(), "replaced_frames": int(replaced.sum()),
            "cached_frames": int(cache.valid.sum()), "fit_s": round(time.perf_counter() - began, 2)}


def cached_bodies(body_model, cache: FitCache, frames: Tensor) -> dict[str, Tensor]:
    """The cached fits of ``frames (B,)`` posed: ``rotations (B, 24, 3, 3)``, ``betas (B, S)``,
    ``joints3d (B, 17, 3)`` and ``vertices (B, V, 3)`` world metres (float32)."""
    go = axis_angle_to_matrix(cache.global_orient[frames])
    pose = axis_angle_to_matrix(cache.body_pose[frames])
    betas = cache.betas[frames]
    with torch.no_grad():
        out = body_model(global_orient=go, body_pose=pose, betas=betas, transl=cache.transl[frames])
    return {"rotations": torch.cat([go[:, None], pose], 1), "betas": betas,
            "joints3d": out.coco23[:, :17].float(), "vertices": out.vertices.float()}


def iteration_weights(count: int, deep: bool) -> list[float]:
    """Weights of the network's ``count`` refinement iterations: halving backwards from the last
    (0.25, 0.5, 1 for three, as the volumetric network's synthetic training), or the last only."""
    return [0.5 ** (count - 1 - k) if deep else float(k == count - 1) for k in range(count)]


def loss_terms(pred: dict[str, Tensor], target: dict[str, Tensor], rig, detected: Tensor, scale: Tensor,
               weight: Tensor, config, totals: Tensor | None = None) -> dict[str, Tensor]:
    """The paper's four terms (:mod:`mvmocap.adapt.losses`) of one decoded prediction (B frame-sets)
    against the detections ``detected (B, C, 17, 3)`` and the cached fits ``target`` (weight ``(B,)``:
    1 where a fit is cached). ``totals``: None, or ``(2,)`` the 2D weights' and the fit weights' sums
    over every process's share of the step (:mod:`mvmocap.adapt.shards`): each term is then this
    process's part of the whole step's mean, and the fit terms exist when any process has a fit."""
    total_2d, total_fit = (None, None) if totals is None else (totals[0], totals[1])
    projected = rig.project(pred["joints3d"])  # (B, C, 17, 2) px, the calibrated cameras
    terms = {"2d": losses.keypoint_2d_loss(projected, detected, scale, config.min_confidence, total_2d)}
    any_fit = bool(weight.any()) if total_fit is None else float(total_fit) > 0
    if any_fit:
        stride = int(config.vertex_stride)
        rotations = torch.cat([pred["global_orient"][:, None], pred["body_pose"]], 1)
        terms["3d"] = losses.joints_3d_loss(pred["joints3d"], target["joints3d"], weight, total_fit)
        terms["theta"] = losses.parameter_loss(rotations, pred["betas"], target["rotations"], target["betas"], weight,
                                               config.betas_weight, total_fit)
        terms["mesh"] = losses.mesh_loss(pred["vertices"][:, ::stride], pred["joints3d"],
                                         target["vertices"][:, ::stride], target["joints3d"], weight, total_fit)
    return terms


def capture_loss(method, capture: Capture, prepared, cache: FitCache, frames: Tensor, config, shards=None
                 ) -> tuple[Tensor, dict[str, float]]:
    """Eq. 6 on ``frames (B,)`` of one capture (every refinement iteration, see
    :func:`iteration_weights`) and the last iteration's terms for the metrics. With ``shards``
    (:class:`mvmocap.adapt.shards.Shards` of several processes) ``frames`` are this process's share of
    the step and the loss is its part of the whole step's loss (the parts summed over processes)."""
    iterations = method.regress_frames(prepared, frames)
    target = cached_bodies(method.body_model, cache, frames)
    weight = cache.valid[frames].float()
    detected = prepared.keypoints[frames]
    totals = None
    if shards is not None and shards.enabled:
        totals = shards.total(torch.stack([losses.keypoint_weights(detected, config.min_confidence).sum(),
                                           weight.sum()]))
    rig = capture.inputs.rig.to(dtype=torch.float32, device="cpu")
    total, parts = None, {}
    for pred, it_w in zip(iterations, iteration_weights(len(iterations), config.deep_supervision)):
        terms = loss_terms(pred, target, rig, detected, prepared.scale[frames], weight, config, totals)
        value = it_w * losses.collaborative_loss(terms, config.weights)
        total = value if total is None else total + value
        parts = {f"loss_{k}": float(v.detach()) for k, v in terms.items()}
    return total, parts


@torch.no_grad()
def evaluate(method, captures: list[Capture], prepared: list, caches: list[FitCache], config,
             batch_size: int = 32) -> dict[str, float]:
    """The self-supervised loss (eq. 6, last iteration) and its terms over every frame the network
    sees, weighted by frame count, and the median pixel error of the regressed COCO-17 joints
    against the detections (confidence > 0)."""
    was_training = method.training
    method.eval()
    sums: dict[str, float] = {}
    count = 0
    pixel_errors = []
    try:
        for capture, prep, cache in zip(captures, prepared, caches):
            rig = capture.inputs.rig.to(dtype=torch.float32, device="cpu")
            frames = torch.nonzero(prep.ok).flatten()
            for lo in range(0, len(frames), batch_size):
                idx = frames[lo: lo + batch_size]
                pred = method.regress_frames(prep, idx)[-1]
                target = cached_bodies(method.body_model, cache, idx)
                terms = loss_terms(pred, target, rig, prep.keypoints[idx], prep.scale[idx], cache.valid[idx].float(),
                                   config)
                values = {"loss": losses.collaborative_loss(terms, config.weights),
                          **{f"loss_{k}": v for k, v in terms.items()}}
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
                count += len(idx)
                detected = prep.keypoints[idx]
                err = (rig.project(pred["joints3d"]) - detected[..., :2]).norm(dim=-1)
                pixel_errors.append(err[detected[..., 2] > 0])
    finally:
        method.train(was_training)
    out = {k: v / max(count, 1) for k, v in sums.items()}
    out["regressor_px"] = float(torch.cat(pixel_errors).median()) if pixel_errors else float("nan")
    out["frames"] = count
    return out


class CollaborativeSteps:
    """The collaborative loop's steps for a regressor that offers ``prepare``, ``regress_frames`` and
    ``sequence_params`` (volumetric). A method with its own steps (CMANet's stage 2) returns an object
    with the same five methods from ``method.adaptation_steps()`` (:func:`steps_for`)."""

    def __init__(self, method):
        self.method = method

    def check_adapt_config(self, config) -> None:
        return None

    def prepare(self, inputs):
        return self.method.prepare(inputs)

    def initial_cache(self, capture: Capture, prepared, config) -> FitCache:
        return initial_cache(capture, config.fit_config().sigma_2d_px, config.fit_mode)

    def refit(self, capture: Capture, prepared, cache: FitCache, config) -> dict[str, float]:
        return refit(self.method, capture, prepared, cache, config.fit_config(), config.fit_mode)

    def capture_loss(self, capture: Capture, prepared, cache: FitCache, frames: Tensor, config, shards=None):
        return capture_loss(self.method, capture, prepared, cache, frames, config, shards)

    def evaluate(self, captures: list[Capture], prepared: list, caches: list[FitCache], config) -> dict[str, float]:
        return evaluate(self.method, captures, prepared, caches, config)

    def cache_from_state(self, state: dict) -> FitCache:
        return FitCache.from_state(state)


def steps_for(method):
    """The adapt loop's steps for ``method``: its own (``method.adaptation_steps()``) or the collaborative loop's."""
    own = getattr(method, "adaptation_steps", None)
    return own() if callable(own) else CollaborativeSteps(method)
