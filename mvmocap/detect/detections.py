"""``Detections``: what the detection stage hands to calibration and fitting."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mvmocap.errors import InputError
from mvmocap.keypoints import COCO23


def check_per_detection_arrays(keypoints: np.ndarray, boxes, image_sizes, mono3d, what: str = "") -> None:
    """The arrays that go with ``keypoints (C, ..., J, 3)``: finite keypoints, ``boxes (C, ..., 5)``,
    ``image_sizes (C, 2)``, ``mono3d (C, ..., J, 4)`` or None; :class:`InputError` naming the first mismatch.
    ``...`` is the frame axis (and the person axis of :class:`mvmocap.detect.people.PeopleDetections`)."""
    lead = keypoints.shape[:-2]
    if not np.all(np.isfinite(keypoints)):
        raise InputError(f"{what}keypoints contain NaN/inf: missing points must have confidence 0 instead")
    if np.asarray(boxes).shape != lead + (5,):
        raise InputError(f"{what}boxes must have shape {lead + (5,)}, got {np.asarray(boxes).shape}")
    if np.asarray(image_sizes).shape != (lead[0], 2):
        raise InputError(f"image_sizes must have shape ({lead[0]}, 2), got {np.asarray(image_sizes).shape}")
    if mono3d is not None and np.asarray(mono3d).shape != keypoints.shape[:-1] + (4,):
        raise InputError(f"mono3d must have shape {keypoints.shape[:-1] + (4,)}, got {np.asarray(mono3d).shape}")


@dataclass(frozen=True)
class Detections:
    """One tracked person's 2D evidence in C synchronised cameras over F frames.

    Attributes:
        camera_names: ``C`` names (video file stems), the same order as every array.
        frame_ids: ``(F,)`` int, frame numbers on the common timeline (after offsets).
        keypoints: ``(C, F, J, 3)`` float32: x, y in pixels (distorted image, as
            detected) and confidence in [0, 1]; J = 23 (COCO-17 + 6 feet,
            :data:`mvmocap.keypoints.COCO23`). Missing: confidence 0, x = y = 0.
        boxes: ``(C, F, 5)`` float32: x0, y0, x1, y1 pixels and a score; score 0 = nobody.
        image_sizes: ``(C, 2)`` int (width, height) pixels.
        fps: ``(C,)`` float frames per second.
        detector: the backend's name, e.g. ``"blazepose"``.
        mono3d: optional ``(C, F, J, 4)`` float32 per-view monocular 3D joints in
            metres, hip-centred, axes of that camera (x right, y down, z forward),
            with a confidence; None when the detector gives none.
        masks: optional per camera, per frame person mask, run-length encoded
            (see the detector's module); None when absent.
            ``masks[c][f]`` is a :class:`mvmocap.detect.masks.RleMask` (possibly at a
            lower resolution than the image: ``decode(size)`` resizes) or None.
        iuv: optional ``(C, F, 3, S, S)`` uint8 DensePose IUV crops inside ``boxes``
            (I = body part 0..24, U, V scaled to 0..255); None when the detector gives none.
    """

    camera_names: tuple[str, ...]
    frame_ids: np.ndarray
    keypoints: np.ndarray
    boxes: np.ndarray
    image_sizes: np.ndarray
    fps: np.ndarray
    detector: str
    mono3d: np.ndarray | None = None
    masks: list | None = field(default=None, repr=False)
    iuv: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        C = len(self.camera_names)
        if len(set(self.camera_names)) != C:
            raise InputError(f"duplicate camera names in detections: {self.camera_names}")
        F = len(self.frame_ids)
        kp = np.asarray(self.keypoints)
        if kp.ndim != 4 or kp.shape[:2] != (C, F) or kp.shape[3] != 3:
            raise InputError(f"keypoints must have shape ({C}, {F}, J, 3), got {kp.shape}")
        check_per_detection_arrays(kp, self.boxes, self.image_sizes, self.mono3d)

    @property
    def num_cameras(self) -> int:
        return len(self.camera_names)

    @property
    def num_frames(self) -> int:
        return len(self.frame_ids)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return COCO23[: self.keypoints.shape[2]]

    def subset_frames(self, frames) -> "Detections":
        """The same detections at the frame positions ``frames`` (indices into 0..F-1, in that order)."""
        idx = np.asarray(frames, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_frames):
            raise InputError(f"frame positions must lie in 0..{self.num_frames - 1}, got {idx.min()}..{idx.max()}")
        return replace(
            self,
            frame_ids=self.frame_ids[idx],
            keypoints=self.keypoints[:, idx],
            boxes=self.boxes[:, idx],
            mono3d=None if self.mono3d is None else self.mono3d[:, idx],
            masks=None if self.masks is None else [[per_camera[i] for i in idx] for per_camera in self.masks],
            iuv=None if self.iuv is None else self.iuv[:, idx],
        )

    def subset_cameras(self, names: list[str] | tuple[str, ...]) -> "Detections":
        """The same detections restricted to (and reordered as) ``names``."""
        missing = [n for n in names if n not in self.camera_names]
        if missing:
            raise InputError(f"no detections for camera(s) {', '.join(missing)}; have {', '.join(self.camera_names)}")
        idx = [self.camera_names.index(n) for n in names]
        return Detections(
            camera_names=tuple(names),
            frame_ids=self.frame_ids,
            keypoints=self.keypoints[idx],
            boxes=self.boxes[idx],
            image_sizes=self.image_sizes[idx],
            fps=self.fps[idx],
            detector=self.detector,
            mono3d=None if self.mono3d is None else self.mono3d[idx],
            masks=None if self.masks is None else [self.masks[i] for i in idx],
            iuv=None if self.iuv is None else self.iuv[idx],
        )
