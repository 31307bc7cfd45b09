"""CMANet's stage 2 as ``mvmocap adapt --method cmanet`` trains it on a user's reconstruct folders (issue #24).

:class:`CmanetAdaptation` holds the inter-view module (:class:`~mvmocap.regressors.cmanet.on_cra.ViewFusion`,
as ``net``); stage 1 (CRA, pretrained, frozen) only supplies each capture's per-view bodies, once, in
:meth:`prepare`. It brings its own steps to the adapt loop (:meth:`adaptation_steps`), with the same
signatures as the collaborative loop's (:class:`mvmocap.adapt.steps.CollaborativeSteps`), so the loop,
its metrics JSONL, progress display, checkpoints, ``--resume`` and ``torchrun`` path are shared:

* the "cache" is :class:`ViewTargets`: per frame, the uncalibrated multi-view SMPLify of the views
  (:func:`~mvmocap.regressors.cmanet.on_cra.view_targets`: per-view orientation, shared pose and shape);
* a refit solves it again for every frame of a capture: from CRA's views the first time (step 0), from
  the module's current canonical result afterwards (the paper re-solves from the canonical result;
  the new targets replace the old ones);
* the step loss is stage 2's (eq. 4-6, :func:`~mvmocap.regressors.cmanet.on_cra.stage2_parts`), its
  denominators summed over the processes when there are several;
* ``eval``: that loss over every usable frame, and the module's median weak-projection error in pixels.

The run's ``checkpoint.pt`` (config ``method: cmanet``, weights under ``net.``) is what
``reconstruct --method cmanet --checkpoint`` and ``$MVMOCAP_CMANET_CHECKPOINT`` load
(:func:`~mvmocap.regressors.cmanet.on_cra.load_fusion`). No ground truth is read: only the captures'
detections, cameras and CRA's views of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mvmocap.errors import InputError
from mvmocap.regressors.cmanet.on_cra import (
    NUM_BETAS, CaptureViews, _betas, ViewFusion, read_fusion, stage2_combine, stage2_parts, stage2_step_loss,
    view_keypoints, view_targets, weak_projections,
)
from mvmocap.regressors.cra.views import ViewBodies

INIT_SEED = 0  # the untrained module's attention weights (its heads start at zero: it returns the start)


@dataclass
class PreparedViews:
    """One capture as stage 2 sees it (computed once): CRA's ``views`` (F frames, C views), the keypoints
    ``kp23 (F, C, 23, 3)`` pinhole pixels, ``uv (F, C, 17, 2)`` crop units with ``confidence (F, C, 17)``,
    the intrinsics ``K (C, 3, 3)`` and ``ok (F,)``: frames at least two views saw."""

    views: ViewBodies
    kp23: Tensor
    uv: Tensor
    confidence: Tensor
    K: Tensor
    ok: Tensor


@dataclass
class ViewTargets:
    """Stage 2's targets of one capture: ``orient (F, C, 3, 3)``, ``pose (F, 23, 3, 3)``, ``betas (F, 10)``
    (stage 1's: ``(F, C, 23, 3, 3)`` and ``(F, C, 10)``, one per view) and ``solved (F,)`` bool (frames solved
    at least once). ``FIELDS``: what a ``torchrun`` broadcast copies."""

    FIELDS: ClassVar[tuple[str, ...]] = ("orient", "pose", "betas", "solved")
    orient: Tensor
    pose: Tensor
    betas: Tensor
    solved: Tensor

    @classmethod
    def empty(cls, frames: int, views: int, per_view: bool = False) -> "ViewTargets":
        """Unsolved targets; ``per_view``: a pose ``(F, C, 23, 3, 3)`` and betas ``(F, C, 10)`` per view (stage 1's)."""
        eye = torch.eye(3)
        body = (frames, views) if per_view else (frames,)
        return cls(eye.expand(frames, views, 3, 3).clone(), eye.expand(*body, 23, 3, 3).clone(),
                   torch.zeros(*body, NUM_BETAS), torch.zeros(frames, dtype=torch.bool))

    def state_dict(self) -> dict[str, Tensor]:
        return {name: getattr(self, name).clone() for name in self.FIELDS}

    @classmethod
    def from_state(cls, state: dict[str, Tensor]) -> "ViewTargets":
        return cls(**{name: state[name] for name in cls.FIELDS})


class StageAdaptation(nn.Module):
    """What CMANet's two stages share as adapt methods (this module's stage 2, and stage 1 on CRA,
    :mod:`mvmocap.regressors.cmanet.intra_view`): ``net``, the network trained; the body model (as given, for
    the targets' fits, and float32 for the losses); the targets cache (:class:`ViewTargets`); the drift
    guard's source captures; and :meth:`evaluate` over the frames of each capture, from the stage's own
    ``_evaluate_frames(prepared, cache, frames) -> (loss, pixel errors)``."""

    def __init__(self, net: nn.Module, body_model):
        super().__init__()
        self.net = net
        self._body = [body_model, body_model.to(dtype=torch.float32)]  # not submodules, not in state_dict

    @property
    def body_model(self):
        return self._body[0]

    def adaptation_steps(self) -> "StageAdaptation":
        return self

    def cache_from_state(self, state: dict[str, Tensor]) -> ViewTargets:
        return ViewTargets.from_state(state)

    def source_sequences(self) -> list:
        """The drift guard's synthetic captures (:mod:`mvmocap.regressors.cmanet.source`): ``SequenceConfig`` each."""
        from mvmocap.regressors.cmanet.source import source_sequences

        return source_sequences()

    def evaluate(self, captures, prepared: list, caches: list[ViewTargets], config) -> dict[str, float]:
        """The stage's loss over every usable frame (``prepared.ok``) of every capture and the network's median
        pixel error against the detections (confidence > 0)."""
        was_training = self.training
        self.eval()
        losses, errors, weights = [], [], []
        try:
            with torch.no_grad():
                for prep, cache in zip(prepared, caches):
                    idx = torch.nonzero(prep.ok).flatten()
                    if len(idx) == 0:
                        continue
                    loss, pixels = self._evaluate_frames(prep, cache, idx)
                    losses.append(float(loss))
                    weights.append(len(idx))
                    errors.append(pixels)
        finally:
            self.train(was_training)
        pixels = torch.cat(errors) if errors else torch.zeros(0)
        total = sum(w * v for w, v in zip(weights, losses)) / max(sum(weights), 1)
        return {"loss": float(total), "regressor_px": float(pixels.median()) if len(pixels) else float("nan")}


class CmanetAdaptation(StageAdaptation):
    """See the module docstring. ``net``: the trained :class:`ViewFusion`."""

    # -- the adapt loop's steps ------------------------------------------------------------------------
    def check_adapt_config(self, config) -> None:
        if config.fit_mode == "single-view":
            raise InputError("adapt --method cmanet: its targets are the multi-view SMPLify of the views "
                             "(shared pose and shape): --fit single-view does not apply")

    def prepare(self, inputs) -> PreparedViews:
        """CRA (stage 1, frozen; its default or ``$MVMOCAP_CRA_CHECKPOINT`` checkpoint) on every view of
        every frame, and the keypoints in each view's crop."""
        from mvmocap.regressors.cra.inference import predict_views

        with torch.no_grad():
            views = predict_views(inputs)
            kp23, uv, confidence = view_keypoints(inputs, views)
        return PreparedViews(views, kp23, uv, confidence, inputs.rig.K.detach().cpu().to(torch.float64),
                             views.valid.sum(-1) >= 2)

    def initial_cache(self, capture, prepared: PreparedViews, config) -> ViewTargets:
        return ViewTargets.empty(*prepared.views.valid.shape)

    def refit(self, capture, prepared: PreparedViews, cache: ViewTargets, config) -> dict[str, float]:
        """Solve the targets of every frame again (CRA's views where never solved, else the module's result)."""
        began = time.perf_counter()
        was_training = self.training
        self.eval()
        with torch.no_grad():
            refined = self.net(prepared.views)
        self.train(was_training)
        start = _where(cache.solved, refined, prepared.views) if bool(cache.solved.any()) else prepared.views
        orient, pose, betas = view_targets(prepared.kp23, start, prepared.K, self.body_model)
        from_module = int(cache.solved.sum())
        cache.orient, cache.pose, cache.betas = orient, pose, betas
        cache.solved = torch.ones_like(cache.solved)
        return {"solved_frames": int(cache.solved.numel()), "from_module": from_module,
                "seconds": round(time.perf_counter() - began, 2)}

    def capture_loss(self, capture, prepared: PreparedViews, cache: ViewTargets, frames: Tensor, config,
                     shards=None) -> tuple[Tensor, dict[str, float]]:
        """Stage 2's loss on ``frames (B,)``; under ``torchrun`` each term's count is the whole step's."""
        data = _batch(prepared, cache, frames)
        return stage2_step_loss(stage2_parts(self.net(data.views), data, self._body[1]), shards)

    def _evaluate_frames(self, prepared: PreparedViews, cache: ViewTargets, frames: Tensor) -> tuple[Tensor, Tensor]:
        """Stage 2's loss on ``frames`` and the module's weak-projection errors there, in pixels."""
        data = _batch(prepared, cache, frames)
        refined = self.net(data.views)
        loss, _ = stage2_combine(stage2_parts(refined, data, self._body[1]))
        return loss, _pixel_errors(refined, data, self._body[1])

    def labelled_source(self, pairs, config, shards):
        """``pairs``: ``(SyntheticCapture, MethodInputs)`` of :meth:`source_sequences` -> a function of the step
        giving the labelled loss (stage 2 against the true parameters) of ``config.synthetic_batch`` frames
        per process (:func:`~mvmocap.regressors.cmanet.source.stage2_source_loss`)."""
        from mvmocap.regressors.cmanet.source import labelled_views, stage2_source_loss
        from mvmocap.regressors.cra.inference import predict_views

        with torch.no_grad():
            captures = [labelled_views(truth, inputs, predict_views(inputs)) for truth, inputs in pairs]
        return stage2_source_loss(self.net, self._body[1], captures, config.synthetic_batch * shards.world,
                                  config.seed, shards)


def _where(mask: Tensor, a: ViewBodies, b: ViewBodies) -> ViewBodies:
    """Per frame ``(F,)``: ``a``'s bodies where ``mask``, else ``b``'s (crops, residuals, validity: ``b``'s)."""
    def pick(x: Tensor, y: Tensor) -> Tensor:
        return torch.where(mask.view(-1, *([1] * (x.dim() - 1))), x.float(), y.float())

    return ViewBodies(pick(a.global_orient, b.global_orient), pick(a.body_pose, b.body_pose),
                      pick(_betas(a), _betas(b)), pick(a.weak_camera, b.weak_camera), b.crops, b.residual, b.valid)


def _batch(prepared: PreparedViews, cache: ViewTargets, frames: Tensor) -> CaptureViews:
    return CaptureViews(prepared.views.frames(frames), prepared.uv[frames], prepared.confidence[frames], cache.orient[frames],
                        cache.pose[frames], cache.betas[frames])


def _pixel_errors(refined: ViewBodies, data: CaptureViews, body_model) -> Tensor:
    """Pixel distances of each confident keypoint from the refined body's weak projection in its view."""
    projected = weak_projections(refined, body_model)
    pixels = (projected - data.uv).norm(dim=-1) * refined.crops[..., None, 2].float() / 2
    return pixels[data.confidence > 0]


def load_for_adaptation(checkpoint: str | Path | None, body_model) -> tuple[CmanetAdaptation, dict[str, Any], None]:
    """The inter-view module to train, its run config (``{"method": "cmanet", "model": options}``) and None (it
    was not trained on a body model of its own: CRA's views come in, the runs' body model is used).

    ``checkpoint``: None = a fresh module (seed ``INIT_SEED``: it returns CRA's screened start); else a cmanet
    export, an adapt run folder or its ``checkpoint.pt`` (continue training it). Another method's or a damaged
    checkpoint -> :class:`FileFormatError` (:func:`~mvmocap.regressors.cmanet.on_cra.read_fusion`)."""
    if checkpoint is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(INIT_SEED)
            method = CmanetAdaptation(ViewFusion(None), body_model)
    else:
        path = Path(checkpoint)
        method = CmanetAdaptation(read_fusion(path / "checkpoint.pt" if path.is_dir() else path), body_model)
    return method, {"method": "cmanet", "model": dict(method.net.options)}, None
