"""The volumetric network as ``mvmocap adapt`` trains it on a user's own captures (issue #24).

:class:`VolumetricAdaptation` is the ``train-synthetic`` method :class:`VolumetricMethod` (same
parameters, same ``state_dict``: an adapted run's ``checkpoint.pt`` is a ``train-synthetic``
checkpoint that ``MVMOCAP_VOLUMETRIC_CHECKPOINT`` and :func:`load_network` read) plus what the
adaptation loop (:mod:`mvmocap.adapt`) needs on real captures:

* :meth:`prepare`: a capture's ``MethodInputs`` -> the network's input for every frame (computed
  once; :class:`PreparedCapture`);
* :meth:`regress_frames`: the network on some frames, with gradients -> one decoded body per IEF
  iteration;
* :meth:`sequence_params`: the network's :class:`BodyParams` of a whole capture, SMPLify's start.

:func:`load_for_adaptation` builds it from the shipped checkpoint, an exported one, or a run's
``checkpoint.pt``, and refuses a checkpoint of another method. The adaptation never reads ground
truth; only :meth:`VolumetricMethod.loss` on labelled *synthetic* batches does (the drift guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.io.torch_files import load_checkpoint_file
from mvmocap.regressors.slim import FORMAT, RUN_FORMAT, checkpoint_owner
from mvmocap.regressors.volumetric.inference import (
    checkpoint_file, keypoint_crops, predict, prediction_params, real_views,
)
from mvmocap.regressors.volumetric.model import DEFAULT_OPTIONS, ViewBatch
from mvmocap.regressors.volumetric.training import VolumetricMethod

NUM_JOINTS = 17


@dataclass
class PreparedCapture:
    """The network's view of one capture, for every frame.

    Attributes:
        views: the network input (:class:`ViewBatch`, F frame-sets).
        ok: ``(F,)`` bool, frames the network can see (two views, a triangulable pelvis).
        keypoints: ``(F, C, 17, 3)`` float32 detected COCO-17 pixels (distorted, as detected) and
            confidence (0 = missing).
        scale: ``(F, C)`` pixels, the side of the person's square crop in each view (the unit of
            the 2D loss: errors are expressed in crop widths, ``2 * px / scale``, as the network's
            own 2D loss uses [-1, 1] across the crop).
    """

    views: ViewBatch
    ok: Tensor
    keypoints: Tensor
    scale: Tensor

    @property
    def num_frames(self) -> int:
        return int(self.ok.shape[0])


class VolumetricAdaptation(VolumetricMethod):
    """See the module docstring. ``forward`` / ``loss`` stay :class:`VolumetricMethod`'s (synthetic batches)."""

    def prepare(self, inputs) -> PreparedCapture:
        """``MethodInputs`` (keypoints, calibrated rig, triangulated joints, detections with masks
        when there are any) -> :class:`PreparedCapture`."""
        from mvmocap.geometry.projection import normalized_to_pixels, undistort_points

        with torch.no_grad():
            views, ok = real_views(inputs, self.net.options)
            kp = torch.as_tensor(inputs.keypoints_2d).to(torch.float64)[..., :NUM_JOINTS, :]
            rig = inputs.rig.to(dtype=torch.float64, device="cpu")
            dist = rig.dist if bool(rig.dist.abs().max() > 0) else None
            ideal = normalized_to_pixels(undistort_points(kp[..., :2], rig.K, dist), rig.K)
            scale = keypoint_crops(ideal, kp[..., 2].clamp(0, 1))[..., 2]
        return PreparedCapture(views, ok, kp.float(), scale.float().clamp(min=1.0))

    def regress_frames(self, prepared: PreparedCapture, frames: Tensor) -> list[dict[str, Tensor]]:
        """The network on ``frames (B,)`` of a prepared capture: one :func:`decode` dict per IEF
        iteration (``global_orient (B, 3, 3)``, ``body_pose (B, 23, 3, 3)``, ``betas (B, 10)``,
        ``transl (B, 3)``, ``joints3d (B, 17, 3)``, ``vertices (B, V, 3)`` world metres), with
        gradients; every iteration in training mode, the last one in eval mode."""
        return self.predict(prepared.views.rows(frames))["iterations"]

    def sequence_params(self, inputs, prepared: PreparedCapture, batch_size: int = 32):
        """The network's :class:`BodyParams` for every frame of the capture (no gradients), as
        ``--method volumetric-net`` gives them: SMPLify's start in the adaptation loop."""
        was_training = self.training
        self.eval()
        try:
            pred = predict(self.net, prepared.views, self.body_model, batch_size)
        finally:
            self.train(was_training)
        return prediction_params(inputs, self.body_model, prepared.views, prepared.ok, pred, keypoint_ik=False)


