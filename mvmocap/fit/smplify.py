"""Multi-view SMPLify over a whole sequence (after Li, Oskarsson & Heyden, and SMPLify).

One pose and one shape per frame are shared by all cameras (the cameras are
calibrated, so there is no per-view orientation as in the paper's weak
perspective setting): the model's COCO-23 keypoints are projected into every
camera with :meth:`CameraRig.project` and pulled, through a robust
Geman-McClure penalty, to the confidence-weighted detections, and in 3D to the
triangulated joints; priors keep shape, elbows, knees and motion plausible.

The sequence is optimised in batched chunks of frames (every frame of a chunk
at once, no per-frame Python loop):

1. initialise every frame geometrically from the triangulated torso;
2. fit the shape (betas, shared by the sequence) together with the pose on a
   few key frames spread over the sequence;
3. for each chunk of ``chunk_size`` frames: warm-start every frame from the
   nearest already fitted frame, a key frame or the previous chunk's last
   frame (``warm_start="key_frames"``, the default; ``"previous_chunk"`` uses
   the previous chunk's last frame only); fit orientation and
   translation, then orientation, translation and body pose with robust scales
   narrowing over ``sigma_schedule``; the temporal smoothness terms include the
   previous chunk's last two frames, so chunks join without a jump.

Every stage runs Levenberg-Marquardt on its Gauss-Newton matrix (:mod:`mvmocap.fit.gauss_newton`,
``optimizer="gauss-newton"``, the default; at most ``gn_iters`` steps per stage and robust pass)
or L-BFGS / Adam (``optimizer="lbfgs"`` / ``"adam"``, ``iters_*`` iterations). On the shared demo
(fresh processes, ``benchmarks/volumetric_demo.py``) the Gauss-Newton fit took 1.7 s after
detection against 4.1 s for L-BFGS, at a median reprojection of 12.13 against 12.69 px.

Frames where nobody is seen keep ``valid = False`` and get parameters
interpolated (or held) from their neighbours, never NaN.

The pieces: :mod:`mvmocap.fit.config` (the settings), :mod:`mvmocap.fit.energy` (the energy of a
batch of frames), :mod:`mvmocap.fit.frames` (minimising it over a batch: Levenberg-Marquardt, L-BFGS
or Adam); this module runs the sequence (initialisation, key frames and shape, chunks).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.fit.config import DTYPES, FitConfig
from mvmocap.fit.energy import FitData, lower_energy
from mvmocap.fit.frames import fit_frames, with_threads
from mvmocap.fit.initialise import initial_params
from mvmocap.fit.model import KeypointModel
from mvmocap.fit.single_view import single_view_frames
from mvmocap.body.params import BodyParams, fill_invalid_frames
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.frame_rig import FrameRig
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.keypoints import COCO23

__all__ = ["FitConfig", "FitResult", "fit_sequence", "rest_height"]


@dataclass
class FitResult:
    """What :func:`fit_sequence` returns.

    Attributes:
        params: the fitted :class:`BodyParams` (float32 on the CPU).
        keypoints3d: ``(F, 23, 3)`` metres, the fitted model's COCO-23 points, world.
        reprojection_px: ``(F, C, 23)`` pixels, distance between the projected model
            points and the detections, everywhere (meaningful where ``observed``).
        observed: ``(F, C, 23)`` bool, detection confidence > 0 (and the model defines the point).
        height_m: the fitted body's height in its rest pose (vertical extent of the
            mesh), metres; NaN if the body model gives no vertices.
        timings: seconds per stage (``initialise``, ``shape``, ``pose``, ``total``).
        history: one dict per optimisation stage: ``stage``, ``frames``, ``iterations``,
            ``loss`` and the value of every weighted term at the end.
    """

    params: BodyParams
    keypoints3d: Tensor
    reprojection_px: Tensor
    observed: Tensor
    height_m: float = float("nan")
    timings: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)

    def median_reprojection_px(self, valid_frames_only: bool = True) -> float:
        """Median pixel error over the observed keypoints (of valid frames)."""
        mask = self.observed
        if valid_frames_only:
            mask = mask & self.params.valid[:, None, None]
        errors = self.reprojection_px[mask]
        return float(errors.median()) if errors.numel() else float("nan")


# -- the public entry point -----------------------------------------------------------


def _regressed_pose_mean(num_frames: int, keys: Tensor, regressed: BodyParams, keys_only: bool) -> Tensor:
    """``(F, 23, 3)``: the pose prior's mean of a refinement, the regressor's body pose on the frames
    where it gave a valid estimate (``regressed`` holds the key frames ``keys`` when ``keys_only``,
    else every frame) and the rest pose (zeros) elsewhere."""
    pose = regressed.body_pose * regressed.valid.to(regressed.body_pose.dtype)[:, None, None]
    if not keys_only:
        return pose  # already a new tensor
    mean = pose.new_zeros(num_frames, *pose.shape[1:])
    mean[keys] = pose
    return mean


def _given_start(init, frames: Tensor, what: str) -> BodyParams:
    """The caller's starting parameters at ``frames (K,)``: ``init`` itself (all frames) or ``init(frames)``."""
    params = init(frames) if callable(init) else init
    if not isinstance(params, BodyParams):
        raise InputError(f"init must give BodyParams, got {type(params).__name__}")
    if params.num_frames != frames.numel():
        raise InputError(f"init has {params.num_frames} frames, {what} {frames.numel()}")
    return params


