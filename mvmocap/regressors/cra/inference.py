"""Using a trained CRA network: checkpoints, and ``predict_views`` (``MethodInputs`` -> :class:`ViewBodies`).

Which model runs on what (the model card says the same): when the detections carry DensePose IUV
crops (the ``detectron2`` backend with DensePose weights) and an IUV checkpoint exists, the IUV
model reads heatmaps + IUV; otherwise CRA-S reads heatmaps + the detector's person mask
(BlazePose's). Without masks CRA-S sees an empty silhouette (its output is then poor: pass
``--masks`` to the detector).

Per view and frame: keypoints are undistorted, a square crop (scale 1.2) is taken around the
person's mask (or the keypoints grown to the body's extent, as for the volumetric regressor), the
heatmaps are drawn from the confident COCO-17 joints, the mask / IUV is resampled into the crop
through the lens model. A view is valid when it has at least ``MIN_JOINTS`` joints with confidence
above ``MIN_CONFIDENCE``. All valid views of all frames run as one batch (``batch_size`` at a time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.regressors.cra.alignment import joint_discrepancy
from mvmocap.regressors.cra.encoder import FEATURE_SIDE
from mvmocap.regressors.cra.inputs import IUV_PARTS, ViewEvidence, silhouette_labels, view_evidence
from mvmocap.regressors.cra.model import DEFAULT_OPTIONS, BodyDecoder, CRANet
from mvmocap.regressors.cra.views import ViewBodies
from mvmocap.regressors.slim import export_run, load_network_file, resolve_checkpoint
from mvmocap.regressors.crops import decoded_mask_crops, keypoint_crops, masks_into_crops, undistorted_keypoints
from mvmocap.synth.evidence import crop_transform, to_crop

CHECKPOINT_ENV = "MVMOCAP_CRA_CHECKPOINT"
MODELS = Path(__file__).resolve().parents[3] / "models" / "regressors"
SHIPPED = MODELS / "cra_s.pt"
SHIPPED_IUV = MODELS / "cra_iuv.pt"
MIN_CONFIDENCE = 0.1
MIN_JOINTS = 4

_CACHE: dict[str, Any] = {}


# -- checkpoints -----------------------------------------------------------------------------------
def export_checkpoint(run: str | Path, out: str | Path, extra: dict | None = None) -> Path:
    """Write the slim checkpoint (network options + float32 weights + training config) of a
    ``train-synthetic`` run (folder or ``checkpoint.pt``) to ``out`` (atomically)."""
    return export_run(run, out, "cra", DEFAULT_OPTIONS, extra)


def checkpoint_file(path: str | Path | None = None, iuv: bool = False) -> Path:
    """``path``, else ``$MVMOCAP_CRA_CHECKPOINT``, else the shipped CRA-S (or, ``iuv``, IUV) checkpoint."""
    return resolve_checkpoint(path, CHECKPOINT_ENV, SHIPPED_IUV if iuv else SHIPPED)


def load_network(path: str | Path | None = None) -> tuple[CRANet, dict]:
    """The network (eval mode, float32, CPU) and the checkpoint's metadata; ``weights_only`` loading
    with the project's size cap, a run's ``checkpoint.pt`` or a slim export."""
    file = checkpoint_file(path)
    key = str(file)
    if key in _CACHE:
        return _CACHE[key]
    net, meta = load_network_file(file, "cra", "CRA regressor checkpoint", DEFAULT_OPTIONS, CRANet)
    _CACHE[key] = (net, meta)
    return net, meta


def check_checkpoint(path: str | Path) -> None:
    """``RegressorSpec.checkpoint``: ``path`` loads as a CRA network (weights only), else the project's error."""
    load_network(Path(path))