def _train_config_of(payload: dict, file: Path) -> dict[str, Any]:
    """The ``train-synthetic`` config behind a checkpoint payload (either format), checked to be volumetric's."""
    owner = checkpoint_owner(payload)
    if owner is None:
        raise FileFormatError(file, f"not a volumetric checkpoint ({RUN_FORMAT} or {FORMAT})")
    if owner != "volumetric":
        raise InputError(f"{file}: a checkpoint of method {owner!r}, not volumetric: adapt --method volumetric "
                         "needs a volumetric checkpoint")
    if payload.get("format") == RUN_FORMAT:
        if not isinstance(payload.get("model"), dict):
            raise FileFormatError(file, f"damaged {RUN_FORMAT} checkpoint")
        return payload["config"]
    config = dict(payload.get("train_config") or {"method": "volumetric"})
    config["model"] = {**dict(config.get("model") or {}), **payload["options"]}
    return config


def load_for_adaptation(checkpoint: str | Path | None, body_model) -> tuple[VolumetricAdaptation, dict[str, Any], str | None]:
    """The network to adapt, its ``train-synthetic`` config (the checkpoint's, without ``init_from``)
    and the body model it was trained with (None when unrecorded).

    ``checkpoint``: a shipped/exported ``volumetric.pt``, a run folder or its ``checkpoint.pt``
    (``train-synthetic`` or ``adapt``); None = ``$MVMOCAP_VOLUMETRIC_CHECKPOINT`` or the shipped one.
    Raises :class:`InputError` for a checkpoint of another method, :class:`FileFormatError` for a
    damaged one, :class:`MissingFileError` when there is none.
    """
    from mvmocap.synth.dataset import SynthConfig

    path = Path(checkpoint) if checkpoint is not None else checkpoint_file(None)
    file = path / "checkpoint.pt" if path.is_dir() else path
    if not file.is_file():
        raise MissingFileError(file, "volumetric checkpoint to adapt")
    payload = load_checkpoint_file(file, "volumetric checkpoint")  # weights_only: no code runs
    if not isinstance(payload, dict):
        raise FileFormatError(file, "not a volumetric checkpoint")
    config = _train_config_of(payload, file)
    model_options = {k: v for k, v in dict(config.get("model") or {}).items() if k != "init_from"}
    config = {**config, "method": "volumetric", "model": model_options}
    data_cfg = SynthConfig.from_dict({**dict(config.get("data") or {}), **VolumetricMethod.data_overrides})
    method = VolumetricAdaptation(model_options, data_cfg, body_model)
    try:
        if payload.get("format") == FORMAT:
            weights = payload["weights"]
        else:
            weights = {k[len("net."):]: v for k, v in payload["model"].items() if k.startswith("net.")}
        method.net.load_state_dict(weights)
    except (KeyError, TypeError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise FileFormatError(file, f"damaged volumetric checkpoint ({type(exc).__name__}: {first})") from None
    unknown = sorted(set(method.net.options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise FileFormatError(file, f"unknown network options {', '.join(unknown)}")
    return method, config, payload.get("body_model_name")