def _check_inputs(keypoints_2d: Tensor, rig: CameraRig | FrameRig, joints3d, joints3d_confidence) -> None:
    if not isinstance(rig, (CameraRig, FrameRig)):
        raise InputError(f"rig must be a CameraRig or a FrameRig, got {type(rig).__name__}")
    if isinstance(rig, FrameRig) and keypoints_2d.dim() >= 1 and rig.num_frames != keypoints_2d.shape[0]:
        raise InputError(f"the per-frame cameras cover {rig.num_frames} frames, the keypoints {keypoints_2d.shape[0]}")
    J = len(COCO23)
    if keypoints_2d.dim() != 4 or keypoints_2d.shape[1] != len(rig) or keypoints_2d.shape[2:] != (J, 3):
        raise InputError(
            f"keypoints_2d must have shape (F, {len(rig)}, {J}, 3) (frames, cameras of the rig, COCO-23, x/y/confidence), "
            f"got {tuple(keypoints_2d.shape)}"
        )
    if keypoints_2d.shape[0] == 0:
        raise InputError("keypoints_2d has no frames")
    if not bool(torch.isfinite(keypoints_2d).all()):
        raise InputError("keypoints_2d has NaN/inf: missing points must have confidence 0 instead")
    F = keypoints_2d.shape[0]
    if joints3d is not None:
        if tuple(joints3d.shape) != (F, J, 3):
            raise InputError(f"joints3d must have shape ({F}, {J}, 3), got {tuple(joints3d.shape)}")
        if not bool(torch.isfinite(joints3d).all()):
            raise InputError("joints3d has NaN/inf: missing joints must have confidence 0 instead")
    if joints3d_confidence is not None:
        if joints3d is None:
            raise InputError("joints3d_confidence given without joints3d")
        if tuple(joints3d_confidence.shape) != (F, J):
            raise InputError(f"joints3d_confidence must have shape ({F}, {J}), got {tuple(joints3d_confidence.shape)}")


def _rig_at(rig: CameraRig | FrameRig, frames) -> CameraRig | FrameRig:
    """The cameras of ``frames`` (indices or a slice): a static rig as it is, a per-frame rig sliced."""
    return rig.frames(frames) if isinstance(rig, FrameRig) else rig


def _keyframes(valid: Tensor, count: int) -> Tensor:
    """Up to ``count`` valid frame indices spread evenly over the sequence."""
    idx = torch.nonzero(valid).flatten()
    if idx.numel() <= count:
        return idx
    picks = torch.linspace(0, idx.numel() - 1, count).round().long()
    return idx[picks.unique()]