# -- batched prediction ----------------------------------------------------------------------------
def alignment_residual(decoded: dict[str, Tensor], evidence: ViewEvidence, decoder: BodyDecoder) -> Tensor:
    """``(N,)`` >= 0: the mean distance (normalised crop units) between the prediction's 2D joints and
    the confident evidence joints, plus the share of ``H0 x W0`` cells whose rendered part disagrees
    with the evidence's by more than half a part step (the silhouette for CRA-S)."""
    from mvmocap.regressors.cra.alignment import downsample_evidence

    d_j = joint_discrepancy(decoded["joints2d"], evidence.joints, evidence.confidence).norm(dim=-1)
    seen = (evidence.confidence > 0).to(d_j.dtype)
    joints = (d_j * seen).sum(-1) / seen.sum(-1).clamp(min=1)
    rendered = decoder.render(decoded)[:, 0]
    target = downsample_evidence(evidence.compact, FEATURE_SIDE)[:, 0]
    step = 0.5 / max(evidence.parts, 1)
    cells = ((rendered - target).abs() > step).to(d_j.dtype).flatten(1).mean(-1)
    return joints + cells


def predict(net: CRANet, decoder: BodyDecoder, evidence: ViewEvidence, batch_size: int = 128) -> dict[str, Tensor]:
    """The final prediction's rotations, betas, camera and alignment residual for every view."""
    outs: list[dict[str, Tensor]] = []
    N = evidence.joints.shape[0]
    with torch.no_grad():
        for lo in range(0, N, batch_size):
            part = evidence.rows(slice(lo, min(N, lo + batch_size)))
            decoded = decoder.decode(net(part, decoder)["theta"])
            outs.append({"global_orient": decoded["global_orient"], "body_pose": decoded["body_pose"],
                         "betas": decoded["betas"], "camera": decoded["camera"],
                         "residual": alignment_residual(decoded, part, decoder)})
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0]}


# -- real data -------------------------------------------------------------------------------------
def _crop_pixels_in_image(crops: Tensor, size: int, K: Tensor, dist: Tensor | None) -> Tensor:
    """``(N, S, S, 2)`` the distorted full-image pixel under each crop pixel of ``crops (N, 3)``
    (crops are defined on undistorted pixels of ``K (N, 3, 3)``, ``dist (N, 5)``)."""
    from mvmocap.geometry.projection import distort_normalized, normalized_to_pixels, pixels_to_normalized

    A_inv = torch.linalg.inv(crop_transform(crops.double(), size))
    c = torch.arange(size, dtype=torch.float64)
    gy, gx = torch.meshgrid(c, c, indexing="ij")
    pts = torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(-1, 3)
    ideal = torch.einsum("nij,pj->npi", A_inv, pts)[..., :2]
    xy = pixels_to_normalized(ideal, K.double())
    if dist is not None:
        xy = distort_normalized(xy, dist.double())
    return normalized_to_pixels(xy, K.double()).reshape(-1, size, size, 2)


def iuv_into_crops(iuv: Tensor, boxes: Tensor, crops: Tensor, size: int, K: Tensor, dist: Tensor | None) -> Tensor:
    """DensePose crops ``iuv (N, 3, s, s)`` uint8 over ``boxes (N, 4)`` (x0, y0, x1, y1 px of the
    distorted image) resampled (nearest) into square ``crops (N, 3)`` -> IUV labels ``(N, 3, S, S)``
    (part 0..24, U and V in [0, 1])."""
    px = _crop_pixels_in_image(crops, size, K, dist)
    x0, y0, x1, y1 = (boxes[:, k, None, None].double() for k in range(4))
    gx = (px[..., 0] - x0) / (x1 - x0).clamp(min=1e-6) * 2 - 1
    gy = (px[..., 1] - y0) / (y1 - y0).clamp(min=1e-6) * 2 - 1
    grid = torch.stack([gx, gy], -1).float()
    sampled = F.grid_sample(iuv.float(), grid, mode="nearest", align_corners=False)
    return torch.cat([sampled[:, :1], sampled[:, 1:] / 255.0], 1)


def _detections_for(inputs, names: tuple[str, ...], frames: int):
    detections = inputs.extras.get("detections")
    if detections is None:
        return None
    if tuple(detections.camera_names) != tuple(names):
        try:
            detections = detections.subset_cameras(list(names))
        except InputError:
            return None
    return detections if detections.keypoints.shape[1] == frames else None


