"""MetaPose as the start of the static calibration: ``calibrate --from-joints --init metapose``, ``reconstruct --static-rig``.

For every frame-set of the calibration's observations (undistorted, centred pixels; COCO-17 of the
23 joints; BlazePose's world landmarks as monocular 3D) MetaPose estimates weak-projection
cameras: stage 1 alone (``metapose-s1``, closed form, no checkpoint) or stage 1 + the trained
neural optimizer (``metapose``, the checkpoint of :func:`mvmocap.regressors.metapose.inference.checkpoint_file`).
:mod:`mvmocap.calibrate.init_frame_cameras` averages them into one pinhole rig, which the bundle
adjustment of :func:`mvmocap.calibrate.calibrate_from_joints` starts from instead of its own starts.

The calibration package cannot import this one (it sits below the regressors): the start is handed
down as a function ``Observations -> FrameCameras`` (:func:`metapose_start`), found through the registry
(:data:`CALIBRATION_STARTS`, :func:`mvmocap.methods.registry.calibration_start`).

Shapes: ``F`` frame-sets, ``C`` views, ``J = 17`` joints.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import torch
from torch import Tensor

from mvmocap.calibrate.init_frame_cameras import FrameCameras, FrameCamerasFunction
from mvmocap.calibrate.observations import Observations
from mvmocap.errors import InputError
from mvmocap.geometry.weak_projection import weak_camera_from_vector
from mvmocap.regressors.metapose.inputs import NUM_JOINTS, prepare_inputs, reference_view

# BlazePose's world landmarks are posed along the ray to the person (it sees a crop centred on them), not along
# the optical axis: turning each view by its ray's rotation before averaging lowered the demo's averaged S1 start
# error from 18.8 / 12.3 / 18.1 to 16.0 / 3.7 / 12.4 deg (mvmocap/calibrate/init_frame_cameras.py, step 1)
MONO3D_RAY_ALIGNED = True


def metapose_start(solver: str = "s2", checkpoint: str | None = None) -> FrameCamerasFunction:
    """``Observations -> FrameCameras`` by MetaPose ``solver`` (``"s1"`` or ``"s2"``, which loads ``checkpoint``)."""
    from mvmocap.regressors.metapose.inference import load_optimizer

    if solver not in ("s1", "s2"):
        raise InputError(f"the metapose start takes solver 's1' or 's2', got {solver!r}")
    optimizer = load_optimizer(checkpoint)[0] if solver == "s2" else None
    label = "metapose" if solver == "s2" else "metapose-s1"
    return partial(observation_frame_cameras, solver=solver, optimizer=optimizer, label=label)


CALIBRATION_STARTS = {  # --init NAME: factory(checkpoint=None) -> Observations -> FrameCameras
    "metapose": partial(metapose_start, "s2"),
    "metapose-s1": lambda checkpoint=None: metapose_start("s1"),
}


def observation_frame_cameras(obs: Observations, solver: str = "s1", optimizer=None, label: str = "metapose") -> FrameCameras:
    """MetaPose's cameras for every frame-set of ``obs`` (the calibration's observations)."""
    if obs.mono3d is None or not (obs.mono_weight > 0).any():
        raise InputError("the metapose start needs monocular 3D joints (BlazePose world landmarks): detect with "
                         "the blazepose detector, or use --init auto")
    tick = time.perf_counter()
    R, scale, shift, valid = weak_cameras(_frame_sets(obs.uv), _frame_sets(obs.weight), _frame_sets(obs.mono3d),
                                          _frame_sets(obs.mono_weight), solver, optimizer)
    return FrameCameras(label, R.double().numpy(), scale.double().numpy(), shift.double().numpy(), valid.numpy(),
                        time.perf_counter() - tick, ray_aligned=MONO3D_RAY_ALIGNED)


def _frame_sets(values: np.ndarray) -> Tensor:
    """The observations' ``(C, F, 23, ...)`` -> MetaPose's ``(F, C, 17, ...)``."""
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(values[:, :, :NUM_JOINTS], 0, 1)))


def weak_cameras(keypoints: Tensor, confidence: Tensor, mono3d: Tensor, mono_weight: Tensor, solver: str = "s1",
                 optimizer=None, reference: int | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """MetaPose's weak cameras of each frame-set, in the keypoints' pixels.

    Args:
        keypoints: ``(F, C, J, 2)`` pixels (any per-view origin); confidence ``(F, C, J)`` (0 = missing).
        mono3d: ``(F, C, J, 3)`` monocular joints, metres, camera axes; mono_weight ``(F, C, J)``.
        solver: ``"s1"`` or ``"s2"`` (with ``optimizer``), as :func:`mvmocap.regressors.metapose.inference.estimate`.
        reference: the view stage 1 aligns the others to (None: the view usable in most frame-sets);
            frame-sets where it is not usable are left out.

    Returns:
        ``R (F, C, 3, 3)`` body frame -> camera c, ``scale (F, C)`` pixels per metre, ``shift (F, C, 2)``
        pixels (where the body frame's origin projects), ``valid (F, C)`` bool.
    """
    from mvmocap.regressors.metapose.inference import estimate

    ref = reference_view(confidence) if reference is None else reference
    order = [ref] + [c for c in range(keypoints.shape[1]) if c != ref]  # MetaPose's camera 0 is the reference
    back = torch.as_tensor(np.argsort(order))
    f32 = lambda x: x[:, order].to(torch.float32)  # noqa: E731
    inputs = prepare_inputs(f32(keypoints), f32(confidence), f32(mono3d), f32(mono_weight))
    _, cameras = estimate(inputs, solver, optimizer)
    R, scale, shift = weak_camera_from_vector(cameras)
    # normalised view units -> pixels: x_px = box * x + centre
    scale_px = scale * inputs.box
    shift_px = shift * inputs.box[..., None] + inputs.centre
    valid = inputs.view_valid & inputs.view_valid[:, :1]
    return R[:, back], scale_px[:, back], shift_px[:, back], valid[:, back]
