"""``--method metapose``: from uncalibrated views to per-frame cameras and a metric body.

:func:`estimate_scene` (the registry's ``cameras`` of ``metapose``): MetaPose on every frame-set
(:func:`mvmocap.regressors.metapose.inference.estimate`: S1, S1+S2 with the trained optimizer, or
S1+IR), then its weak cameras -> pinholes and one metric, floor-based, +Z-up world for the whole
sequence (:mod:`mvmocap.regressors.metapose.cameras`): a :class:`MetaPoseScene` with the per-frame
cameras (:class:`~mvmocap.geometry.frame_rig.FrameRig`) and MetaPose's joints in that world.

:func:`regress` (the registry's ``regress``): the body of those joints, as the other regressors
return one (:class:`~mvmocap.body.params.BodyParams` per frame): one shape for the sequence whose
bones match the joints' median bone lengths (:func:`mvmocap.body.bone_shape.betas_from_bone_lengths`),
each frame's torso aligned to the joints (:func:`mvmocap.fit.initialise.initial_params`) and its
limbs turned onto them (:func:`mvmocap.body.keypoint_ik.solve_keypoint_ik`). When the inputs already
carry joints they are used: without a calibration ``reconstruct`` runs :func:`estimate_scene` as its
camera stage and hands MetaPose's joints on as ``joints3d`` with its per-frame cameras as ``rig`` (so
that ``metapose+fit``'s start and its cameras share one world); with static cameras the joints are
those triangulated with them. Without joints (e.g. the sequence benchmark's uncalibrated mode) the
scene is estimated here.

Inputs: :class:`mvmocap.fit.inputs.MethodInputs` with the detections (``extras["detections"]``, their
BlazePose ``mono3d`` and image sizes) and optionally ``extras["subject_height_m"]`` (default 1.70 m).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from mvmocap.body.params import BodyParams
from mvmocap.errors import InputError
from mvmocap.geometry.frame_rig import FrameRig, smoothed_rig
from mvmocap.keypoints import COCO23
from mvmocap.regressors.metapose.cameras import default_intrinsics, pinhole_frames, world_from_reference
from mvmocap.regressors.metapose.inference import estimate, frame_sets, trained_optimizer
from mvmocap.regressors.metapose.inputs import NUM_JOINTS, reference_view
from mvmocap.regressors.metapose.static_rig import MONO3D_RAY_ALIGNED

DEFAULT_HEIGHT_M = 1.70
SMOOTH_S = 0.5  # the cameras' per-frame poses are averaged over this window (estimate_scene)
# The body's shape from the joints' bone lengths: the volumetric regressor's constants
# (mvmocap/regressors/volumetric/inference.py), chosen on the shared demo.
SHAPE_PRIOR = 1e-2
SHAPE_MAX_CHANGE = 0.25
# The limb IK starts from a rest pose, not from a network's pose: every target is believed and reached.
IK_PASSES = 3


@dataclass(frozen=True)
class MetaPoseScene:
    """MetaPose's estimate of a sequence in the metric world.

    Attributes:
        rig: per-frame cameras (:class:`FrameRig`, world +Z up, metres, floor z = 0).
        joints3d: ``(F, 23, 3)`` metres, world, COCO-23 (the feet 17-22 are not estimated: confidence 0).
        confidence: ``(F, 23)``; 0 where a joint, or the whole frame, was not estimated.
        view_valid: ``(F, C)`` bool, the cameras estimated in each frame (the others are held from
            their nearest estimated frame).
        summary: what the report says about it (solver, reference camera, scale, where "up" came from, ...).
    """

    rig: FrameRig
    joints3d: Tensor
    confidence: Tensor
    view_valid: Tensor
    summary: dict = field(default_factory=dict)


def _cameras_of(method_inputs) -> tuple[tuple[str, ...], Tensor]:
    """Camera names and image sizes ``(C, 2)`` px: the detections', else the (placeholder) rig's."""
    detections = method_inputs.extras.get("detections")
    names = getattr(detections, "camera_names", None) or getattr(method_inputs.rig, "names", None)
    sizes = getattr(detections, "image_sizes", None)
    if sizes is None:
        sizes = getattr(method_inputs.rig, "sizes", None)
    if names is None or sizes is None:
        raise InputError("metapose needs the cameras' names and image sizes (the detections')")
    return tuple(names), torch.as_tensor(sizes).to(torch.float64)


def estimate_scene(method_inputs, solver: str = "s2", optimizer=None, smooth_s: float = SMOOTH_S,
                   ray_aligned: bool | None = None) -> MetaPoseScene:
    """Per-frame cameras and joints of the inputs' frames in one metric world (see the module docstring).

    ``solver``: ``"s2"`` (stage 1 + ``optimizer``; None: the trained checkpoint), ``"s1"`` or ``"ir"``.
    ``smooth_s``: each camera's per-frame poses are averaged over this many seconds around each frame
    (:func:`mvmocap.geometry.frame_rig.smoothed_rig`; 0 = none): cameras move slowly next to the
    frame-to-frame noise of independent estimates. On the moving-camera benchmark
    (``python benchmarks/metapose_moving.py --solver s1 --smooth 0 / 0.5 / 1``, 6 hand-held clips)
    ``metapose+fit`` gave 28.7 / 20.5 / 21.3 mm PA-MPJPE.
    ``ray_aligned``: whether the monocular 3D is posed along each view's ray to the body
    (:func:`mvmocap.regressors.metapose.cameras.pinhole_frames`); None: so for BlazePose's world
    landmarks (:data:`mvmocap.regressors.metapose.static_rig.MONO3D_RAY_ALIGNED`), not for others
    (the synthetic monocular model poses them along the optical axis).
    Raises :class:`InputError` for one camera, nobody seen by two cameras, detections without
    monocular 3D, a missing checkpoint, or a body never seen whole enough to give the scale."""
    height = float(method_inputs.extras.get("subject_height_m", DEFAULT_HEIGHT_M))
    keypoints = torch.as_tensor(method_inputs.keypoints_2d)
    reference = reference_view(keypoints[..., :NUM_JOINTS, 2])
    order = [reference] + [c for c in range(keypoints.shape[1]) if c != reference]
    inputs = frame_sets(method_inputs, order)  # checks the inputs before anything else
    names, sizes = _cameras_of(method_inputs)
    if solver == "s2" and optimizer is None:
        optimizer = trained_optimizer(method_inputs.extras.get("checkpoint"))  # reconstruct --checkpoint
    joints, cameras = estimate(inputs, solver, optimizer)
    sizes = sizes[order]
    focal, principal = default_intrinsics(sizes)
    to64 = lambda x: x.detach().to(torch.float64)  # noqa: E731
    if ray_aligned is None:
        ray_aligned = _blazepose(method_inputs) and MONO3D_RAY_ALIGNED
    frames = pinhole_frames(to64(joints), to64(cameras), to64(inputs.centre), to64(inputs.box), focal, principal,
                            ray_aligned=ray_aligned)
    view_ok = inputs.view_valid & inputs.view_valid[:, :1]  # a frame the reference does not see is not estimated
    frame_ok = view_ok.sum(-1) >= 2
    view_ok &= frame_ok[:, None]
    conf = (inputs.confidence * view_ok[..., None]).sum(1) / view_ok.sum(1).clamp(min=1)[:, None]  # (F, 17)
    if not bool(frame_ok.any()):
        raise InputError(f"metapose: the reference camera {names[reference]} and another never see the person together")
    world = world_from_reference(frames, conf > 0, view_ok, tuple(names[c] for c in order), sizes, focal, principal,
                                 height)
    window = 2 * round(smooth_s * _fps(method_inputs) / 2) + 1
    rig = smoothed_rig(world.rig, window, view_ok)
    F = keypoints.shape[0]
    joints3d = torch.zeros(F, len(COCO23), 3, dtype=torch.float64)
    confidence = torch.zeros(F, len(COCO23), dtype=torch.float64)
    joints3d[:, :NUM_JOINTS] = world.joints * (conf > 0)[..., None]
    confidence[:, :NUM_JOINTS] = conf.to(torch.float64)
    summary = {"solver": solver, "reference_camera": names[reference], "subject_height_m": height,
               "scale": world.scale, "up_from": world.up_from, "focal_px": dict(zip(names, _in_order(focal, order))),
               "frames_estimated": int(frame_ok.sum()), "frames": int(F), "smoothing_frames": int(window),
               "ray_aligned": bool(ray_aligned)}
    back = [order.index(c) for c in range(len(order))]
    return MetaPoseScene(rig.subset(names), joints3d, confidence, view_ok[:, back], summary)


def _blazepose(method_inputs) -> bool:
    """Whether the detections are BlazePose's (their monocular 3D: its world landmarks)."""
    return str(getattr(method_inputs.extras.get("detections"), "detector", "")).startswith("blazepose")


