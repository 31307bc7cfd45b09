"""Initialisation from per-frame cameras: one static rig averaged from cameras estimated frame-set by frame-set.

An estimator above this package (MetaPose, :mod:`mvmocap.regressors.metapose.static_rig`) hands
:func:`mvmocap.calibrate.calibrate_from_joints` a function ``Observations -> FrameCameras``: for
every frame-set, weak-projection cameras ``uv_c ~= s_c (R_c j)[:2] + shift_c`` in the observations'
ideal centred pixels, for the body ``j`` (metres) in a frame of that frame-set. This module turns
them into the pinhole start of the bundle adjustment (:func:`pinholes_from_frame_cameras`):

1. when the rotations are of views along each camera's ray to the body (``ray_aligned``: a
   monocular lifter run on a crop centred on the person, as BlazePose's world landmarks are),
   each is first turned by the rotation taking the optical axis onto that ray
   (:func:`ray_rotations`; the ray through the body's origin, from the shift and the focal length);
   on the demo this lowered the averaged S1 start's rotation error against Qualisys from
   18.8 / 12.3 / 18.1° to 16.0 / 3.7 / 12.4° (``benchmarks/metapose_real.py`` prints both);
2. rotations relative to a reference camera ``r`` (the one usable in most frame-sets),
   ``R_c,f R_r,f^T``, averaged over the frame-sets by the chordal L1 median (robust to a few
   mirrored or wrong frame-sets);
3. where the body's origin sits in each camera, frame by frame: a weak camera is a pinhole at
   the body's depth, so depth ``Z = f / s`` and lateral position ``shift * Z / f``;
4. translations ``t_c = T_c - R_c T_r`` (the origin seen from camera c and from the reference),
   the median over frame-sets.

The world is the reference camera's frame, in the body's metric scale (the gauge fixes both later).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from mvmocap.calibrate.observations import Observations
from mvmocap.calibrate.pinhole import Pinholes
from mvmocap.geometry.rotation_mean import chordal_median

MIN_DEPTH_M = 0.2  # a weak camera placing the body closer than this is not used for the positions


@dataclass(frozen=True)
class FrameCameras:
    """Weak-projection cameras of C views in F frame-sets, in the observations' frames and pixels.

    Attributes:
        label: the start's name in the calibration report (e.g. ``"metapose"``).
        R: ``(F, C, 3, 3)`` rotations from the frame-set's body frame into camera c's OpenCV axes.
        scale: ``(F, C)`` ideal centred pixels per metre.
        shift: ``(F, C, 2)`` ideal centred pixels: where the body frame's origin projects.
        valid: ``(F, C)`` bool, the cameras estimated in each frame-set.
        seconds: wall time of the estimate.
        ray_aligned: the rotations are to each view's ray through the body's origin rather than to the
            camera's optical axis (module docstring, step 1).
    """

    label: str
    R: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    valid: np.ndarray
    seconds: float = 0.0
    ray_aligned: bool = False


FrameCamerasFunction = Callable[[Observations], FrameCameras]


def ray_rotations(shift: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """``(..., C, 3, 3)``: the smallest rotation taking the optical axis ``(0, 0, 1)`` onto the ray through
    ``shift (..., C, 2)`` ideal centred pixels, for focal lengths ``focal (C, 2)`` pixels."""
    ray = np.concatenate([shift / focal, np.ones_like(shift[..., :1])], -1)
    ray = ray / np.linalg.norm(ray, axis=-1, keepdims=True)
    # Rodrigues for z -> d: I + [v]x + [v]x^2 / (1 + c), v = z x d = (-d_y, d_x, 0), c = d_z > 0
    v = np.stack([-ray[..., 1], ray[..., 0], np.zeros_like(ray[..., 0])], -1)
    K = np.zeros(ray.shape[:-1] + (3, 3))
    K[..., 0, 2], K[..., 1, 2], K[..., 2, 0], K[..., 2, 1] = v[..., 1], -v[..., 0], -v[..., 1], v[..., 0]
    return np.eye(3) + K + K @ K / (1.0 + ray[..., 2])[..., None, None]


def reference_camera(valid: np.ndarray) -> int:
    """The camera usable in most frame-sets, ``valid (F, C)``."""
    return int(np.argmax(np.asarray(valid).sum(0)))


def average_relative_rotations(R: np.ndarray, valid: np.ndarray, reference: int) -> tuple[np.ndarray, np.ndarray]:
    """``R_c`` = chordal L1 median over frame-sets of ``R_c,f R_r,f^T``: ``R (F, C, 3, 3)``, ``valid (F, C)``.

    Returns ``(C, 3, 3)`` (the identity for the reference) and ``(C,)`` how many frame-sets each used."""
    relative = np.einsum("fcij,fkj->fcik", R, R[:, reference])  # R_c,f R_r,f^T
    both = valid & valid[:, reference : reference + 1]
    mean = chordal_median(torch.from_numpy(relative.transpose(1, 0, 2, 3)), torch.from_numpy(both.T.astype(np.float64)))
    mean = mean.numpy()
    mean[reference] = np.eye(3)
    return mean, both.sum(0)


def origin_positions(scale: np.ndarray, shift: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """``(F, C, 3)`` metres: the body origin in each camera's frame, from weak cameras ``scale (F, C)``,
    ``shift (F, C, 2)`` (ideal centred pixels) and pinhole focal lengths ``focal (C, 2)``."""
    mean_focal = np.sqrt(focal[:, 0] * focal[:, 1])  # (C,)
    depth = mean_focal / np.maximum(scale, 1e-9)  # s = f / Z
    lateral = shift * depth[..., None] / focal  # shift = f X / Z
    return np.concatenate([lateral, depth[..., None]], -1)


def pinholes_from_frame_cameras(frames: FrameCameras, focal: np.ndarray, reference: int | None = None) -> Pinholes | None:
    """The static pinhole rig ``(R, t, focal)`` averaged from per-frame weak cameras (module docstring).

    ``focal (C, 2)`` pixels (known, or a guess). None when a camera shares no frame-set with the
    reference (it cannot be placed)."""
    valid = np.asarray(frames.valid, dtype=bool) & (np.asarray(frames.scale) > 0)
    ref = reference_camera(valid) if reference is None else reference
    R = np.asarray(frames.R, dtype=np.float64)
    if frames.ray_aligned:
        R = ray_rotations(np.asarray(frames.shift, dtype=np.float64), focal) @ R
    R, counts = average_relative_rotations(R, valid, ref)
    T = origin_positions(np.asarray(frames.scale, dtype=np.float64), np.asarray(frames.shift, dtype=np.float64), focal)
    usable = valid & (T[..., 2] > MIN_DEPTH_M)
    both = usable & usable[:, ref : ref + 1]
    if (counts == 0).any() or not both.any(0).all():
        return None
    # T_c,f = R_c T_r,f + t_c in every frame-set
    offsets = T - np.einsum("cij,fj->fci", R, T[:, ref])
    t = np.stack([np.median(offsets[both[:, c], c], axis=0) for c in range(R.shape[0])])
    t[ref] = 0.0
    return Pinholes(R, t, np.asarray(focal, dtype=np.float64).copy())