def _nearest(frames: Tensor, keys: Tensor) -> Tensor:
    """For each of ``frames (F,)``, the position in ``keys (K,)`` of the nearest key frame."""
    return (frames[:, None] - keys[None, :]).abs().argmin(dim=1)


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[fit] {message}", file=sys.stderr, flush=True)


def fit_sequence(
    keypoints_2d: Tensor,
    rig: CameraRig | FrameRig,
    body_model,
    joints3d: Tensor | None = None,
    joints3d_confidence: Tensor | None = None,
    config: FitConfig | None = None,
    init: BodyParams | Callable[[Tensor], BodyParams] | None = None,
    progress: bool = True,
) -> FitResult:
    """Fit one body (pose per frame, one shape) to multi-view keypoints of a sequence.

    Args:
        keypoints_2d: ``(F, C, 23, 3)`` x, y pixels (distorted image, as detected) and
            confidence in [0, 1], COCO-23 layout (:data:`mvmocap.keypoints.COCO23`),
            cameras in ``rig`` order; missing = confidence 0.
        rig: the calibrated :class:`CameraRig` (world +Z up, metres), or a
            :class:`~mvmocap.geometry.frame_rig.FrameRig` of ``F`` frames (cameras that move:
            every frame is fitted to its own cameras).
        body_model: a body model of :mod:`mvmocap.body` (``load_body_model``).
        joints3d: ``(F, 23, 3)`` metres, triangulated joints; None triangulates
            ``keypoints_2d`` with :meth:`CameraRig.triangulate_robust`.
        joints3d_confidence: ``(F, 23)``; None: 1 where a joint is seen by >= 2 cameras.
        config: :class:`FitConfig`; None = defaults.
        init: starting parameters (e.g. from a regressor) for every frame, or a function
            ``frames (K,) -> BodyParams`` of those K frames, asked only for the key frames when
            ``refine_start == "anchors"`` (the other frames start as the plain fit's do, from the
            nearest fitted key frame, so their starts would go unused); a fit from ``init`` uses
            the ``refine_*`` settings. None = geometric initialisation.
        progress: print one line per stage on stderr.

    Returns:
        :class:`FitResult`. Frames with fewer than ``config.min_joints`` usable
        joints are ``valid = False`` with interpolated parameters.

    Raises:
        :class:`InputError` for bad shapes or when no frame shows a person.
    """
    cfg = config or FitConfig()
    keypoints_2d = torch.as_tensor(keypoints_2d)
    _check_inputs(keypoints_2d, rig, joints3d, joints3d_confidence)
    threads = torch.get_num_threads()
    if callable(init):
        init = with_threads(init, threads)
    if cfg.num_threads and (cfg.device is None or torch.device(cfg.device).type == "cpu"):
        torch.set_num_threads(cfg.num_threads)
    try:
        return _fit_sequence(keypoints_2d, rig, body_model, joints3d, joints3d_confidence, cfg, init, progress)
    finally:
        torch.set_num_threads(threads)


