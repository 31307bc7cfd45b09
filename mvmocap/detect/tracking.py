"""Single-person selection and tracking over time (one camera).

The target is first chosen as the largest, most central person; afterwards the
candidate whose box overlaps the previous target box most (IoU) is kept. When
the overlap is lost for ``patience`` frames, the choice starts over.
"""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a (N, 4)`` and ``b (M, 4)`` (x0, y0, x1, y1 pixels) -> ``(N, M)``."""
    a = np.asarray(a, np.float64)[:, None, :4]
    b = np.asarray(b, np.float64)[None, :, :4]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    area_a = (a[..., 2] - a[..., 0]).clip(0) * (a[..., 3] - a[..., 1]).clip(0)
    area_b = (b[..., 2] - b[..., 0]).clip(0) * (b[..., 3] - b[..., 1]).clip(0)
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def salience(boxes: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Score ``(N,)`` favouring large, central, confident boxes ``(N, 5)`` in an image ``(width, height)``.

    Area as a fraction of the image, discounted by the centre's distance to the
    image centre (in half-diagonals), times the detection score.
    """
    width, height = image_size
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0) / float(width * height)
    centre = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
    offset = np.linalg.norm(centre - np.array([width / 2, height / 2]), axis=1) / (0.5 * np.hypot(width, height))
    return area * (1.0 - 0.5 * np.clip(offset, 0, 1)) * boxes[:, 4]


class PersonTracker:
    """Keeps one person over a camera's frames: call :meth:`select` once per frame, in order."""

    def __init__(self, image_size: tuple[int, int], *, min_iou: float = 0.3, patience: int = 15):
        self.image_size = image_size
        self.min_iou = min_iou
        self.patience = patience
        self._last_box: np.ndarray | None = None
        self._missed = 0

    def select(self, boxes: np.ndarray) -> int | None:
        """Index of the target among ``boxes (N, 5)`` for this frame, or None when nobody fits."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 5)
        if len(boxes) == 0:
            return self._miss()
        if self._last_box is not None:
            iou = box_iou(self._last_box[None], boxes)[0]
            best = int(np.argmax(iou))
            if iou[best] >= self.min_iou:
                return self._keep(boxes, best)
            if self._missed < self.patience:
                self._missed += 1
                # the target may be occluded: only switch when nobody overlaps for a while
                return None
        return self._keep(boxes, int(np.argmax(salience(boxes, self.image_size))))

    def _keep(self, boxes: np.ndarray, index: int) -> int:
        self._last_box = boxes[index, :4].copy()
        self._missed = 0
        return index

    def _miss(self) -> None:
        self._missed += 1
        if self._missed > self.patience:
            self._last_box = None
        return None
