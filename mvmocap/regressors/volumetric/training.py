"""The ``train-synthetic`` method ``volumetric``: synthetic batches -> :class:`ViewBatch` -> the network.

Inputs are built from the synthetic sample as a detector would give them at test time: heatmaps
of the detector-like noisy joints, a silhouette of the true mesh (a segmenter's mask; splatted
vertices, with random dilation/erosion, erased rectangles and whole-mask dropout while training),
the pelvis triangulated from the noisy hips (jittered while training).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from mvmocap.regressors.volumetric.evidence import crop_projection, joint_heatmaps, project, splat_silhouette
from mvmocap.regressors.volumetric.losses import volumetric_loss
from mvmocap.regressors.volumetric.model import HIPS, DEFAULT_OPTIONS, ViewBatch, VolumetricNet, decode
from mvmocap.synth.evidence import to_crop
from mvmocap.train.base import SyntheticMethod

AUGMENT_DEFAULTS = {"mask_dropout": 0.15, "mask_morph": 0.3, "mask_erase": 0.2, "pelvis_jitter": 0.03}


def triangulated_skeleton(keypoints: Tensor, K: Tensor, dist: Tensor | None, R: Tensor, t: Tensor
                          ) -> tuple[Tensor, Tensor, Tensor]:
    """``(pelvis (B, 3), joints (B, 17, 3), seen (B, 17))`` world metres from ``keypoints (B, C, 17, 3)``
    px + confidence and per-sample cameras ``K (B, C, 3, 3)``, ``dist (B, C, 5)``, ``R``, ``t``.

    ``joints``: confidence-weighted DLT; ``seen``: 1 where a joint has two or more views. The pelvis
    is the mean of the triangulated hips, or, when a hip is seen by fewer than two views, the mean
    of all triangulated joints (0 if none)."""
    from mvmocap.geometry.triangulation import triangulate

    conf = keypoints[..., 2]
    pts = triangulate(keypoints[..., :2].double(), conf.double(), K.double(), None if dist is None else dist.double(),
                      R.double(), t.double()).to(keypoints.dtype)  # (B, J, 3)
    return given_skeleton(pts, ((conf > 0).sum(-2) >= 2).to(pts.dtype))


def given_skeleton(joints: Tensor, confidence: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`triangulated_skeleton`'s ``(pelvis, joints, seen)`` from joints the pipeline already
    triangulated: ``joints (B, 17, 3)`` metres, ``confidence (B, 17)`` (0 = not triangulated)."""
    seen = confidence > 0
    hips_ok = seen[:, list(HIPS)].all(-1)
    w = seen.to(joints.dtype)
    mean_all = (joints * w[..., None]).sum(-2) / w.sum(-1, keepdim=True).clamp(min=1)
    pelvis = torch.where(hips_ok[:, None], joints[:, list(HIPS)].mean(-2), mean_all)
    return pelvis, torch.where(seen[..., None], joints, pelvis[:, None]), w


def body_vertices(batch: dict, body_model) -> Tensor:
    """World vertices ``(B, V, 3)`` of a synthetic batch (from its parameters when not included)."""
    if "vertices" in batch:
        return batch["vertices"]
    out = body_model(global_orient=batch["global_orient"], body_pose=batch["body_pose"], betas=batch["betas"])
    return out.vertices + batch["transl"][:, None]


def augment_masks(mask: Tensor, options: dict[str, float]) -> Tensor:
    """Segmenter-like damage to ``mask (B, C, S, S)``: 3x3 dilation or erosion, an erased
    rectangle, whole-mask dropout (probabilities in ``options``), using torch's global RNG."""
    B, C, S, _ = mask.shape
    flat = mask.reshape(B * C, 1, S, S)
    dil = F.max_pool2d(flat, 3, 1, 1)
    ero = -F.max_pool2d(-flat, 3, 1, 1)
    r = torch.rand(B * C, 1, 1, 1, device=mask.device)
    p = options["mask_morph"]
    flat = torch.where(r < p / 2, dil, torch.where(r < p, ero, flat))
    erase = torch.rand(B * C, device=mask.device) < options["mask_erase"]
    if erase.any():
        c = torch.arange(S, device=mask.device, dtype=mask.dtype)
        x0, y0 = (torch.rand(2, B * C, 1, device=mask.device) * S * 0.8)
        w, h = (0.15 + 0.25 * torch.rand(2, B * C, 1, device=mask.device)) * S
        inx = (c >= x0) & (c < x0 + w)
        iny = (c >= y0) & (c < y0 + h)
        rect = (iny[:, :, None] & inx[:, None, :]) & erase[:, None, None]
        flat = flat * (~rect).unsqueeze(1).to(flat.dtype)
    keep = (torch.rand(B * C, device=mask.device) >= options["mask_dropout"]).to(mask.dtype)
    return (flat[:, 0] * keep[:, None, None]).reshape(B, C, S, S)