def _mask_labels(detections, rig, c: int, frames: list[int], crops: Tensor, size: int, has_dist: bool) -> tuple[Tensor, Tensor]:
    """Silhouette labels ``(K, 3, S, S)`` of camera ``c`` at ``frames`` and the crops around the masks."""
    rle = detections.masks[c]
    width, height = (int(v) for v in rig.sizes[c].tolist())
    low, m_crops, ok = decoded_mask_crops([rle[f] for f in frames], rig, c, has_dist)
    crops = torch.where(ok[:, None], m_crops, crops)
    sampled = masks_into_crops(low, (width, height), crops, size, rig.K[c].expand(len(frames), 3, 3),
                               rig.dist[c].expand(len(frames), 5) if has_dist else None)
    return silhouette_labels((sampled > 0.5).float()), crops


def real_evidence(inputs, options: dict[str, Any]) -> tuple[ViewEvidence, Tensor, Tensor]:
    """``(evidence of the valid views (N, ...), crops (F, C, 3), valid (F, C))`` for ``MethodInputs``."""
    S, parts = int(options["crop"]), int(options["parts"])
    rig, has_dist, ideal, conf = undistorted_keypoints(inputs)
    Fr, C = conf.shape[:2]
    valid = (conf > MIN_CONFIDENCE).sum(-1) >= MIN_JOINTS  # (F, C)
    crops = keypoint_crops(ideal, conf)
    labels = torch.zeros(Fr, C, 3, S, S)
    detections = _detections_for(inputs, tuple(rig.names), Fr)
    for c in range(C):
        frames = [f for f in range(Fr) if bool(valid[f, c])]
        if not frames or detections is None:
            continue
        idx = torch.tensor(frames)
        dist_c = rig.dist[c].expand(len(frames), 5) if has_dist else None
        if parts == IUV_PARTS and detections.iuv is not None:
            iuv = torch.from_numpy(np.asarray(detections.iuv[c][frames]))
            boxes = torch.from_numpy(np.asarray(detections.boxes[c][frames][:, :4]))
            labels[idx, c] = iuv_into_crops(iuv, boxes, crops[idx, c], S, rig.K[c].expand(len(frames), 3, 3), dist_c)
        elif parts == 1 and detections.masks is not None:
            have = [f for f in frames if detections.masks[c][f] is not None]
            if have:
                at = torch.tensor(have)
                labels[at, c], crops[at, c] = _mask_labels(detections, rig, c, have, crops[at, c], S, has_dist)
    uv = to_crop(ideal, crops, S)
    keypoints = torch.cat([uv, conf[..., None]], -1).float()
    evidence = view_evidence(keypoints[valid], labels[valid], parts, float(options["sigma"]))
    return evidence, (crops * valid[..., None]).float(), valid


def predict_views(inputs, checkpoint: str | Path | None = None, batch_size: int = 128) -> ViewBodies:
    """Per-view bodies of ``MethodInputs`` (all frames x views; views without the person ``valid=False``).

    ``checkpoint``: a CRA checkpoint; None: ``inputs.extras["checkpoint"]`` (``reconstruct --checkpoint``),
    else ``$MVMOCAP_CRA_CHECKPOINT``, else the shipped IUV model
    when the detections carry IUV and it exists, else the shipped CRA-S."""
    checkpoint = checkpoint if checkpoint is not None else inputs.extras.get("checkpoint")  # reconstruct --checkpoint
    detections = inputs.extras.get("detections")
    has_iuv = detections is not None and getattr(detections, "iuv", None) is not None
    if checkpoint is None and has_iuv and not checkpoint_file(None, iuv=True).is_file():
        has_iuv = False
    net, _ = load_network(checkpoint if checkpoint is not None else checkpoint_file(None, iuv=has_iuv))
    body = inputs.body_model.to(dtype=torch.float32, device="cpu")
    decoder = BodyDecoder.for_body(body, int(net.options["parts"]), int(net.options["render_stride"]))
    evidence, crops, valid = real_evidence(inputs, net.options)
    return assemble_views(predict(net, decoder, evidence, batch_size) if bool(valid.any()) else None, crops, valid)


