"""``PeopleDetections``: every person each camera saw, before anyone is matched across views.

The person axis ``P`` holds up to P detections per camera and frame in no particular
order: slot ``p`` of one camera has nothing to do with slot ``p`` of another camera or of
the next frame. Cross-view association and tracking (:mod:`mvmocap.associate`) turn the
slots into identities; :meth:`PeopleDetections.select` then cuts one person's
:class:`~mvmocap.detect.detections.Detections` out, so that everything downstream of the
single-person pipeline works unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mvmocap.detect.detections import Detections, check_per_detection_arrays
from mvmocap.errors import InputError
from mvmocap.keypoints import COCO23


@dataclass(frozen=True)
class PeopleDetections:
    """Up to ``P`` people per camera and frame.

    Attributes:
        camera_names: ``C`` names, the order of every array.
        frame_ids: ``(F,)`` int timeline frames.
        keypoints: ``(C, F, P, 23, 3)`` float32 x, y pixels + confidence; an empty slot is all 0.
        boxes: ``(C, F, P, 5)`` float32 x0, y0, x1, y1 pixels + score; score 0 = empty slot.
        image_sizes: ``(C, 2)`` int (width, height).
        fps: ``(C,)`` float.
        detector: the backend's name.
        mono3d: optional ``(C, F, P, 23, 4)`` float32 per-view monocular 3D (as in ``Detections``).
        masks: optional ``masks[c][f][p]``: an :class:`~mvmocap.detect.masks.RleMask` or None.
        seconds: optional ``(C, F)`` float detector seconds per image (speed figures).
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
    seconds: np.ndarray | None = None

    def __post_init__(self) -> None:
        C, F = len(self.camera_names), len(self.frame_ids)
        kp = np.asarray(self.keypoints)
        if kp.ndim != 5 or kp.shape[:2] != (C, F) or kp.shape[3:] != (len(COCO23), 3):
            raise InputError(f"people keypoints must have shape ({C}, {F}, P, {len(COCO23)}, 3), got {kp.shape}")
        check_per_detection_arrays(kp, self.boxes, self.image_sizes, self.mono3d, what="people ")

    @property
    def num_cameras(self) -> int:
        return len(self.camera_names)

    @property
    def num_frames(self) -> int:
        return len(self.frame_ids)

    @property
    def num_slots(self) -> int:
        return self.keypoints.shape[2]

    @property
    def present(self) -> np.ndarray:
        """``(C, F, P)`` bool: the slot holds a person."""
        return self.boxes[..., 4] > 0

    def subset_cameras(self, names) -> "PeopleDetections":
        """The same detections restricted to (and reordered as) ``names``."""
        missing = [n for n in names if n not in self.camera_names]
        if missing:
            raise InputError(f"no detections for camera(s) {', '.join(missing)}; have {', '.join(self.camera_names)}")
        idx = [self.camera_names.index(n) for n in names]
        return PeopleDetections(
            camera_names=tuple(names), frame_ids=self.frame_ids, keypoints=self.keypoints[idx],
            boxes=self.boxes[idx], image_sizes=self.image_sizes[idx], fps=self.fps[idx], detector=self.detector,
            mono3d=None if self.mono3d is None else self.mono3d[idx],
            masks=None if self.masks is None else [self.masks[i] for i in idx],
            seconds=None if self.seconds is None else self.seconds[idx],
        )

    def select(self, slots: np.ndarray) -> Detections:
        """One person's :class:`Detections`: ``slots (C, F)`` int, the slot per camera and frame, -1 = not seen."""
        slots = np.asarray(slots, np.int64)
        if slots.shape != (self.num_cameras, self.num_frames):
            raise InputError(f"slots must have shape ({self.num_cameras}, {self.num_frames}), got {slots.shape}")
        seen = slots >= 0
        index = np.where(seen, slots, 0)[..., None]

        def take(array: np.ndarray) -> np.ndarray:
            picked = np.take_along_axis(array, index.reshape(index.shape + (1,) * (array.ndim - 3)), axis=2)[:, :, 0]
            return np.where(seen.reshape(seen.shape + (1,) * (picked.ndim - 2)), picked, 0).astype(array.dtype)

        masks = None
        if self.masks is not None:
            masks = [[self.masks[c][f][slots[c, f]] if seen[c, f] else None for f in range(self.num_frames)]
                     for c in range(self.num_cameras)]
        return Detections(
            camera_names=self.camera_names, frame_ids=self.frame_ids, keypoints=take(self.keypoints),
            boxes=take(self.boxes), image_sizes=self.image_sizes, fps=self.fps, detector=self.detector,
            mono3d=None if self.mono3d is None else take(self.mono3d), masks=masks,
        )