def synthetic_views(batch: dict, body_model, options: dict[str, Any], training: bool = False,
                    use_masks: bool = True) -> ViewBatch:
    """The network input for a synthetic ``batch`` (see the module docstring)."""
    S = int(options["crop"])
    crops = batch["crop"]
    valid = batch["view_valid"].bool()
    kp = batch["keypoints2d"]
    uv = to_crop(kp[..., :2], crops, S)
    heatmaps = joint_heatmaps(uv, kp[..., 2], S, float(options["sigma"]))
    projection = crop_projection(batch["K"], batch["R"], batch["t"], crops, S)
    B, C = valid.shape
    if use_masks:
        with torch.no_grad():
            verts = body_vertices(batch, body_model)[:, ::2]
            vuv, depth = project(verts[:, None].expand(B, C, -1, 3), projection)
            mask = splat_silhouette(vuv.flatten(0, 1), depth.flatten(0, 1), S).reshape(B, C, S, S)
        if training:
            mask = augment_masks(mask, {**AUGMENT_DEFAULTS, **options.get("augment", {})})
    else:
        mask = torch.zeros(B, C, S, S, dtype=heatmaps.dtype, device=heatmaps.device)
    mask = mask * valid[..., None, None].to(mask.dtype)
    if "triangulated" in batch:
        pelvis, joints, seen = given_skeleton(batch["triangulated"], batch["triangulated_confidence"])
    else:
        dist = batch.get("dist")
        pelvis, joints, seen = triangulated_skeleton(
            kp, batch["K"], dist if dist is not None and bool(dist.abs().max() > 0) else None, batch["R"], batch["t"])
    if training:
        jitter = float({**AUGMENT_DEFAULTS, **options.get("augment", {})}["pelvis_jitter"])
        pelvis = pelvis + jitter * torch.randn_like(pelvis)
    return ViewBatch(heatmaps, mask, projection, pelvis, valid, joints, seen)


def warm_start(net: VolumetricNet, checkpoint: str) -> list[str]:
    """Initialise ``net`` from another volumetric checkpoint (e.g. one without the skeleton
    feedback): tensors of equal shape are copied; a linear layer that gained inputs keeps the old
    weights on its first inputs and zeros on the new ones (so it starts as the old network).
    Returns the names of the tensors that were widened."""
    from mvmocap.regressors.volumetric.inference import load_network

    old, _ = load_network(checkpoint)
    state = net.state_dict()
    widened = []
    with torch.no_grad():
        for name, value in old.state_dict().items():
            if name not in state:
                continue
            target = state[name]
            if target.shape == value.shape:
                target.copy_(value)
            elif target.dim() == 2 and target.shape[0] == value.shape[0] and target.shape[1] > value.shape[1]:
                target.zero_()
                target[:, : value.shape[1]] = value
                widened.append(name)
    return widened


class VolumetricMethod(SyntheticMethod):
    """Options: the network's (:data:`mvmocap.regressors.volumetric.model.DEFAULT_OPTIONS`), the
    loss weights (:data:`mvmocap.regressors.volumetric.losses.DEFAULT_WEIGHTS`) and ``augment``
    (:data:`AUGMENT_DEFAULTS`)."""

    data_overrides = {"return_vertices": True, "heatmap_size": 0, "render_size": 0, "render_iuv": False}

    def __init__(self, options, data_config, body_model):
        super().__init__(options, data_config, body_model)
        net_options = {k: v for k, v in self.options.items() if k in DEFAULT_OPTIONS}
        self.net = VolumetricNet(net_options)
        self.use_masks = bool(self.options.get("use_masks", True))
        if self.options.get("init_from"):
            warm_start(self.net, self.options["init_from"])

    def forward(self, batch: dict) -> dict[str, Any]:
        views = synthetic_views(batch, self.body_model, self.net.options | {"augment": self.options.get("augment", {})},
                                training=self.training, use_masks=self.use_masks)
        return self.predict(views)

    def predict(self, views: ViewBatch) -> dict[str, Any]:
        """Final body (``decode``'s keys) plus ``"iterations"`` (every IEF step decoded), ``"R_wh"``, ``"cams"``."""
        out = self.net(views, self.body_model)
        if "bodies" in out:
            decoded = out["bodies"] if self.training else out["bodies"][-1:]
        else:
            iters = out["thetas"] if self.training else out["thetas"][-1:]
            decoded = [decode(th, out["R_wh"], views.pelvis, self.body_model) for th in iters]
        return {**decoded[-1], "iterations": decoded, "R_wh": out["R_wh"], "cams": out["cams"]}

    def loss(self, batch: dict, pred: dict):
        weights = {k: v for k, v in self.options.items() if k.startswith("w_") or k in ("iteration_weights", "vertex_stride")}
        return volumetric_loss(pred["iterations"], pred["R_wh"], pred["cams"], batch, weights)
