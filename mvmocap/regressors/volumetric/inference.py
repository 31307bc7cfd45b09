"""Using a trained volumetric regressor: the shipped checkpoint, ``--method volumetric`` /
``volumetric-net`` (and their ``+fit``, added by :mod:`mvmocap.methods`) and the synthetic-benchmark
estimators (declared in this package's ``__init__``).

On real data (``MethodInputs``): keypoints are undistorted, a square crop (scale 1.2) is taken
around the person's mask (or, without a mask, around the keypoints grown to the body's extent),
heatmaps are drawn from the confident COCO-17 joints, the detector's RLE mask (when the detections
carry masks) is resampled into the crop through the lens model, and the pelvis comes from the
triangulated hips. Frames are processed in batches. One shape (the median betas of the valid
frames) is returned for the sequence; the translation puts the model's joints on the
triangulated ones (confidence-weighted mean offset).

By default (``keypoint_ik=True``; ``--method volumetric``), two additions to the paper follow,
both in closed form from the triangulated joints: the shape whose bone lengths match the
triangulated ones (median over the frames; :mod:`mvmocap.body.bone_shape`), pulled towards the
network's betas, and the limb IK (:mod:`mvmocap.body.keypoint_ik`), which turns the limbs towards
the triangulated joints: the network places the wrists, ankles, elbows and knees some centimetres
off where triangulation knows them better. ``volumetric-net`` is the network alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mvmocap.body.bone_shape import betas_from_bone_lengths, bone_lengths, rest_keypoint_basis
from mvmocap.body.keypoint_ik import solve_keypoint_ik
from mvmocap.errors import InputError
from mvmocap.regressors.crops import decoded_mask_crops, keypoint_crops, masks_into_crops, undistorted_keypoints
from mvmocap.regressors.slim import export_run, load_network_file, resolve_checkpoint
from mvmocap.keypoints import COCO23
from mvmocap.regressors.volumetric.evidence import crop_projection, joint_heatmaps
from mvmocap.regressors.volumetric.model import HIPS, DEFAULT_OPTIONS, ViewBatch, VolumetricNet, decode
from mvmocap.synth.evidence import to_crop

CHECKPOINT_ENV = "MVMOCAP_VOLUMETRIC_CHECKPOINT"
SHIPPED = Path(__file__).resolve().parents[3] / "models" / "regressors" / "volumetric.pt"
# The limb IK's partial pull (mvmocap.body.keypoint_ik.blended_targets) and the distance beyond
# which a triangulated joint is not believed, metres, and the weight (m^2 per unit of beta) that
# keeps the bone-length shape (mvmocap.body.bone_shape) near the network's betas (None: keep the
# network's betas); chosen on synthetic validation samples (seed 5, not the benchmark's seed 0):
# models/regressors/MODEL_CARD.md.
IK_BLEND_M = 0.02
IK_OUTLIER_M = 0.2
IK_MIDDLE_WEIGHT = 1.0  # elbow/knee against wrist/ankle targets (mvmocap.body.keypoint_ik.chain_targets)
SHAPE_PRIOR: float | None = 1e-2
SHAPE_MAX_CHANGE = 0.25

_CACHE: dict[str, Any] = {}


# -- checkpoints -----------------------------------------------------------------------------------
def export_checkpoint(run: str | Path, out: str | Path, extra: dict | None = None) -> Path:
    """Write the slim shipped checkpoint (network options + float32 weights + training config) of a
    ``train-synthetic`` run (folder or ``checkpoint.pt``) to ``out`` (atomically)."""
    return export_run(run, out, "volumetric", DEFAULT_OPTIONS, extra)


def checkpoint_file(path: str | Path | None = None) -> Path:
    """``path``, else ``$MVMOCAP_VOLUMETRIC_CHECKPOINT``, else the shipped ``models/regressors/volumetric.pt``."""
    return resolve_checkpoint(path, CHECKPOINT_ENV, SHIPPED)


def load_network(path: str | Path | None = None, overrides: dict | None = None) -> tuple[VolumetricNet, dict]:
    """The network (eval mode, float32, CPU) and the checkpoint's metadata. ``overrides`` change
    options at test time (e.g. ``{"balance": False}``)."""
    file = checkpoint_file(path)
    key = f"{file}:{sorted((overrides or {}).items())}"
    if key in _CACHE:
        return _CACHE[key]
    # Checkpoints older than the method names are volumetric's.
    net, meta = load_network_file(file, "volumetric", "volumetric regressor checkpoint", DEFAULT_OPTIONS,
                                  lambda options: VolumetricNet({**options, **(overrides or {})}), unnamed="volumetric")
    _CACHE[key] = (net, meta)
    return net, meta


def check_checkpoint(path: str | Path) -> None:
    """``RegressorSpec.checkpoint``: ``path`` loads as a volumetric network (weights only), else the project's error."""
    load_network(Path(path))