def _fps(method_inputs) -> float:
    """The detections' frame rate (median over cameras), 30 when unknown."""
    fps = getattr(method_inputs.extras.get("detections"), "fps", None)
    return float(np.median(fps)) if fps is not None and len(fps) else 30.0


def _in_order(values: Tensor, order: list[int]) -> list[float]:
    """``values`` given in ``order`` back in camera order, as floats."""
    out = [0.0] * len(order)
    for position, camera in enumerate(order):
        out[camera] = float(values[position])
    return out


def body_from_joints(body_model, joints3d: Tensor, confidence: Tensor) -> BodyParams:
    """:class:`BodyParams` of COCO-23 ``joints3d (F, 23, 3)`` metres (world +Z up) with ``confidence (F, 23)``:
    one shape from the median bone lengths, per frame the torso alignment and the limb IK (module docstring)."""
    from mvmocap.body.bone_shape import betas_from_bone_lengths, bone_lengths, rest_keypoint_basis
    from mvmocap.body.keypoint_ik import solve_keypoint_ik
    from mvmocap.fit.initialise import initial_params
    from mvmocap.fit.model import KeypointModel
    from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

    body = body_model.to(dtype=torch.float32, device="cpu")
    joints = torch.as_tensor(joints3d).to(torch.float32)
    conf = torch.as_tensor(confidence).to(torch.float32)
    model = KeypointModel(body, dtype=torch.float32, device="cpu")
    lengths, weights = bone_lengths(joints, conf)
    known = weights > 0
    medians = torch.nan_to_num(torch.where(known, lengths, torch.nan).nanmedian(0).values)
    prior = torch.zeros(1, model.num_betas)
    betas = betas_from_bone_lengths(rest_keypoint_basis(body, model.num_betas), medians[None],
                                    known.any(0)[None].to(lengths.dtype), prior, SHAPE_PRIOR, SHAPE_MAX_CHANGE)[0]
    with torch.no_grad():
        start = initial_params(model, joints, conf, betas=betas)
        F = joints.shape[0]
        orient = axis_angle_to_matrix(start.global_orient)
        pose, transl = solve_keypoint_ik(body, orient, axis_angle_to_matrix(start.body_pose), betas.expand(F, -1),
                                         start.transl, joints, conf * start.valid[:, None], passes=IK_PASSES)
    return BodyParams(start.global_orient, matrix_to_axis_angle(pose), betas, transl, start.valid.clone())


def regress(method_inputs, solver: str = "s2", optimizer=None) -> BodyParams:
    """``--method metapose``: the body of MetaPose's joints (see the module docstring); the body of the
    given joints when the inputs carry some (``reconstruct``: MetaPose's own under its per-frame cameras,
    or, with static cameras (``--calibration``, ``--calibrate-from-joints``, ``--static-rig``), the
    joints triangulated with them, so that the body is in their world)."""
    if method_inputs.joints3d is not None:
        joints, confidence = method_inputs.joints3d, method_inputs.joints3d_confidence
        if confidence is None:
            confidence = torch.ones(joints.shape[:2])
    else:
        scene = estimate_scene(method_inputs, solver, optimizer)
        joints, confidence = scene.joints3d, scene.confidence
    return body_from_joints(method_inputs.body_model, joints, confidence)