def _fit_sequence(keypoints_2d, rig, body_model, joints3d, joints3d_confidence, cfg, init, progress) -> FitResult:
    if init is not None:
        cfg = cfg.for_refinement()
    dtype = DTYPES[cfg.dtype]
    device = torch.device(cfg.device) if cfg.device else keypoints_2d.device
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    history: list[dict] = []

    model = KeypointModel(body_model, dtype=dtype, device=device)
    rig_f = rig.to(dtype=dtype, device=device)
    kp = keypoints_2d.to(dtype=dtype, device=device)
    available = model.available.to(dtype)
    observed = kp[..., :2]
    conf2d = kp[..., 2].clamp(0, 1) * available
    seen_twice = (conf2d > 0).sum(1) >= 2  # (F, J)
    if joints3d is None:
        tri = rig_f.triangulate_robust(observed, conf2d)
        j3d, conf3d = tri.points, tri.confidence
    else:
        j3d = torch.as_tensor(joints3d).to(dtype=dtype, device=device)
        if joints3d_confidence is None:
            conf3d = seen_twice.to(dtype)
        else:
            conf3d = torch.as_tensor(joints3d_confidence).to(dtype=dtype, device=device).clamp(0, 1)
    conf3d = conf3d * available
    frame_valid = (conf3d > 0).sum(-1) >= cfg.min_joints
    F = kp.shape[0]
    if not bool(frame_valid.any()):
        raise InputError(
            f"no frame has at least {cfg.min_joints} joints seen by two cameras: nobody to fit in {F} frames"
        )
    conf3d = conf3d * frame_valid[:, None]

    # 1. initialisation
    t0 = time.perf_counter()
    keys = _keyframes(frame_valid, cfg.shape_frames)
    init_keys_only = callable(init) and cfg.refine_start == "anchors"  # the other frames start as in the plain fit
    with torch.no_grad():
        if init is None or init_keys_only:
            start = initial_params(model, j3d, conf3d, arm_drop=cfg.arm_drop)
            seen = start.valid & frame_valid
            if bool(seen.any()):
                start = fill_invalid_frames(start, seen)
        else:
            start = _given_start(init, torch.arange(F, device=keys.device), "the keypoints").to(dtype=dtype, device=device)
        key_start = start.frames(keys)
        if init_keys_only:
            key_start = _given_start(init, keys, "the key frames").to(dtype=dtype, device=device)
        betas = _pad_betas(key_start.betas, model.num_betas)
        pose_mean = None
        if init is not None and cfg.refine_pose_prior == "regressor":
            pose_mean = _regressed_pose_mean(F, keys, key_start if init_keys_only else start, init_keys_only)
        # A refinement also fits the frames one camera sees, from the regressor (mvmocap.fit.single_view).
        single = None
        if init is not None:
            single = single_view_frames(init if init_keys_only else start, conf2d, frame_valid, keys, cfg.min_joints,
                                        dtype, device)
    fitted = frame_valid if single is None else frame_valid | single.mask
    # Invalid frames carry no evidence at all (a few stray points would only pull them astray).
    conf2d = conf2d * fitted[:, None, None]
    timings["initialise"] = time.perf_counter() - t0
    seen_once = "" if single is None else f", {int(single.mask.sum())} seen by one camera"
    _log(progress, f"initialised {F} frames ({int(frame_valid.sum())} with a person{seen_once}) in "
                   f"{timings['initialise']:.2f} s")

    # 2. shape on key frames
    t0 = time.perf_counter()
    key_params = BodyParams(
        key_start.global_orient, key_start.body_pose, betas, key_start.transl, key_start.valid
    )
    key_data = FitData(observed[keys], conf2d[keys], j3d[keys], conf3d[keys], consecutive=False,
                     pose_mean=None if pose_mean is None else pose_mean[keys])
    fitted_keys = fit_frames(
        model, _rig_at(rig_f, keys), cfg, key_data, key_params,
        fit_pose=True, fit_betas=cfg.fit_shape, iters_global=cfg.iters_global, iters_all=cfg.iters_shape,
        label="shape", history=history,
    )
    betas = fitted_keys.betas
    timings["shape"] = time.perf_counter() - t0
    _log(progress, f"shape fitted on {keys.numel()} key frames in {timings['shape']:.2f} s")

    # 3. pose, chunk by chunk (a single frame was fitted completely as its own key frame)
    t0 = time.perf_counter()
    if single is not None:  # the regressor's starts joined to the triangulated neighbours, held there in depth
        single = single.bridged(model, betas, j3d, conf3d)
        start = _replace_frames(start, single.frames, single.start)
        if cfg.refine_pose_prior == "regressor":
            pose_mean = single.into_pose_mean(pose_mean, start.body_pose)
        j3d, conf3d = single.with_anchors(model, betas, j3d, conf3d)
    evidence = FitData(observed, conf2d, j3d, conf3d, consecutive=True, pose_mean=pose_mean)
    if F == 1:
        parts = [fitted_keys]
    else:
        parts = _fit_chunks(model, rig_f, cfg, evidence, start, fitted_keys, keys, fitted,
                            start_mode="anchors" if init is None else cfg.refine_start,
                            history=history, progress=progress,
                            own_start=None if single is None else single.mask)
    timings["pose"] = time.perf_counter() - t0

    params = fill_invalid_frames(BodyParams.concatenate(parts), fitted)
    with torch.no_grad():
        points = model(axis_angle_to_matrix(params.global_orient), params.body_pose, params.betas, params.transl)
        reprojection = (rig_f.project(points) - observed).norm(dim=-1)
        height = rest_height(model, params.betas)
    timings["total"] = time.perf_counter() - t_start
    _log(progress, f"fit done in {timings['total']:.2f} s (height {height:.2f} m)")
    cpu = torch.device("cpu")
    return FitResult(
        params=params.to(dtype=torch.float32, device=cpu),
        keypoints3d=points.to(dtype=torch.float32, device=cpu),
        reprojection_px=reprojection.to(dtype=torch.float32, device=cpu),
        observed=((kp[..., 2] > 0) & model.available).to(cpu),
        height_m=height,
        timings=timings,
        history=history,
    )


