"""What every estimation method reads (:class:`MethodInputs`), and the fit as a method.

A *method* turns :class:`MethodInputs` into :class:`mvmocap.fit.smplify.FitResult`: the fit
(:func:`run_fit`, multi-view SMPLify from a geometric start or from given parameters), or a learned
regressor's parameters as they are (:func:`evaluate_params`). Which methods exist, and how a
``--method`` spec (``fit``, ``<regressor>``, ``<regressor>+fit``) resolves, is the registry's
business: :mod:`mvmocap.methods`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch
from torch import Tensor

from mvmocap.body.params import BodyParams
from mvmocap.fit.smplify import FitConfig, FitResult, fit_sequence
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.frame_rig import FrameRig


@dataclass
class MethodInputs:
    """Everything a method may use; each method takes what it needs.

    Attributes:
        keypoints_2d: ``(F, C, 23, 3)`` pixels + confidence, COCO-23, cameras in ``rig`` order.
        rig: calibrated cameras (world +Z up, metres): a :class:`CameraRig`, or a
            :class:`~mvmocap.geometry.frame_rig.FrameRig` of the ``F`` frames (cameras that move,
            or estimated per frame by a method that needs no calibration).
        body_model: a :mod:`mvmocap.body` model.
        joints3d: ``(F, 23, 3)`` metres or None; joints3d_confidence ``(F, 23)`` or None.
        config: the fit configuration.
        extras: stage outputs a learned method may want (e.g. ``"detections"``,
            ``"videos"``: paths; ``"frames"``: the positions in the full sequence when these
            inputs are a part of it, :meth:`frames`); free-form, documented by each method.
    """

    keypoints_2d: Tensor
    rig: CameraRig | FrameRig
    body_model: Any
    joints3d: Tensor | None = None
    joints3d_confidence: Tensor | None = None
    config: FitConfig = field(default_factory=FitConfig)
    extras: dict[str, Any] = field(default_factory=dict)
    progress: bool = True

    def frames(self, frames: Tensor) -> "MethodInputs":
        """These inputs at the frame positions ``frames (K,)``: keypoints, joints and the
        ``"detections"`` extra (a :class:`mvmocap.detect.detections.Detections`) and a per-frame rig are sliced, and
        ``extras["frames"]`` holds the positions (in the full sequence); other extras are passed
        on as they are."""
        from mvmocap.detect.detections import Detections

        idx = torch.as_tensor(frames, dtype=torch.long).reshape(-1)
        extras = dict(self.extras)
        extras["frames"] = idx if "frames" not in extras else torch.as_tensor(extras["frames"])[idx]
        if isinstance(extras.get("detections"), Detections):
            extras["detections"] = extras["detections"].subset_frames(idx.numpy())
        pick = lambda value: None if value is None else torch.as_tensor(value)[idx]  # noqa: E731
        rig = self.rig.frames(idx) if isinstance(self.rig, FrameRig) else self.rig
        return replace(self, keypoints_2d=pick(self.keypoints_2d), rig=rig, joints3d=pick(self.joints3d),
                       joints3d_confidence=pick(self.joints3d_confidence), extras=extras)


def run_fit(inputs: MethodInputs, init: BodyParams | Callable[[Tensor], BodyParams] | None = None) -> FitResult:
    """SMPLify from ``init`` (see :func:`mvmocap.fit.smplify.fit_sequence`; None: geometric initialisation)."""
    return fit_sequence(
        inputs.keypoints_2d,
        inputs.rig,
        inputs.body_model,
        joints3d=inputs.joints3d,
        joints3d_confidence=inputs.joints3d_confidence,
        config=inputs.config,
        init=init,
        progress=inputs.progress,
    )


def evaluate_params(inputs: MethodInputs, params: BodyParams) -> FitResult:
    """A :class:`FitResult` for given parameters (no optimisation): keypoints and reprojection errors."""
    from mvmocap.fit.model import KeypointModel
    from mvmocap.fit.smplify import rest_height
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    model = KeypointModel(inputs.body_model, dtype=torch.float32, device="cpu")
    p = params.to(dtype=torch.float32, device="cpu")
    kp = torch.as_tensor(inputs.keypoints_2d).to(torch.float32)
    with torch.no_grad():
        points = model(axis_angle_to_matrix(p.global_orient), p.body_pose, p.betas, p.transl)
        rig = inputs.rig.to(dtype=torch.float32, device="cpu")
        reprojection = (rig.project(points) - kp[..., :2]).norm(dim=-1)
        height = rest_height(model, p.betas)
    return FitResult(p, points, reprojection, (kp[..., 2] > 0) & model.available, height_m=height)
