"""``Candidates``: every person a detector found in one image, before choosing the target."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.detect.masks import RleMask
from mvmocap.errors import InputError
from mvmocap.keypoints import COCO23

NUM_JOINTS = len(COCO23)


@dataclass(frozen=True)
class Candidates:
    """N people in one image (N may be 0).

    Attributes:
        keypoints: ``(N, 23, 3)`` float32 x, y pixels and confidence in [0, 1] (COCO-17 + feet).
        boxes: ``(N, 5)`` float32 x0, y0, x1, y1 pixels and a detection score in (0, 1].
        mono3d: ``(N, 23, 4)`` float32 camera-axis metres, hip-centred, + confidence; or None.
        masks: N person masks (or None each); or None when the detector makes none.
        iuv: N DensePose IUV crops ``(3, S, S)`` uint8 in the person's box (I part 0..24,
            U and V scaled to 0..255); or None when the detector makes none.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    mono3d: np.ndarray | None = None
    masks: list[RleMask | None] | None = None
    iuv: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if self.keypoints.shape != (n, NUM_JOINTS, 3) or self.boxes.shape != (n, 5):
            raise InputError(f"candidates need keypoints ({n}, {NUM_JOINTS}, 3) and boxes ({n}, 5), "
                             f"got {self.keypoints.shape} and {self.boxes.shape}")
        if self.mono3d is not None and self.mono3d.shape != (n, NUM_JOINTS, 4):
            raise InputError(f"mono3d must be ({n}, {NUM_JOINTS}, 4), got {self.mono3d.shape}")
        if self.masks is not None and len(self.masks) != n:
            raise InputError(f"{len(self.masks)} masks for {n} people")
        if self.iuv is not None and (self.iuv.ndim != 4 or len(self.iuv) != n or self.iuv.shape[1] != 3):
            raise InputError(f"iuv must be ({n}, 3, S, S), got {self.iuv.shape}")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> "Candidates":
        return cls(np.zeros((0, NUM_JOINTS, 3), np.float32), np.zeros((0, 5), np.float32))


def boxes_from_keypoints(keypoints: np.ndarray, margin: float = 0.1, min_confidence: float = 0.1) -> np.ndarray:
    """Box around the confident keypoints ``(N, J, 3)`` -> ``(N, 4)`` x0, y0, x1, y1, grown by ``margin`` each side.

    A person without confident points gets the box of all its points.
    """
    boxes = np.zeros((len(keypoints), 4), np.float32)
    for i, kp in enumerate(keypoints):
        good = kp[:, 2] >= min_confidence
        pts = kp[good, :2] if good.sum() >= 2 else kp[:, :2]
        lo, hi = pts.min(0), pts.max(0)
        pad = margin * (hi - lo)
        boxes[i] = np.concatenate([lo - pad, hi + pad])
    return boxes
