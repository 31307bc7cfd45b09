"""``Observations``: detections prepared for calibration (undistorted, centred, weighted).

Every solver in :mod:`mvmocap.calibrate` works on *ideal centred pixels*: the
detected pixels with the lens distortion removed and the principal point moved
to the origin, so a camera projects ``uv = f * (x / z, y / z)`` for a point
``(x, y, z)`` in its OpenCV frame. With known intrinsics ``f = (fx, fy)`` is
fixed; without, the principal point is the image centre, there is no
distortion and one focal length per camera is estimated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.projection import undistort_points
from mvmocap.keypoints import COCO23, flip_permutation

MIN_VIEWS_JOINTS = 50  # a camera needs at least this many confident joints to be calibrated
SIZE_TOLERANCE = 0.02  # intrinsics and video sizes may differ this much (cropped borders, e.g. 1088 vs 1080)


@dataclass(frozen=True)
class Observations:
    """2D (and monocular 3D) evidence of C cameras over F frames and J joints.

    Attributes:
        names: ``C`` camera names.
        uv: ``(C, F, J, 2)`` ideal centred pixels (undistorted, principal point at 0).
        weight: ``(C, F, J)`` confidence in [0, 1]; 0 = missing or rejected.
        focal: ``(C, 2)`` focal lengths ``(fx, fy)`` pixels (a first guess when unknown).
        focal_known: whether ``focal`` comes from a calibration (then it is not optimised).
        principal: ``(C, 2)`` principal point ``(cx, cy)`` pixels, for writing the cameras.
        image_sizes: ``(C, 2)`` (width, height) pixels.
        mono3d: ``(C, F, J, 3)`` monocular 3D joints, metres, hip-centred, camera axes; or None.
        mono_weight: ``(C, F, J)`` their confidence (zeros when ``mono3d`` is None).
        frame_ids: ``(F,)`` the detections' frame numbers that were kept.
        intrinsics: the known intrinsics (names as ``names``) or None.
        person: ``(F,)`` int, whose joints each frame holds when the frames stack several
            people (:func:`mvmocap.calibrate.calibrate_from_people_joints`); None: one person.
    """

    names: tuple[str, ...]
    uv: np.ndarray
    weight: np.ndarray
    focal: np.ndarray
    focal_known: bool
    principal: np.ndarray
    image_sizes: np.ndarray
    mono3d: np.ndarray | None
    mono_weight: np.ndarray
    frame_ids: np.ndarray
    intrinsics: CameraRig | None
    person: np.ndarray | None = None

    @property
    def num_cameras(self) -> int:
        return len(self.names)

    @property
    def num_frames(self) -> int:
        return self.uv.shape[1]

    def normalized(self) -> np.ndarray:
        """``(C, F, J, 2)`` normalised image coordinates ``uv / f``."""
        return self.uv / self.focal[:, None, None, :]

    def with_focal(self, focal: np.ndarray) -> "Observations":
        """The same observations with another focal guess ``(C, 2)`` (unknown intrinsics only)."""
        return replace(self, focal=np.asarray(focal, dtype=np.float64))

    def flipped(self, views: np.ndarray) -> "Observations":
        """Left and right labels swapped in the views where ``views (C, F)`` is True."""
        views = np.asarray(views, dtype=bool)
        if not views.any():
            return self
        perm = np.array(flip_permutation(COCO23[: self.uv.shape[2]]))
        uv, weight = self.uv.copy(), self.weight.copy()
        uv[views] = uv[views][:, perm]
        weight[views] = weight[views][:, perm]
        mono3d, mono_weight = self.mono3d, self.mono_weight
        if mono3d is not None:
            mono3d, mono_weight = mono3d.copy(), mono_weight.copy()
            mono3d[views] = mono3d[views][:, perm]
            mono_weight[views] = mono_weight[views][:, perm]
        return replace(self, uv=uv, weight=weight, mono3d=mono3d, mono_weight=mono_weight)

    def with_weight(self, weight: np.ndarray) -> "Observations":
        return replace(self, weight=np.asarray(weight, dtype=np.float64))


def _check_sizes(names: tuple[str, ...], calibrated: np.ndarray, detected: np.ndarray) -> None:
    """Refuse intrinsics calibrated at another image size (a rotated or rescaled video) than the detections'."""
    mismatch = np.abs(calibrated / detected - 1).max(axis=1) > SIZE_TOLERANCE
    if mismatch.any():
        c = int(np.argmax(mismatch))
        raise InputError(
            f"camera {names[c]}: the intrinsics are for {int(calibrated[c, 0])}x{int(calibrated[c, 1])} images "
            f"but the video is {int(detected[c, 0])}x{int(detected[c, 1])}; give intrinsics of the same resolution "
            "and orientation (or none, to estimate the focal lengths)"
        )