def _fit_chunks(
    model: KeypointModel,
    rig: CameraRig,
    cfg: FitConfig,
    evidence: FitData,
    start: BodyParams,
    fitted_keys: BodyParams,
    keys: Tensor,
    frame_valid: Tensor,
    *,
    start_mode: str,
    history: list[dict],
    progress: bool,
    own_start: Tensor | None = None,
) -> list[BodyParams]:
    """Fit all frames, ``cfg.chunk_size`` at a time, each chunk one batch; returns the chunks' parameters.

    ``start`` holds every frame's starting parameters (geometric, or the caller's
    ``init``). ``start_mode`` (see ``FitConfig.refine_start``): ``"anchors"``: each
    frame rather starts from the nearest already fitted frame (see
    ``FitConfig.warm_start``); ``"init"``: the key frames start from their fitted
    values and the others from ``start``; ``"best"``: each frame from whichever of
    the two has the lower data energy. Frames marked in ``own_start (F,)`` (single-view frames) keep
    their own start from ``start`` whatever the mode.
    """
    F = start.num_frames
    warm_from_anchors = start_mode != "init"
    own_starts = start  # the frames' own starts, which the anchors' corrections apply to
    if start_mode != "anchors":
        start = _replace_frames(start, keys, fitted_keys)
    frame_ids = torch.arange(F, device=keys.device)
    betas = fitted_keys.betas
    parts: list[BodyParams] = []
    context_points = context_pose = None
    for c0 in range(0, F, cfg.chunk_size):
        c1 = min(c0 + cfg.chunk_size, F)
        e = evidence
        data = FitData(
            e.observed[c0:c1], e.conf2d[c0:c1], e.joints3d[c0:c1], e.conf3d[c0:c1], consecutive=True,
            context_points=context_points, context_pose=context_pose,
            pose_mean=None if e.pose_mean is None else e.pose_mean[c0:c1],
        )
        chunk_start = start.frames(slice(c0, c1))
        chunk_rig = _rig_at(rig, slice(c0, c1))
        if warm_from_anchors:
            # Anchors: fitted frames whose pose (and orientation / translation
            # corrections) seed their neighbours: the key frames and, once there
            # is one, the last frame of the previous chunk.
            if parts and cfg.warm_start == "previous_chunk":
                anchor_ids, anchors = frame_ids[c0 - 1 : c0], parts[-1].frames(slice(-1, None))
            elif parts:
                anchor_ids = torch.cat([keys, frame_ids[c0 - 1 : c0]])
                anchors = BodyParams.concatenate([fitted_keys, parts[-1].frames(slice(-1, None))])
            else:
                anchor_ids, anchors = keys, fitted_keys
            from_anchors = _start_from_anchors(own_starts.frames(slice(c0, c1)), frame_ids[c0:c1], anchors, anchor_ids,
                                               own_starts.frames(anchor_ids))
            if start_mode == "best":
                chunk_start = lower_energy(model, chunk_rig, cfg, data, chunk_start, from_anchors, betas)
            else:
                chunk_start = from_anchors
        own = torch.empty(0, dtype=torch.long) if own_start is None else torch.nonzero(own_start[c0:c1]).flatten()
        if own.numel():
            chunk_start = _replace_frames(chunk_start, own, own_starts.frames(own + c0))
        chunk_start = BodyParams(
            chunk_start.global_orient, chunk_start.body_pose, betas, chunk_start.transl, frame_valid[c0:c1]
        )
        fitted = fit_frames(
            model, chunk_rig, cfg, data, chunk_start,
            fit_pose=True, fit_betas=False, iters_global=cfg.iters_global, iters_all=cfg.iters_pose,
            label=f"pose[{c0}:{c1}]", history=history,
        )
        parts.append(fitted)
        with torch.no_grad():
            tail = slice(max(c1 - c0 - 2, 0), c1 - c0)
            context_points = model(
                axis_angle_to_matrix(fitted.global_orient[tail]), fitted.body_pose[tail], betas, fitted.transl[tail]
            )
            context_pose = fitted.body_pose[tail]
        _log(progress, f"frames {c0}-{c1 - 1} fitted ({history[-1]['loss']:.3f})")
    return parts