def assemble_views(pred: dict[str, Tensor] | None, crops: Tensor, valid: Tensor) -> ViewBodies:
    """:class:`ViewBodies` of ``F x C`` views from :func:`predict`'s rows (one per view with ``valid (F, C)``
    True, in row-major order; None when there is none) and the views' ``crops (F, C, 3)``; a view without
    a row gets the identity rotations, zero betas, camera and residual."""
    Fr, C = valid.shape
    out = {
        "global_orient": torch.eye(3).expand(Fr, C, 3, 3).clone(),
        "body_pose": torch.eye(3).expand(Fr, C, 23, 3, 3).clone(),
        "betas": torch.zeros(Fr, C, 10),
        "weak_camera": torch.zeros(Fr, C, 3),
        "residual": torch.zeros(Fr, C),
    }
    if pred is not None:
        for key, value in (("global_orient", pred["global_orient"]), ("body_pose", pred["body_pose"]),
                           ("betas", pred["betas"]), ("weak_camera", pred["camera"]), ("residual", pred["residual"])):
            out[key][valid] = value.to(out[key].dtype)
    return ViewBodies(crops=crops, valid=valid, **out)


# -- synthetic benchmark ---------------------------------------------------------------------------
def synthetic_labels(batch: dict, body_model, size: int, parts: int) -> Tensor:
    """IUV labels ``(B * C, 3, S, S)`` of a synthetic ``batch`` (with ``vertices``) rendered into its
    crops (the true mesh: what a perfect DensePose / segmenter would give; the silhouette for ``parts = 1``)."""
    from mvmocap.synth.evidence import crop_intrinsics
    from mvmocap.synth.part_uv import body_part_uv
    from mvmocap.synth.rasterize import body_winding_sign, iuv_image, rasterize, silhouette, vertices_to_screen

    K, R, t, dist = batch["K"], batch["R"], batch["t"], batch.get("dist")
    B, C = K.shape[:2]
    K_crop = crop_intrinsics(K, batch["crop"], size).reshape(B * C, 3, 3)
    verts = batch["vertices"][:, None].expand(B, C, -1, -1).reshape(B * C, -1, 3)
    has_dist = dist is not None and bool(dist.abs().max() > 0)
    screen = vertices_to_screen(verts, K_crop, R.reshape(B * C, 3, 3), t.reshape(B * C, 3),
                                dist.reshape(B * C, 5) if has_dist else None)
    frags = rasterize(screen, body_model.faces, (size, size), cull=body_winding_sign(body_model))
    if parts == 1:
        return silhouette_labels(silhouette(frags).float())
    puv = body_part_uv(body_model)
    return iuv_image(frags, body_model.faces, puv.face_parts, puv.vertex_uv).float()


def synthetic_view_bodies(batch: dict, body_model, checkpoint: str | Path | None = None, batch_size: int = 128) -> ViewBodies:
    """:class:`ViewBodies` ``(B, C)`` of a synthetic benchmark ``batch`` (:mod:`mvmocap.evaluate.synthetic`:
    ``keypoints2d``, ``crop``, cameras, ``vertices``, ``view_valid``): the building block of a
    benchmark estimator once the views are fused (``multiview.py``)."""
    net, _ = load_network(checkpoint)
    body = body_model.to(dtype=torch.float32, device="cpu")
    S, parts = int(net.options["crop"]), int(net.options["parts"])
    decoder = BodyDecoder.for_body(body, parts, int(net.options["render_stride"]))
    kp = batch["keypoints2d"]
    B, C = kp.shape[:2]
    keypoints = torch.cat([to_crop(kp[..., :2], batch["crop"], S), kp[..., 2:3]], -1).reshape(B * C, -1, 3)
    labels = synthetic_labels(batch, body, S, parts)
    evidence = view_evidence(keypoints.float(), labels, parts, float(net.options["sigma"]))
    valid = batch["view_valid"].bool() & ((kp[..., 2] > MIN_CONFIDENCE).sum(-1) >= MIN_JOINTS)
    pred = predict(net, decoder, evidence, batch_size)
    keep = valid.reshape(-1).float()
    shaped = {k: (v * keep.reshape(-1, *([1] * (v.dim() - 1)))).reshape(B, C, *v.shape[1:]) for k, v in pred.items()}
    return ViewBodies(global_orient=shaped["global_orient"], body_pose=shaped["body_pose"], betas=shaped["betas"],
                      weak_camera=shaped["camera"], crops=batch["crop"].float() * valid[..., None], residual=shaped["residual"],
                      valid=valid)
