"""``CameraTrack``: one camera's unsynchronised 2D evidence on its own frame numbers.

The sync stage sits between detections and cameras. Its input is a track per
camera (any length, any frame rate); its output is :class:`Detections` on one
common timeline. Timeline convention (as ``--offset``): a camera with offset
``o`` (in timeline frames) and rate ratio ``r = fps_timeline / fps_camera``
shows its own frame ``i`` at timeline time ``o + r * i``; ``o > 0`` means it
started late.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError


@dataclass(frozen=True)
class CameraTrack:
    """One camera's tracked person over its own frames.

    Attributes:
        name: camera name.
        keypoints: ``(F_c, J, 3)`` x, y pixels and confidence (0 = missing).
        boxes: ``(F_c, 5)`` x0, y0, x1, y1 pixels and a score.
        fps: frames per second (0 = unknown: taken as the timeline's rate).
        image_size: ``(width, height)`` pixels.
        mono3d: optional ``(F_c, J, 4)`` monocular 3D joints with a confidence.
    """

    name: str
    keypoints: np.ndarray
    boxes: np.ndarray
    fps: float
    image_size: tuple[int, int]
    mono3d: np.ndarray | None = None

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints)
        if kp.ndim != 3 or kp.shape[-1] != 3 or kp.shape[0] < 2:
            raise InputError(f"camera {self.name}: keypoints must have shape (F >= 2, J, 3), got {kp.shape}")
        if np.asarray(self.boxes).shape != (kp.shape[0], 5):
            raise InputError(f"camera {self.name}: boxes must have shape ({kp.shape[0]}, 5)")

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def duration_s(self) -> float | None:
        return self.num_frames / self.fps if self.fps > 0 else None


def tracks_from_detections(detections: Detections) -> list[CameraTrack]:
    """Split :class:`Detections` (all cameras on the same frame positions) into per-camera tracks."""
    return [
        CameraTrack(
            name=name,
            keypoints=np.asarray(detections.keypoints[c], np.float64),
            boxes=np.asarray(detections.boxes[c], np.float64),
            fps=float(detections.fps[c]),
            image_size=(int(detections.image_sizes[c, 0]), int(detections.image_sizes[c, 1])),
            mono3d=None if detections.mono3d is None else np.asarray(detections.mono3d[c], np.float64),
        )
        for c, name in enumerate(detections.camera_names)
    ]


def tracks_from_cache(cameras) -> list[CameraTrack]:
    """Tracks from :class:`mvmocap.detect.cache.CameraDetections` (each over its own frames)."""
    return [
        CameraTrack(
            name=cam.camera,
            keypoints=np.asarray(cam.keypoints, np.float64),
            boxes=np.asarray(cam.boxes, np.float64),
            fps=float(cam.fps),
            image_size=tuple(int(v) for v in cam.image_size),
            mono3d=None if cam.mono3d is None else np.asarray(cam.mono3d, np.float64),
        )
        for cam in cameras
    ]


def rate_ratios(tracks: list[CameraTrack], reference: int) -> np.ndarray:
    """``(C,)`` timeline frames per camera frame: ``fps_reference / fps_c`` (1 where a rate is unknown)."""
    ref = tracks[reference].fps
    return np.array([ref / t.fps if (ref > 0 and t.fps > 0) else 1.0 for t in tracks])


def reference_camera(tracks: list[CameraTrack]) -> int:
    """The timeline's camera: the highest frame rate, the first on a tie."""
    rates = np.array([t.fps for t in tracks])
    return int(np.argmax(np.round(rates, 3)))