def _replace_frames(params: BodyParams, frames: Tensor, values: BodyParams) -> BodyParams:
    """``params`` with the per-frame parameters of ``frames (K,)`` taken from ``values`` (K frames)."""
    def put(target: Tensor, source: Tensor) -> Tensor:
        target = target.clone()
        target[frames] = source.to(target)
        return target

    return BodyParams(
        put(params.global_orient, values.global_orient), put(params.body_pose, values.body_pose),
        params.betas, put(params.transl, values.transl), params.valid,
    )


def rest_height(model: KeypointModel, betas: Tensor) -> float:
    """Height of the body with shape ``betas (nb,)`` in its rest pose: the mesh's extent
    along the rest frame's y (up) axis, metres; NaN when the model has no vertices."""
    try:
        out = model.forward_full(None, torch.zeros(1, 23, 3, dtype=betas.dtype, device=betas.device), betas, None)
        vertices = out.vertices.reshape(-1, 3)
    except (AttributeError, TypeError):
        return float("nan")
    return float(vertices[:, 1].max() - vertices[:, 1].min())


def _start_from_anchors(
    geometric: BodyParams, frames: Tensor, anchors: BodyParams, anchor_frames: Tensor, anchors_geometric: BodyParams
) -> BodyParams:
    """Start each frame from its nearest (in time) anchor, an already fitted frame.

    The anchor's body pose is copied; its orientation and translation are
    carried over as corrections of the frame's own geometric start (the torso
    alignment is biased by the person's posture the same way in nearby frames).

    Args:
        geometric: the frames' geometric starts (``n`` frames), ``frames (n,)`` their indices.
        anchors: the fitted anchor frames (``A``), ``anchor_frames (A,)`` their indices,
            ``anchors_geometric`` their geometric starts.
    """
    nearest = _nearest(frames, anchor_frames)
    R_geo = axis_angle_to_matrix(geometric.global_orient)
    R_anchor_geo = axis_angle_to_matrix(anchors_geometric.global_orient[nearest])
    correction = R_anchor_geo.transpose(-1, -2) @ axis_angle_to_matrix(anchors.global_orient[nearest])
    orient = matrix_to_axis_angle(R_geo @ correction)
    transl = geometric.transl + (anchors.transl[nearest] - anchors_geometric.transl[nearest])
    return BodyParams(orient, anchors.body_pose[nearest], geometric.betas, transl, geometric.valid)


def _pad_betas(betas: Tensor, num_betas: int) -> Tensor:
    """Betas ``(B,)`` zero-padded or truncated to the model's ``num_betas``."""
    if betas.shape[0] >= num_betas:
        return betas[:num_betas].clone()
    return torch.cat([betas, betas.new_zeros(num_betas - betas.shape[0])])