def _as_coco23(points: np.ndarray) -> np.ndarray:
    """``(C, F, J, D)`` with J <= 23 (a prefix of COCO-23, e.g. COCO-17) -> ``(C, F, 23, D)``, missing = 0."""
    J = points.shape[2]
    if J > len(COCO23):
        raise InputError(f"detections have {J} joints; calibration expects the COCO-23 layout (or COCO-17)")
    return np.pad(points, ((0, 0), (0, 0), (0, len(COCO23) - J), (0, 0)))


def default_focal_guess(image_sizes: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """``(C, 2)`` focal guess ``factor * max(width, height)`` pixels (a ~53 degree field of view at 1)."""
    f = factor * np.asarray(image_sizes, dtype=np.float64).max(axis=1)
    return np.stack([f, f], axis=1)


def prepare_observations(
    detections: Detections,
    intrinsics: CameraRig | None,
    *,
    min_confidence: float = 0.3,
    max_frames: int = 200,
    frame_person: np.ndarray | None = None,
) -> Observations:
    """Undistort and centre the detected joints; drop weak ones (confidence < ``min_confidence``).

    Args:
        detections: C >= 2 cameras, F frames, COCO-23 joints.
        intrinsics: known cameras matched by name (their K and distortion are
            used, their extrinsics ignored), or None for unknown intrinsics.
        max_frames: frames are subsampled evenly down to this many.
        frame_person: ``(F,)`` int, whose joints each frame holds (several people stacked); or None.

    Raises:
        InputError: fewer than two cameras, intrinsics missing for a camera.
    """
    names = tuple(detections.camera_names)
    if len(names) < 2:
        raise InputError(
            f"calibration from joints needs at least 2 cameras; the detections have {len(names)} ({', '.join(names)})"
        )
    F = detections.num_frames
    frames = np.unique(np.linspace(0, F - 1, min(F, max_frames)).round().astype(int))
    keypoints = _as_coco23(np.asarray(detections.keypoints, dtype=np.float64)[:, frames])
    weight = keypoints[..., 2].copy()
    weight[weight < min_confidence] = 0.0
    sizes = np.asarray(detections.image_sizes, dtype=np.float64)
    if intrinsics is not None:
        missing = [n for n in names if n not in intrinsics.names]
        if missing:
            raise InputError(
                f"the intrinsics have no camera named {', '.join(missing)} (they have {', '.join(intrinsics.names)}); "
                "camera names must match the video names"
            )
        intrinsics = intrinsics.subset(names).to(torch.float64)
        _check_sizes(names, intrinsics.sizes.numpy(), sizes)
        K = intrinsics.K
        normalized = undistort_points(torch.as_tensor(keypoints[..., :2]), K[:, None], intrinsics.dist[:, None])
        focal = torch.stack([K[:, 0, 0], K[:, 1, 1]], -1).numpy()
        uv = normalized.numpy() * focal[:, None, None, :]
        principal = K[:, :2, 2].numpy()
    else:
        principal = sizes / 2.0
        uv = keypoints[..., :2] - principal[:, None, None, :]
        focal = default_focal_guess(sizes)
    mono3d, mono_weight = None, np.zeros_like(weight)
    if detections.mono3d is not None:
        mono = _as_coco23(np.asarray(detections.mono3d, dtype=np.float64)[:, frames])
        mono3d = mono[..., :3]
        mono_weight = np.where(weight > 0, mono[..., 3], 0.0)
    uv = np.where(weight[..., None] > 0, uv, 0.0)
    return Observations(
        names=names,
        uv=uv,
        weight=weight,
        focal=focal,
        focal_known=intrinsics is not None,
        principal=principal,
        image_sizes=sizes,
        mono3d=mono3d,
        mono_weight=mono_weight,
        frame_ids=np.asarray(detections.frame_ids)[frames],
        intrinsics=intrinsics,
        person=None if frame_person is None else np.asarray(frame_person, dtype=np.int64)[frames],
    )
