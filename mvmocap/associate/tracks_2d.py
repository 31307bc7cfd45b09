"""People tracked over time inside one camera, in 2D only: no cameras needed.

Used to bootstrap calibration from several people's joints (the cross-view association needs
cameras; these per-camera tracks do not). Frame by frame, the live tracks are matched to the
frame's detections by the Hungarian method on ``1 - IoU(boxes) + keypoint distance`` (median over
the joints confident in both, in box diagonals); a match needs IoU >= ``min_overlap`` and a keypoint
distance <= ``max_keypoint_distance``. A track unseen for more than ``max_gap`` frames ends.

Shapes: ``keypoints (F, P, 23, 3)`` pixels + confidence, ``boxes (F, P, 5)`` x0, y0, x1, y1 pixels + score
(score 0 = empty slot). A track is ``slots (F,)`` int, the slot it holds per frame, -1 where unseen.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

MIN_OVERLAP = 0.2
MAX_KEYPOINT_DISTANCE = 0.5  # box diagonals
MAX_GAP = 10  # frames
CONFIDENT = 0.3


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(A, B)`` intersection over union of boxes ``a (A, 4+)`` and ``b (B, 4+)`` (x0, y0, x1, y1)."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda box: np.clip(box[:, 2] - box[:, 0], 0, None) * np.clip(box[:, 3] - box[:, 1], 0, None)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def keypoint_distance(a: np.ndarray, b: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """``(A, B)`` median distance between the joints confident in both, over ``diagonal (A,)`` pixels;
    inf where no joint is confident in both. ``a (A, 23, 3)``, ``b (B, 23, 3)``."""
    both = (a[:, None, :, 2] > CONFIDENT) & (b[None, :, :, 2] > CONFIDENT)
    gap = np.linalg.norm(a[:, None, :, :2] - b[None, :, :, :2], axis=-1)
    gap = np.where(both, gap, np.nan)
    any_joint = both.any(-1)
    median = np.nanmedian(np.where(any_joint[..., None], gap, 0.0), axis=-1)
    return np.where(any_joint, median / np.maximum(diagonal[:, None], 1.0), np.inf)


def track_camera(keypoints: np.ndarray, boxes: np.ndarray, *, min_overlap: float = MIN_OVERLAP,
                 max_keypoint_distance: float = MAX_KEYPOINT_DISTANCE, max_gap: int = MAX_GAP) -> np.ndarray:
    """``(T, F)`` int: the slot of each 2D track per frame (-1 unseen), tracks in order of birth."""
    num_frames = keypoints.shape[0]
    tracks: list[np.ndarray] = []
    last_seen: list[int] = []
    for f in range(num_frames):
        present = np.flatnonzero(boxes[f, :, 4] > 0)
        live = [k for k in range(len(tracks)) if f - last_seen[k] <= max_gap + 1]
        matched: set[int] = set()
        if live and present.size:
            last_box = np.stack([boxes[last_seen[k], tracks[k][last_seen[k]]] for k in live])
            last_kp = np.stack([keypoints[last_seen[k], tracks[k][last_seen[k]]] for k in live])
            iou = box_iou(last_box, boxes[f, present])
            diagonal = np.hypot(last_box[:, 2] - last_box[:, 0], last_box[:, 3] - last_box[:, 1])
            distance = keypoint_distance(last_kp, keypoints[f, present], diagonal)
            allowed = (iou >= min_overlap) & (distance <= max_keypoint_distance)
            cost = np.where(allowed, 1.0 - iou + np.where(np.isfinite(distance), distance, 0.0), 1e6)
            for i, j in zip(*linear_sum_assignment(cost)):
                if allowed[i, j]:
                    k = live[i]
                    tracks[k][f] = present[j]
                    last_seen[k] = f
                    matched.add(int(present[j]))
        for p in present:
            if int(p) not in matched:  # a new track
                slots = np.full(num_frames, -1, np.int64)
                slots[f] = p
                tracks.append(slots)
                last_seen.append(f)
    return np.stack(tracks) if tracks else np.zeros((0, num_frames), np.int64)


def track_salience(slots: np.ndarray, boxes: np.ndarray, image_diagonal: float) -> np.ndarray:
    """``(T,)`` how long and how large each track was: the sum over its frames of its box diagonal
    over the image diagonal (a long track of a small bystander at the back weighs less than one of
    the people in front). ``slots (T, F)``, ``boxes (F, P, 5)``."""
    seen = slots >= 0
    picked = np.take_along_axis(boxes[None], np.where(seen, slots, 0)[..., None, None], axis=2)[:, :, 0]  # (T, F, 5)
    diagonal = np.hypot(picked[..., 2] - picked[..., 0], picked[..., 3] - picked[..., 1]) / image_diagonal
    return np.where(seen, diagonal, 0.0).sum(-1)
