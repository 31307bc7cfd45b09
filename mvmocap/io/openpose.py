"""OpenPose per-frame JSON: import (BODY_25, COCO-18, HALPE-26 -> COCO-17 + feet) and export.

The interchange format of Pose2Sim, EasyMocap and FreeMoCap: one file per
frame, ``<name>_<frame:012d>_keypoints.json``, holding
``{"version": ..., "people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...]}, ...]}``.
A point OpenPose did not find is written as ``0, 0, 0``. The skeleton is
recognised from the number of points per person.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.io.atomic import atomic_write_text
from mvmocap.io.safe_read import JSON_FRAME_MAX_BYTES, load_json
from mvmocap.keypoints import COCO23

# Index in each OpenPose layout of every COCO23 point (-1: the layout lacks it).
LAYOUT_TO_COCO23 = {
    # BODY_25: 0 nose, 1 neck, 2-4 right arm, 5-7 left arm, 8 mid-hip, 9-11 right leg, 12-14 left leg,
    # 15/16 right/left eye, 17/18 right/left ear, 19-21 left big toe/small toe/heel, 22-24 right.
    "body25": (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11, 19, 20, 21, 22, 23, 24),
    # COCO-18 (OpenPose): 0 nose, 1 neck, 2-4 right arm, 5-7 left arm, 8-10 right leg, 11-13 left leg,
    # 14/15 right/left eye, 16/17 right/left ear; no feet.
    "coco18": (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10, -1, -1, -1, -1, -1, -1),
    # HALPE-26: 0-16 = COCO-17 order, 17 head, 18 neck, 19 hip, 20/21 left/right big toe,
    # 22/23 left/right small toe, 24/25 left/right heel.
    "halpe26": tuple(range(17)) + (20, 22, 24, 21, 23, 25),
}
LAYOUT_SIZES = {"body25": 25, "coco18": 18, "halpe26": 26}
MAX_COORDINATE_PX = 1e5  # farther from the image origin than any camera's image: not a detection
_FRAME_NUMBER = re.compile(r"(\d+)(?:_keypoints)?\.json$")

for _layout, _index in LAYOUT_TO_COCO23.items():
    assert len(_index) == len(COCO23), _layout


def layout_for(num_points: int) -> str:
    """The layout name for ``num_points`` per person; :class:`InputError` if unknown."""
    for name, size in LAYOUT_SIZES.items():
        if size == num_points:
            return name
    raise InputError(f"unknown OpenPose skeleton with {num_points} points (supported: BODY_25, COCO-18, HALPE-26)")


def to_coco23(points: np.ndarray, layout: str) -> np.ndarray:
    """``(..., K, 3)`` points of an OpenPose ``layout`` -> ``(..., 23, 3)``; absent points are 0."""
    index = np.array(LAYOUT_TO_COCO23[layout])
    points = np.asarray(points, np.float32)
    out = points[..., np.maximum(index, 0), :].copy()
    out[..., index < 0, :] = 0
    return out


def from_coco23(points: np.ndarray, layout: str = "body25") -> np.ndarray:
    """``(..., 23, 3)`` -> ``(..., K, 3)`` in an OpenPose ``layout``.

    The points our layout lacks are derived: neck = mid-shoulder, mid-hip /
    HALPE hip = mid-hip, with the smaller confidence of the two; HALPE head = 0.
    """
    points = np.asarray(points, np.float32)
    size = LAYOUT_SIZES[layout]
    out = np.zeros(points.shape[:-2] + (size, 3), np.float32)
    for ours, theirs in enumerate(LAYOUT_TO_COCO23[layout]):
        if theirs >= 0:
            out[..., theirs, :] = points[..., ours, :]
    derived = {"body25": {1: (5, 6), 8: (11, 12)}, "coco18": {1: (5, 6)}, "halpe26": {18: (5, 6), 19: (11, 12)}}
    for theirs, (a, b) in derived[layout].items():
        conf = np.minimum(points[..., a, 2], points[..., b, 2])
        mid = (points[..., a, :2] + points[..., b, :2]) / 2
        out[..., theirs, :2] = np.where(conf[..., None] > 0, mid, 0)
        out[..., theirs, 2] = conf
    return out


def read_frame(path: str | Path) -> np.ndarray:
    """One OpenPose JSON -> ``(N, 23, 3)`` float32 people (x, y px, confidence); see :func:`read_frame_counted`."""
    return read_frame_counted(path)[0]


def read_frame_counted(path: str | Path) -> tuple[np.ndarray, int]:
    """One OpenPose JSON -> ``(N, 23, 3)`` float32 people and the number of points made missing.

    A point with a non-finite value, a negative confidence or a value beyond
    :data:`MAX_COORDINATE_PX` is not a detection: it becomes missing (0, 0, 0) and is counted,
    so the caller can warn.
    """
    path = Path(path)
    data = load_json(path, JSON_FRAME_MAX_BYTES, "OpenPose JSON file")
    try:
        people = [np.asarray(p["pose_keypoints_2d"], np.float64) for p in data["people"]]
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
        raise FileFormatError(path, f"not an OpenPose keypoints JSON ({exc.__class__.__name__}: {exc})") from None
    if any(p.ndim != 1 for p in people):
        raise FileFormatError(path, "pose_keypoints_2d must be flat lists of numbers")
    if not people:
        return np.zeros((0, len(COCO23), 3), np.float32), 0
    sizes = {p.size for p in people}
    if len(sizes) != 1 or next(iter(sizes)) % 3:
        raise FileFormatError(path, "pose_keypoints_2d lengths differ between people or are not multiples of 3")
    try:
        layout = layout_for(next(iter(sizes)) // 3)
    except InputError as exc:
        raise FileFormatError(path, str(exc)) from None
    stacked = np.stack(people).reshape(len(people), -1, 3)
    bad = ~np.isfinite(stacked).all(-1) | (np.abs(stacked) > MAX_COORDINATE_PX).any(-1) | (stacked[..., 2] < 0)
    stacked[bad] = 0.0
    return to_coco23(stacked.astype(np.float32), layout), int(bad.sum())


def frame_files(folder: str | Path) -> dict[int, Path]:
    """``{frame number: path}`` of the ``*.json`` files in a folder (number = the file name's last digits)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(folder, "OpenPose JSON folder")
    files: dict[int, Path] = {}
    unnumbered = []
    for path in sorted(folder.glob("*.json")):
        match = _FRAME_NUMBER.search(path.name)
        if match is None:
            unnumbered.append(path)
        else:
            files[int(match.group(1))] = path
    if unnumbered:
        raise FileFormatError(unnumbered[0], "OpenPose JSON name without a frame number (expected NAME_000000000012_keypoints.json)")
    if not files:
        raise FileFormatError(folder, "no OpenPose JSON files (*.json)")
    return files


def find_camera_folder(root: str | Path, camera: str) -> Path:
    """The JSON folder of ``camera`` under ``root``: ``<camera>_json`` (Pose2Sim) or ``<camera>``."""
    root = Path(root)
    for candidate in (root / f"{camera}_json", root / camera, root / "pose" / f"{camera}_json"):
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    raise MissingFileError(root / f"{camera}_json", f"OpenPose JSON folder of camera {camera}")


def write_frame(path: str | Path, people: np.ndarray, layout: str = "body25") -> None:
    """Write ``people (N, 23, 3)`` as one OpenPose JSON (atomic)."""
    converted = from_coco23(np.asarray(people, np.float32).reshape(-1, len(COCO23), 3), layout)
    data = {
        "version": 1.3,
        "people": [
            {
                "person_id": [-1],
                "pose_keypoints_2d": [round(float(v), 3) for v in person.reshape(-1)],
                "face_keypoints_2d": [],
                "hand_left_keypoints_2d": [],
                "hand_right_keypoints_2d": [],
                "pose_keypoints_3d": [],
                "face_keypoints_3d": [],
                "hand_left_keypoints_3d": [],
                "hand_right_keypoints_3d": [],
            }
            for person in converted
        ],
    }
    atomic_write_text(path, json.dumps(data))


def export_camera(out_dir: str | Path, camera: str, frame_ids: np.ndarray, keypoints: np.ndarray,
                  layout: str = "body25") -> Path:
    """One camera's ``keypoints (F, 23, 3)`` -> ``out_dir/<camera>_json/<camera>_<frame:012d>_keypoints.json``.

    Frames where nobody was detected (all confidences 0) get an empty ``people`` list.
    """
    folder = Path(out_dir) / f"{camera}_json"
    folder.mkdir(parents=True, exist_ok=True)
    for frame, points in zip(frame_ids, keypoints):
        people = points[None] if np.any(points[:, 2] > 0) else np.zeros((0, len(COCO23), 3), np.float32)
        write_frame(folder / f"{camera}_{int(frame):012d}_keypoints.json", people, layout)
    return folder