# -- batched prediction ----------------------------------------------------------------------------
def predict(net: VolumetricNet, views: ViewBatch, body_model, batch_size: int = 64) -> dict[str, Tensor]:
    """:func:`decode` of the final IEF iteration for every frame-set, ``batch_size`` at a time."""
    outs: list[dict[str, Tensor]] = []
    B = views.valid.shape[0]
    with torch.no_grad():
        for lo in range(0, B, batch_size):
            sl = slice(lo, min(B, lo + batch_size))
            part = views.rows(sl)
            out = net(part, body_model)
            outs.append(out["bodies"][-1] if "bodies" in out else decode(out["thetas"][-1], out["R_wh"], part.pelvis, body_model))
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0]}


# -- real data -------------------------------------------------------------------------------------
def _decode_masks(detections, names: tuple[str, ...], frames: int) -> list[list[Any]] | None:
    """``masks[c][f]`` (RleMask or None) of the detections, in ``names`` order, or None."""
    if detections is None or getattr(detections, "masks", None) is None:
        return None
    if tuple(detections.camera_names) != tuple(names):
        try:
            detections = detections.subset_cameras(list(names))
        except InputError:  # detections without these cameras: run without masks
            return None
    masks = detections.masks
    if len(masks) != len(names) or any(len(m) != frames for m in masks):
        return None
    return masks


def real_views(inputs, options: dict) -> tuple[ViewBatch, Tensor]:
    """The network input for ``MethodInputs`` and the per-frame validity ``(F,)``."""
    S, sigma = int(options["crop"]), float(options["sigma"])
    kp = torch.as_tensor(inputs.keypoints_2d).to(torch.float64)[..., :17, :]  # (F, C, 17, 3)
    rig, has_dist, ideal, conf = undistorted_keypoints(inputs)
    Fr, C = conf.shape[:2]
    crops = keypoint_crops(ideal, conf)  # (F, C, 3)
    mask = torch.zeros(Fr, C, S, S)
    rle = _decode_masks(inputs.extras.get("detections"), tuple(rig.names), Fr)
    if rle is not None:
        for c in range(C):
            width, height = (int(v) for v in rig.sizes[c].tolist())
            have = [f for f in range(Fr) if rle[c][f] is not None]
            if not have:
                continue
            low, m_crops, ok = decoded_mask_crops([rle[c][f] for f in have], rig, c, has_dist)
            idx = torch.tensor(have)
            use = ok & (conf[idx, c] > 0).any(-1)
            crops[idx[use], c] = m_crops[use]
            sampled = masks_into_crops(low, (width, height), crops[idx, c], S, rig.K[c].expand(len(have), 3, 3),
                                       rig.dist[c].expand(len(have), 5) if has_dist else None)
            mask[idx, c] = (sampled > 0.5).float()
    valid_view = (conf > 0.1).sum(-1) >= 4  # (F, C)
    uv = to_crop(ideal, crops, S)
    heatmaps = joint_heatmaps(uv.float(), conf.float(), S, sigma)
    mask = mask * valid_view[..., None, None]
    projection = crop_projection(rig.K.expand(Fr, C, 3, 3), rig.R.expand(Fr, C, 3, 3), rig.t.expand(Fr, C, 3), crops, S)
    joints, seen = _skeleton(inputs, kp, rig)
    pelvis_ok = (seen[:, list(HIPS)] > 0).all(-1)
    pelvis = joints[:, list(HIPS)].mean(-2)
    frame_ok = (valid_view.sum(-1) >= 2) & pelvis_ok
    views = ViewBatch(heatmaps, mask, projection.float(), pelvis.float(), valid_view & frame_ok[:, None],
                      joints.float(), seen.float())
    return views, frame_ok


def _skeleton(inputs, kp: Tensor, rig) -> tuple[Tensor, Tensor]:
    """World COCO-17 joints ``(F, 17, 3)`` and whether each is known ``(F, 17)`` (0/1): the
    pipeline's triangulated joints when given, else a triangulation of the keypoints."""
    if inputs.joints3d is not None:
        j = torch.as_tensor(inputs.joints3d).to(torch.float64)[:, :17]
        conf = (torch.as_tensor(inputs.joints3d_confidence).to(torch.float64)[:, :17]
                if inputs.joints3d_confidence is not None else torch.ones(j.shape[:2], dtype=torch.float64))
        seen = ((conf > 0) & torch.isfinite(j).all(-1)).to(torch.float64)
        if bool((seen[:, list(HIPS)] > 0).all(-1).any()):
            return torch.nan_to_num(j) * seen[..., None], seen
    from mvmocap.geometry.triangulation import triangulate

    pts = triangulate(kp[..., :2], kp[..., 2], rig.K, rig.dist, rig.R, rig.t)
    seen = ((kp[..., 2] > 0).sum(1) >= 2).to(torch.float64)
    return torch.nan_to_num(pts) * seen[..., None], seen


