"""CMANet's stage 1 on CRA: ``mvmocap adapt --method cra`` trains the per-view regressor on a user's captures.

CMANet (../shared/papers/cmanet-selfsupervised-multiview.txt, 3.5) trains its intra-view module first,
per view, against the view's confidence-filtered 2D keypoints (eq. 1) and SMPLify of that view alone
started from the module's estimate (eq. 2; eq. 3 = alpha eq. 1 + gamma eq. 2). In the product the per-view
regressor is CRA (:mod:`mvmocap.regressors.cra`), so stage 1 fine-tunes CRA's weights, all of them, with no
3D label. The result is a ``cra`` checkpoint (config ``method: cra``, weights under ``net.``):
``reconstruct --method cra --checkpoint DIR/checkpoint.pt`` or ``$MVMOCAP_CRA_CHECKPOINT`` load it, and
with that variable set ``mvmocap adapt --method cmanet`` trains stage 2 on the adapted, frozen stage 1
(CMANet's two stages) and ``reconstruct --method cmanet`` runs them.

It brings its own steps to the adapt loop (as :mod:`mvmocap.regressors.cmanet.adaptation`):

* :meth:`CraAdaptation.prepare`: CRA's evidence (heatmaps, silhouette or IUV) of every view that saw the
  person, once per capture (:func:`~mvmocap.regressors.cra.inference.real_evidence`), and the keypoints;
* the "cache" is :class:`~mvmocap.regressors.cmanet.adaptation.ViewTargets` per view: each view's SMPLify
  (:func:`~mvmocap.regressors.cmanet.on_cra.view_targets` with ``share_body=False``), solved again at every
  refit from the network's current estimate;
* the step loss: CRA's final prediction of the step's views against the targets (orientation in camera axes,
  pose as matrices, 0.001 x betas) plus its weak projection against the detections (crop units, the
  confidences filtered by CRA's own ``MIN_CONFIDENCE``), both means over the step's views;
* the drift guard (``--synthetic-every``): the same loss against the *true* parameters of a few synthetic
  captures of the training domain (:mod:`mvmocap.regressors.cmanet.source`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.regressors.cmanet.adaptation import StageAdaptation, ViewTargets
from mvmocap.regressors.cmanet.on_cra import stage2_step_loss, view_keypoints, view_targets
from mvmocap.regressors.cra.inputs import ViewEvidence
from mvmocap.regressors.cra.model import BodyDecoder, CRANet


@dataclass
class PreparedEvidence:
    """One capture as stage 1 reads it (computed once): ``evidence`` CRA's input for the ``N`` views that saw
    the person, ``row (F, C)`` each view's row in it (-1: none), ``crops (F, C, 3)``, ``valid (F, C)``,
    ``kp23 (F, C, 23, 3)`` pinhole pixels + confidence, ``K (C, 3, 3)`` and ``ok (F,)``: frames with a view."""

    evidence: ViewEvidence
    row: Tensor
    crops: Tensor
    valid: Tensor
    kp23: Tensor
    K: Tensor
    ok: Tensor


class CraAdaptation(StageAdaptation):
    """See the module docstring. ``net``: the CRA network being trained (a copy of the loaded one)."""

    def __init__(self, net: CRANet, body_model):
        super().__init__(net, body_model)
        self._decoder = BodyDecoder.for_body(self._body[1], int(net.options["parts"]), int(net.options["render_stride"]))

    def check_adapt_config(self, config) -> None:
        if config.fit_mode == "uncalibrated":
            raise InputError("adapt --method cra: its targets are SMPLify of each view alone (CMANet's stage 1): "
                             "--fit uncalibrated does not apply")

    def prepare(self, inputs) -> PreparedEvidence:
        from mvmocap.regressors.cra.inference import assemble_views, real_evidence

        evidence, crops, valid = real_evidence(inputs, self.net.options)
        row = torch.full(valid.shape, -1, dtype=torch.long)
        row[valid] = torch.arange(int(valid.sum()))
        kp23, _, _ = view_keypoints(inputs, assemble_views(None, crops, valid))  # it reads the crops and validity
        return PreparedEvidence(evidence, row, crops, valid, kp23, inputs.rig.K.detach().cpu().to(torch.float64),
                                valid.any(-1))

    def initial_cache(self, capture, prepared: PreparedEvidence, config) -> ViewTargets:
        return ViewTargets.empty(*prepared.valid.shape, per_view=True)

    def refit(self, capture, prepared: PreparedEvidence, cache: ViewTargets, config) -> dict[str, float]:
        """Each view's SMPLify again, from the network's current estimate of every view."""
        began = time.perf_counter()
        views = self.views(prepared)
        cache.orient, cache.pose, cache.betas = view_targets(prepared.kp23, views, prepared.K, self.body_model,
                                                             share_body=False)
        from_network = int(cache.solved.sum())
        cache.solved = torch.ones_like(cache.solved)
        return {"solved_frames": int(cache.solved.numel()), "from_module": from_network,
                "seconds": round(time.perf_counter() - began, 2)}

    def views(self, prepared: PreparedEvidence):
        """The network's :class:`~mvmocap.regressors.cra.views.ViewBodies` of every view (eval mode, no gradients)."""
        from mvmocap.regressors.cra.inference import assemble_views, predict

        was_training = self.training
        self.eval()
        try:
            pred = predict(self.net, self._decoder, prepared.evidence) if bool(prepared.valid.any()) else None
        finally:
            self.train(was_training)
        return assemble_views(pred, prepared.crops, prepared.valid)

    def capture_loss(self, capture, prepared: PreparedEvidence, cache: ViewTargets, frames: Tensor, config,
                     shards=None) -> tuple[Tensor, dict[str, float]]:
        """Stage 1's loss on the views of ``frames (B,)``; under ``torchrun`` each term's count is the whole step's."""
        return stage2_step_loss(self._parts(prepared, cache.orient, cache.pose, cache.betas, frames), shards)

    def _decoded(self, prepared: PreparedEvidence, frames: Tensor) -> tuple[ViewEvidence, dict[str, Tensor], Tensor]:
        """The network on the views of ``frames`` that saw the person: their evidence, its decoded final
        prediction and the mask ``seen (B, C)`` of those views."""
        seen = prepared.valid[frames]
        evidence = prepared.evidence.rows(prepared.row[frames][seen])
        return evidence, self._decoder.decode(self.net(evidence, self._decoder)["theta"]), seen

    def _parts(self, prepared: PreparedEvidence, orient: Tensor, pose: Tensor, betas: Tensor, frames: Tensor,
               decoded: tuple | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """``{term: (sum, count)}`` of the views of ``frames`` against per-view targets ``orient (F, C, 3, 3)``,
        ``pose (F, C, 23, 3, 3)``, ``betas (F, C, 10)`` (``decoded``: :meth:`_decoded`'s, if already run)."""
        evidence, pred, seen = decoded or self._decoded(prepared, frames)
        w = evidence.confidence
        views = torch.tensor(float(int(seen.sum())))
        return {
            "2d": ((w * ((pred["joints2d"] - evidence.joints) ** 2).sum(-1)).sum(), w.sum()),
            "orient": (((pred["global_orient"] - orient[frames][seen]) ** 2).sum((-1, -2)).sum(), views),
            "pose": (((pred["body_pose"] - pose[frames][seen]) ** 2).sum((-1, -2, -3)).sum(), views),
            "betas": (((pred["betas"] - betas[frames][seen]) ** 2).sum(-1).sum(), views),
        }

    def _evaluate_frames(self, prepared: PreparedEvidence, cache: ViewTargets, frames: Tensor) -> tuple[Tensor, Tensor]:
        """Stage 1's loss on the views of ``frames`` and the network's weak-projection errors there, in pixels
        of the image (CRA's crop side / 2 per normalised unit)."""
        decoded = self._decoded(prepared, frames)
        loss, _ = stage2_step_loss(self._parts(prepared, cache.orient, cache.pose, cache.betas, frames, decoded))
        evidence, pred, seen = decoded
        pixels = (pred["joints2d"] - evidence.joints).norm(dim=-1) * prepared.crops[frames][seen][:, 2:] / 2
        return loss, pixels[evidence.confidence > 0]

    # -- the drift guard (--synthetic-every) ---------------------------------------------------------------
    def labelled_source(self, pairs, config, shards) -> Callable[[int], Tensor]:
        """``(SyntheticCapture, MethodInputs)`` pairs -> step -> stage 1's loss against the true parameters of
        ``config.synthetic_batch`` frames per process (every view of them that saw the person)."""
        from mvmocap.regressors.cmanet.source import SourceFrames, true_view_parameters

        prepared = [self.prepare(inputs) for _, inputs in pairs]
        truths = [true_view_parameters(truth, inputs) for truth, inputs in pairs]
        frames = SourceFrames([p.ok for p in prepared], config.synthetic_batch * shards.world, config.seed)

        def step_loss(step: int) -> Tensor:
            which, idx = frames.frames_of_step(step)
            if shards is not None and shards.enabled:
                idx = shards.mine(idx)
            orient, pose, betas = truths[which]
            C = orient.shape[1]
            per_view_pose = pose[:, None].expand(-1, C, -1, -1, -1)
            per_view_betas = betas[:, None].expand(-1, C, -1)
            return stage2_step_loss(self._parts(prepared[which], orient, per_view_pose, per_view_betas, idx), shards)[0]

        return step_loss


def load_for_adaptation(checkpoint: str | Path | None, body_model) -> tuple[CraAdaptation, dict[str, Any], None]:
    """CRA to train (a copy: the loaded network is cached for inference), its run config
    (``{"method": "cra", "model": options}``) and None (the runs' body model is used). ``checkpoint``: a CRA
    checkpoint (slim export, ``train-synthetic`` or ``adapt --method cra`` run); None: ``$MVMOCAP_CRA_CHECKPOINT``,
    else the shipped CRA-S. Another method's or a damaged checkpoint -> :class:`FileFormatError`."""
    from mvmocap.regressors.cra.inference import load_network

    path = None if checkpoint is None else Path(checkpoint)
    net, _ = load_network(None if path is None else (path / "checkpoint.pt" if path.is_dir() else path))
    method = CraAdaptation(copy.deepcopy(net).train(), body_model)
    return method, {"method": "cra", "model": dict(method.net.options)}, None
