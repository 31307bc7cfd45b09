"""The ``train-synthetic`` method ``cra``: synthetic multi-view samples, every view a training
example of the single-view network (paper sec. 3.2, 4.2).

Each view's evidence is what a detector would give at test time: heatmaps of the noisy
keypoints (the dataset's detector model, occluders and 2D jitter), and the IUV crop rendered from
the true mesh (or its silhouette, for CRA-S), with the paper's PartDrop (one of six coarse parts
masked) while training. The network's crop is the dataset's ``render_size``. CRA-S's silhouette is
read from the IUV render (part > 0) so that PartDrop removes whole coarse parts from it too.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.regressors.cra.alignment import root_of
from mvmocap.regressors.cra.inputs import ViewEvidence, drop_coarse_part, normalised, view_evidence
from mvmocap.regressors.cra.losses import HomoscedasticWeights, regression_terms
from mvmocap.regressors.cra.model import DEFAULT_OPTIONS, BodyDecoder, CRANet
from mvmocap.synth.evidence import to_crop
from mvmocap.train.base import SyntheticMethod

AUGMENT_DEFAULTS = {"part_drop": 0.3}


def flat_views(x: Tensor) -> Tensor:
    """``(B, C, ...)`` -> ``(B * C, ...)``."""
    return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])


def synthetic_evidence(batch: dict, options: dict[str, Any], part_drop: float = 0.0,
                       generator: torch.Generator | None = None) -> ViewEvidence:
    """The network's input for every view of a synthetic ``batch`` (``iuv``, ``keypoints_crop``)."""
    labels = flat_views(batch["iuv"])
    if part_drop > 0:
        labels = drop_coarse_part(labels, part_drop, generator)
    return view_evidence(flat_views(batch["keypoints_crop"]), labels, int(options["parts"]), float(options["sigma"]))


def view_targets(batch: dict, crop: int, stride: int) -> dict[str, Tensor]:
    """Per-view ground truth ``(B * C, ...)`` in each camera's axes (see :mod:`.losses`)."""
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    R = batch["R"]  # (B, C, 3, 3)
    joints = batch["joints3d"]
    origin = root_of(joints)  # (B, 1, 3)
    # cam[b, c, n, i] = sum_k R[b, c, i, k] * world[b, n, k]
    to_cam = lambda pts: torch.einsum("bcik,bnk->bcni", R, pts - origin)  # noqa: E731
    C = R.shape[1]
    go = axis_angle_to_matrix(batch["global_orient"])  # (B, 3, 3)
    pose = axis_angle_to_matrix(batch["body_pose"])[:, None].expand(-1, C, -1, -1, -1)
    betas = batch["betas"][:, None].expand(-1, C, -1)
    out = {
        "joints": flat_views(to_cam(joints)),
        "joints2d": flat_views(normalised(to_crop(batch["keypoints2d_gt"], batch["crop"], crop), crop)),
        "global_orient": flat_views(R @ go[:, None]),
        "body_pose": flat_views(pose),
        "betas": flat_views(betas),
    }
    if "vertices" in batch:
        out["vertices"] = flat_views(to_cam(batch["vertices"][:, ::stride]))
    return out


def world_joints(joints: Tensor, R: Tensor, valid: Tensor) -> Tensor:
    """``(B, 17, 3)`` the first valid view's root-relative joints ``joints (B, C, 17, 3)`` (camera
    axes) turned into the world's axes by ``R (B, C, 3, 3)``; ``valid (B, C)`` bool."""
    first = torch.argmax(valid.to(torch.int8), dim=1)
    rows = torch.arange(joints.shape[0], device=joints.device)
    return joints[rows, first] @ R[rows, first]  # X_world = R^T X_cam, row vectors


class CRAMethod(SyntheticMethod):
    """Options: the network's (:data:`mvmocap.regressors.cra.model.DEFAULT_OPTIONS`), ``augment``
    (:data:`AUGMENT_DEFAULTS`), and ``stream_weight`` (0 = the paper: only the final prediction is
    supervised; > 0 also supervises ``Theta^J`` and ``Theta^M``)."""

    data_overrides = {"return_vertices": True, "render_iuv": True, "heatmap_size": 0}

    def __init__(self, options, data_config, body_model):
        super().__init__(options, data_config, body_model)
        net_options = {k: v for k, v in self.options.items() if k in DEFAULT_OPTIONS}
        if int(net_options.get("parts", DEFAULT_OPTIONS["parts"])) not in (1, 24):
            raise InputError(f"cra: model.parts must be 1 (CRA-S, silhouette) or 24 (IUV), got {net_options['parts']}")
        try:
            self.net = CRANet(net_options)
        except ValueError as exc:  # unknown variant, crop not 8 * 2^k
            raise InputError(f"cra: {exc}") from None
        crop = int(self.net.options["crop"])
        if getattr(data_config, "render_size", crop) != crop:
            raise InputError(f"cra: data.render_size ({data_config.render_size}) must equal model.crop ({crop})")
        self.weights = HomoscedasticWeights()
        self.decoder = BodyDecoder.for_body(body_model, int(self.net.options["parts"]), int(self.net.options["render_stride"]))
        self.augment = {**AUGMENT_DEFAULTS, **self.options.get("augment", {})}

    def forward(self, batch: dict) -> dict[str, Any]:
        drop = float(self.augment["part_drop"]) if self.training else 0.0
        evidence = synthetic_evidence(batch, self.net.options, drop)
        out = self.net(evidence, self.decoder)
        decoded = self.decoder.decode(out["theta"])
        B, C = batch["R"].shape[:2]
        joints = world_joints(decoded["joints"].reshape(B, C, -1, 3), batch["R"], batch["view_valid"].bool())
        return {**out, "decoded": decoded, "joints3d": joints}

    def loss(self, batch: dict, pred: dict) -> tuple[Tensor, dict[str, float]]:
        crop, stride = int(self.net.options["crop"]), int(self.net.options["render_stride"])
        target = view_targets(batch, crop, stride)
        valid = flat_views(batch["view_valid"]).to(target["joints"].dtype)
        terms = regression_terms(pred["decoded"], target, valid)
        total = self.weights(terms)
        weight = float(self.options.get("stream_weight", 0.0))
        if weight > 0 and "stream_thetas" in pred:
            for theta in pred["stream_thetas"]:
                total = total + weight * self.weights(regression_terms(self.decoder.decode(theta), target, valid))
        err = (pred["decoded"]["joints"].detach() - target["joints"]).norm(dim=-1).mean(-1)
        parts = {f"loss_{k}": float(v.detach()) for k, v in terms.items()}
        parts["mpjpe_mm"] = float((err * valid).sum() / valid.sum().clamp(min=1) * 1000)
        return total, parts