def _hold_invalid(values: Tensor, ok: Tensor) -> Tensor:
    """Rows of ``values (F, ...)`` where not ``ok`` replaced by the nearest valid row."""
    idx = torch.nonzero(ok).flatten()
    nearest = (torch.arange(len(ok))[:, None] - idx[None]).abs().argmin(-1)
    return values[idx[nearest]]


def regress(inputs, checkpoint: str | Path | None = None, batch_size: int = 64, keypoint_ik: bool = True):
    """``MethodInputs`` -> :class:`mvmocap.body.params.BodyParams` (see the module docstring)."""
    net, _ = load_network(checkpoint or inputs.extras.get("checkpoint"))  # reconstruct --checkpoint
    body = inputs.body_model.to(dtype=torch.float32, device="cpu")
    views, ok = real_views(inputs, net.options)
    if not bool(ok.any()):
        raise InputError("volumetric: no frame has a person seen by two cameras with a triangulable pelvis")
    return prediction_params(inputs, body, views, ok, predict(net, views, body, batch_size), keypoint_ik)


def prediction_params(inputs, body, views: ViewBatch, ok: Tensor, pred: dict[str, Tensor], keypoint_ik: bool = True):
    """:class:`BodyParams` of a sequence from the network's per-frame ``pred`` (:func:`predict` of
    ``views``, ``ok (F,)`` the frames it could see): one shape, invalid frames held from their valid
    neighbours, the translation onto the triangulated joints, then optionally the bone-length shape
    and the limb IK (see the module docstring)."""
    from mvmocap.body.params import BodyParams
    from mvmocap.geometry.rotations import matrix_to_axis_angle

    betas = pred["betas"][ok].median(0).values
    go = _hold_invalid(pred["global_orient"], ok)
    pose = _hold_invalid(pred["body_pose"], ok)
    with torch.no_grad():
        out = body(global_orient=go, body_pose=pose, betas=betas.expand(len(ok), -1))
    joints = out.coco23
    transl = _translation(inputs, joints, _hold_invalid(views.pelvis, ok))
    if keypoint_ik:
        targets, confidence = _ik_targets(inputs)
        confidence = confidence * ok[:, None]
        if SHAPE_PRIOR is not None:
            betas = _sequence_betas(body, targets, confidence, betas)
        pose, transl = _limb_ik(body, go, pose, betas.expand(len(ok), -1), transl, targets, confidence)
    return BodyParams(
        global_orient=matrix_to_axis_angle(go).float(), body_pose=matrix_to_axis_angle(pose).float(),
        betas=betas.float(), transl=transl.float(), valid=ok.clone(),
    )


def _sequence_betas(body, targets: Tensor, confidence: Tensor, betas: Tensor) -> Tensor:
    """One shape ``(S,)`` for a sequence: the betas whose bones match the median (over the frames
    where both ends are triangulated) of the triangulated bone lengths, pulled towards ``betas``."""
    lengths, weights = bone_lengths(targets, confidence)  # (F, N)
    known = weights > 0
    medians = torch.nan_to_num(torch.where(known, lengths, torch.nan).nanmedian(0).values)  # 0 where never known
    return _bone_shape(body, medians[None], known.any(0)[None].to(lengths.dtype), betas[None])[0]


def _bone_shape(body, lengths: Tensor, weights: Tensor, betas: Tensor) -> Tensor:
    """:func:`betas_from_bone_lengths` with the shipped constants: ``(B, S)`` betas for bone
    ``lengths`` and ``weights (B, N)``, pulled towards ``betas (B, S)``."""
    return betas_from_bone_lengths(rest_keypoint_basis(body, betas.shape[-1]), lengths, weights, betas,
                                   SHAPE_PRIOR, SHAPE_MAX_CHANGE)


