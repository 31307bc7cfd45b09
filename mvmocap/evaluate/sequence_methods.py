"""The methods of the sequence benchmark (:mod:`mvmocap.evaluate.sequence`), fed as ``reconstruct`` feeds them.

Inputs (:func:`calibrated_inputs`) are built the way :func:`mvmocap.reconstruct.run` builds them
from its detections and cameras, with the default :class:`~mvmocap.reconstruct.ReconstructConfig`:
the multi-view left/right repair (:func:`mvmocap.detect.left_right.fix_left_right`), detections
below ``triangulation.min_confidence`` set missing, the robust triangulation
(``triangulation.threshold_px``), the default fit configuration (its temporal terms included), and
the detections (with their masks) in ``extras["detections"]``.

Methods:

* any ``--method`` spec of the registry (:mod:`mvmocap.methods`: ``fit``, ``<regressor>``,
  ``<regressor>+fit``), run once on the whole clip; its body gives the joints and the mesh.
  Per-frame regressors get the temporal handling ``reconstruct --method`` gives them and no more
  (for ``volumetric``: one shape for the clip, the median of the frames' betas; each frame's pose
  on its own);
* ``triangulation``: the pipeline's joints (left/right repair, then robust triangulation), per
  frame, no mesh;
* ``triangulation-selfcal``: the uncalibrated baseline: cameras estimated from the person's
  joints (:func:`mvmocap.calibrate.from_joints.calibrate_from_joints`, unknown focal lengths, as
  ``reconstruct --calibrate-from-joints``), then the same left/right repair and robust
  triangulation with them. It returns its cameras.

Uncalibrated mode (:func:`uncalibrated_inputs`): ``extras["uncalibrated"] = True``, the detections
as detected (no left/right repair: that needs cameras), no triangulated joints, and ``rig`` a
placeholder that keeps only what a user knows without a calibration, the camera names and image
sizes (K: focal length = the longer image side, principal point at the centre; R = I; t = 0; no
distortion). Methods that need calibration (``fit``, ``triangulation`` and every regressor whose
:class:`~mvmocap.regressors.spec.RegressorSpec` says ``needs_calibration``) are not run there and
are reported as "needs cameras".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.fit.inputs import MethodInputs
from mvmocap.geometry.camera import CameraRig
from mvmocap.reconstruct.config import ReconstructConfig
from mvmocap.reconstruct.pipeline import keypoints_tensor
from mvmocap.synth.sequence import SyntheticCapture

TRIANGULATION = "triangulation"
SELFCAL = "triangulation-selfcal"
BUILT_IN = (TRIANGULATION, SELFCAL)
NEEDS_CAMERAS = "needs cameras"
MIN_JOINTS = 9  # of COCO-17, both hips among them, for a joints-only method's frame to count as an output
HIPS = (11, 12)


@dataclass(frozen=True)
class SequenceEstimate:
    """One method's output on one clip.

    Attributes:
        joints: ``(T, 17, 3)`` COCO-17 metres, in the method's world (the true one when calibrated).
        valid: ``(T,)`` bool, the frames with an output.
        known: ``(T, 17)`` bool, the joints given in those frames (joints-only methods may miss
            some; a frame counts as an output when both hips and at least :data:`MIN_JOINTS` are given).
        vertices: ``(T, V, 3)`` metres or None (joints-only methods).
        rig: the cameras the method estimated (uncalibrated methods), in its world, else None.
        seconds: wall time of the method on the clip.
    """

    joints: Tensor
    valid: Tensor
    known: Tensor
    vertices: Tensor | None
    rig: CameraRig | None
    seconds: float


class MethodFailed(Exception):
    """A method gave no output on a clip (the reason is reported, the clip's frames count as uncovered)."""


def calibrated_inputs(capture: SyntheticCapture, body_model, settings: ReconstructConfig | None = None) -> MethodInputs:
    """:class:`MethodInputs` of a capture with its true cameras, built as the pipeline builds them."""
    from mvmocap.detect.left_right import fix_left_right

    settings = settings or ReconstructConfig()
    rig = capture.rig.to(torch.float64)
    detections, _ = fix_left_right(capture.detections, rig)
    keypoints = keypoints_tensor(detections, settings.triangulation.min_confidence)
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2], threshold_px=settings.triangulation.threshold_px)
    return MethodInputs(keypoints_2d=keypoints, rig=rig, body_model=body_model, joints3d=tri.points,
                        joints3d_confidence=tri.confidence, config=settings.fit_config(),
                        extras={"detections": detections}, progress=False)


def uncalibrated_inputs(capture: SyntheticCapture, body_model, settings: ReconstructConfig | None = None) -> MethodInputs:
    """:class:`MethodInputs` without cameras (see the module docstring)."""
    settings = settings or ReconstructConfig()
    keypoints = keypoints_tensor(capture.detections, settings.triangulation.min_confidence)
    extras = {"detections": capture.detections, "uncalibrated": True, "subject_height_m": settings.subject_height_m}
    return MethodInputs(keypoints_2d=keypoints, rig=placeholder_rig(capture.rig), body_model=body_model,
                        config=settings.fit_config(), extras=extras, progress=False)


def placeholder_rig(rig: CameraRig) -> CameraRig:
    """The rig reduced to names and image sizes: nominal pinholes at the origin, looking along +Z."""
    C = len(rig)
    sizes = rig.sizes.to(torch.float64)
    K = torch.zeros(C, 3, 3, dtype=torch.float64)
    K[:, 0, 0] = K[:, 1, 1] = sizes.amax(-1)
    K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = sizes[:, 0] / 2, sizes[:, 1] / 2, 1.0
    return CameraRig(tuple(rig.names), K, torch.zeros(C, 5, dtype=torch.float64),
                     torch.eye(3, dtype=torch.float64).expand(C, 3, 3).clone(), torch.zeros(C, 3, dtype=torch.float64),
                     sizes.clone())


# -- which methods exist and what they need ----------------------------------------------------------
def check_methods(names: list[str]) -> None:
    """:class:`InputError` naming the first unknown method (the registry's message lists the known ones)."""
    from mvmocap.methods import available_methods, method_spec

    for name in names:
        if name in BUILT_IN:
            continue
        try:
            method_spec(name)
        except InputError:
            raise InputError(f"unknown method {name!r}; available: {', '.join(list(BUILT_IN) + available_methods())}") from None


def needs_calibration(name: str) -> bool:
    """Whether ``name`` reads the cameras (``fit`` and ``+fit`` always do)."""
    if name == SELFCAL:
        return False
    if name == TRIANGULATION or name == "fit" or name.endswith("+fit"):
        return True
    from mvmocap.methods import method_spec

    return method_spec(name).needs_calibration


def needs_masks(name: str) -> bool:
    """Whether ``name`` uses the detections' person masks."""
    if name in BUILT_IN or name == "fit":
        return False
    from mvmocap.methods import method_spec

    return method_spec(name).needs_masks


# -- running them --------------------------------------------------------------------------------------
def run_method(name: str, inputs: MethodInputs) -> SequenceEstimate:
    """``name`` on one clip's inputs; :class:`MethodFailed` when it gives no output."""
    start = time.perf_counter()
    try:
        if name == TRIANGULATION:
            (joints, known), vertices, rig = _triangulated(inputs), None, None
        elif name == SELFCAL:
            joints, known, rig = _selfcal(inputs)
            vertices = None
        else:
            joints, valid, vertices = _registry_method(name, inputs)
            known, rig = valid[:, None].expand(joints.shape[:2]).clone(), None
    except InputError as exc:
        raise MethodFailed(str(exc)) from None
    valid = known[:, list(HIPS)].all(-1) & (known.sum(-1) >= MIN_JOINTS)
    return SequenceEstimate(joints, valid, known & valid[:, None], vertices, rig, time.perf_counter() - start)


def _triangulated(inputs: MethodInputs) -> tuple[Tensor, Tensor]:
    """The pipeline's triangulated joints given in the inputs: COCO-17 ``(T, 17, 3)`` and which are known ``(T, 17)``."""
    if inputs.joints3d is None or inputs.joints3d_confidence is None:
        raise InputError("triangulation: the inputs carry no triangulated joints")
    return _known_joints(inputs.joints3d, inputs.joints3d_confidence)


def _known_joints(points: Tensor, confidence: Tensor) -> tuple[Tensor, Tensor]:
    points = torch.as_tensor(points)[:, :17].to(torch.float32)
    known = (torch.as_tensor(confidence)[:, :17] > 0) & torch.isfinite(points).all(-1)
    return torch.nan_to_num(points) * known[..., None], known


def _selfcal(inputs: MethodInputs) -> tuple[Tensor, Tensor, CameraRig]:
    """Cameras from the joints, then the pipeline's left/right repair and robust triangulation."""
    from mvmocap.calibrate.from_joints import calibrate_from_joints
    from mvmocap.calibrate.sanity import CalibrationRefused
    from mvmocap.detect.left_right import fix_left_right

    detections = inputs.extras["detections"]
    try:
        rig = calibrate_from_joints(detections, None, height_m=inputs.extras.get("subject_height_m", 1.70),
                                    progress=False).rig.to(torch.float64)
    except CalibrationRefused as exc:
        raise MethodFailed(f"calibration from joints refused: {exc}") from None
    repaired, _ = fix_left_right(detections, rig)
    settings = ReconstructConfig().triangulation
    kp = keypoints_tensor(repaired, settings.min_confidence)
    tri = rig.triangulate_robust(kp[..., :2], kp[..., 2], threshold_px=settings.threshold_px)
    return (*_known_joints(tri.points, tri.confidence), rig)


def _registry_method(name: str, inputs: MethodInputs) -> tuple[Tensor, Tensor, Tensor]:
    """A ``--method`` of the registry: its body's COCO-17 joints, validity and vertices."""
    from mvmocap.methods import resolve_method

    method: Callable = resolve_method(name)
    params = method(inputs).params.detach().to(dtype=torch.float32, device="cpu")
    body = inputs.body_model
    T = params.global_orient.shape[0]
    with torch.no_grad():
        out = body(global_orient=params.global_orient, body_pose=params.body_pose,
                   betas=params.betas.expand(T, -1), transl=params.transl)
    return out.coco23[:, :17], params.valid.clone(), out.vertices[:, : body.num_vertices]