def _limb_ik(body, global_orient: Tensor, body_pose: Tensor, betas: Tensor, transl: Tensor, targets: Tensor,
             confidence: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`solve_keypoint_ik` with the shipped constants: ``(body_pose, transl)``."""
    return solve_keypoint_ik(body, global_orient, body_pose, betas, transl, targets, confidence,
                             blend_m=IK_BLEND_M, outlier_m=IK_OUTLIER_M, middle_weight=IK_MIDDLE_WEIGHT)


def _given_joints(inputs) -> tuple[Tensor, Tensor] | None:
    """The pipeline's triangulated joints ``(F, J, 3)`` metres (NaN -> 0) and their confidences
    ``(F, J)`` (0 where not finite; 1 when none are given), float32; None without joints."""
    if inputs.joints3d is None:
        return None
    points = torch.as_tensor(inputs.joints3d, dtype=torch.float32)
    conf = (torch.as_tensor(inputs.joints3d_confidence, dtype=torch.float32)
            if inputs.joints3d_confidence is not None else torch.ones(points.shape[:2]))
    return torch.nan_to_num(points), conf * torch.isfinite(points).all(-1)


def _ik_targets(inputs) -> tuple[Tensor, Tensor]:
    """COCO-23 targets ``(F, 23, 3)`` metres and confidences ``(F, 23)`` for the keypoint IK: the
    pipeline's triangulated joints when given, else a robust triangulation of the keypoints (a
    plain one would let a left/right swap in one view pull a limb away)."""
    given = _given_joints(inputs)
    if given is not None:
        return given
    kp = torch.as_tensor(inputs.keypoints_2d).to(torch.float64)
    tri = inputs.rig.to(dtype=torch.float64, device="cpu").triangulate_robust(kp[..., :2], kp[..., 2])
    points = tri.points.float()
    return torch.nan_to_num(points), tri.confidence.float() * torch.isfinite(points).all(-1)


def _coco23(joints17: Tensor, seen17: Tensor) -> tuple[Tensor, Tensor]:
    """COCO-17 ``(B, 17, 3)`` and ``(B, 17)`` padded to COCO-23 (the feet unknown)."""
    pad = len(COCO23) - joints17.shape[1]
    return torch.nn.functional.pad(joints17, (0, 0, 0, pad)), torch.nn.functional.pad(seen17, (0, pad))


def _translation(inputs, joints: Tensor, pelvis: Tensor) -> Tensor:
    """``(F, 3)``: the confidence-weighted mean offset from the model's COCO-23 joints to the
    triangulated ones when the pipeline gives them, else the mid-hip onto ``pelvis``."""
    mid = joints[:, list(HIPS)].mean(-2)
    fallback = pelvis - mid
    given = _given_joints(inputs)
    if given is None:
        return fallback
    target, w = given
    J = min(target.shape[1], joints.shape[1])
    w = w[:, :J]
    offset = ((target[:, :J] - joints[:, :J]) * w[..., None]).sum(1) / w.sum(1, keepdim=True).clamp(min=1e-6)
    return torch.where((w.sum(1) > 0.5)[:, None], offset, fallback)


# -- what the package declares (mvmocap/regressors/volumetric/__init__.py) ----------------------------


def regress_full(inputs):
    """Volumetric progressive-aggregation regressor (the shipped checkpoint), then the bone-length
    shape and the limb IK."""
    return regress(inputs)


def regress_network_only(inputs):
    """The volumetric network alone (no bone-length shape, no limb IK)."""
    return regress(inputs, keypoint_ik=False)


def benchmark_estimator(use_masks: bool = True, overrides: dict | None = None, keypoint_ik: bool = True):
    """A synthetic-benchmark estimator (:mod:`mvmocap.evaluate.synthetic`) of the shipped network."""

    def estimate(batch: dict, body_model, device: str) -> dict:
        from mvmocap.regressors.volumetric.training import synthetic_views

        net, _ = load_network(None, overrides)
        body = body_model.to(dtype=torch.float32, device="cpu")
        views = synthetic_views(batch, body, net.options, training=False, use_masks=use_masks)
        pred = predict(net, views, body)
        if keypoint_ik:
            pred = _synthetic_ik(pred, batch, body)
        return {"joints3d": pred["joints3d"], "vertices": pred["vertices"]}

    return estimate


def _synthetic_ik(pred: dict[str, Tensor], batch: dict, body) -> dict[str, Tensor]:
    """:func:`predict`'s output with the bone-length shape (per sample) and the limb IK, towards the
    joints that the reconstruct pipeline would triangulate from the batch's detections (left/right
    repair, robust triangulation)."""
    from mvmocap.synth.batch_geometry import triangulate_batch

    tri = triangulate_batch(batch)
    targets, confidence = _coco23(tri.points.float(), tri.confidence.float())
    with torch.no_grad():
        betas = pred["betas"]
        if SHAPE_PRIOR is not None:
            betas = _bone_shape(body, *bone_lengths(targets, confidence), betas)
        pose, transl = _limb_ik(body, pred["global_orient"], pred["body_pose"], betas, pred["transl"], targets,
                                confidence)
        out = body(global_orient=pred["global_orient"], body_pose=pose, betas=betas, transl=transl)
    return {**pred, "betas": betas, "body_pose": pose, "transl": transl, "joints3d": out.coco23[:, :17],
            "vertices": out.vertices}
