"""The detection cache: one ``.npz`` per camera under ``WORK_DIR/detections/``.

``detections/<camera>.npz`` (written to a temporary name, then renamed, so a
present file is always complete) holds:

- ``format`` = ``"mvmocap-detections/1"``; ``camera``; ``detector``; ``key``: JSON of
  everything that determines the result (detector settings, source file, size,
  frame count); a rerun reuses the file only when ``key`` and ``frame_ids`` match;
- ``frame_ids (F,)`` common-timeline frames, ``local_frames (F,)`` this camera's own frame numbers;
- ``keypoints (F, 23, 3)`` float32, ``boxes (F, 5)`` float32 (score 0 = nobody);
- ``image_size (2,)`` (width, height), ``fps ()``;
- optional ``mono3d (F, 23, 4)`` float32; masks as ``mask_shapes (F, 2)``,
  ``mask_lengths (F,)`` (-1 = none) and ``mask_counts`` (concatenated RLE runs,
  see :mod:`mvmocap.detect.masks`); ``iuv (F, 3, S, S)`` uint8 DensePose crops in the box.

``detections/index.json`` names the cameras of the last complete run, in order;
it is written last, so its presence means every camera file listed is done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvmocap.detect.masks import RleMask, pack_masks, unpack_masks
from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.io.atomic import atomic_path, atomic_write_text
from mvmocap.io.safe_read import CONFIG_MAX_BYTES, load_json

FORMAT = "mvmocap-detections/1"
INDEX_FORMAT = "mvmocap-detections-index/1"


@dataclass(frozen=True)
class CameraDetections:
    """One camera's tracked person over the planned frames (arrays as in the module docstring)."""

    camera: str
    detector: str
    key: str
    frame_ids: np.ndarray
    local_frames: np.ndarray
    keypoints: np.ndarray
    boxes: np.ndarray
    image_size: tuple[int, int]
    fps: float
    mono3d: np.ndarray | None = None
    masks: list[RleMask | None] | None = None
    iuv: np.ndarray | None = None


def detections_dir(work_dir: str | Path) -> Path:
    return Path(work_dir) / "detections"


def camera_file(work_dir: str | Path, camera: str) -> Path:
    return detections_dir(work_dir) / f"{camera}.npz"


def make_key(detector: str, settings: dict, source: dict) -> str:
    """Canonical JSON of what determines a camera's detections."""
    return json.dumps({"format": FORMAT, "detector": detector, "settings": settings, "source": source},
                      sort_keys=True, default=str)


def save_camera(work_dir: str | Path, det: CameraDetections) -> Path:
    """Write ``det`` atomically to ``detections/<camera>.npz``."""
    arrays = {
        "format": np.array(FORMAT),
        "camera": np.array(det.camera),
        "detector": np.array(det.detector),
        "key": np.array(det.key),
        "frame_ids": np.asarray(det.frame_ids, np.int64),
        "local_frames": np.asarray(det.local_frames, np.int64),
        "keypoints": np.asarray(det.keypoints, np.float32),
        "boxes": np.asarray(det.boxes, np.float32),
        "image_size": np.asarray(det.image_size, np.int64),
        "fps": np.array(float(det.fps)),
    }
    if det.mono3d is not None:
        arrays["mono3d"] = np.asarray(det.mono3d, np.float32)
    if det.masks is not None:
        arrays.update(pack_masks(det.masks))
    if det.iuv is not None:
        arrays["iuv"] = np.asarray(det.iuv, np.uint8)
    path = camera_file(work_dir, det.camera)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    return path


def load_camera(path: str | Path) -> CameraDetections:
    """Read one camera file; :class:`FileFormatError` if it is not a complete detections file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "camera detections")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or str(data["format"]) != FORMAT:
                raise FileFormatError(path, f"not an {FORMAT} file")
            masks = None
            if "mask_lengths" in data:
                masks = unpack_masks(data["mask_shapes"], data["mask_lengths"], data["mask_counts"])
            return CameraDetections(
                camera=str(data["camera"]),
                detector=str(data["detector"]),
                key=str(data["key"]),
                frame_ids=data["frame_ids"],
                local_frames=data["local_frames"],
                keypoints=data["keypoints"],
                boxes=data["boxes"],
                image_size=tuple(int(v) for v in data["image_size"]),
                fps=float(data["fps"]),
                mono3d=data["mono3d"] if "mono3d" in data else None,
                masks=masks,
                iuv=data["iuv"] if "iuv" in data else None,
            )
    except FileFormatError:
        raise
    except Exception as exc:  # zip/npz corruption of any kind
        raise FileFormatError(path, f"unreadable detections file ({exc.__class__.__name__}: {exc})") from None


def find_reusable(work_dir: str | Path, camera: str, key: str, frame_ids: np.ndarray) -> CameraDetections | None:
    """The cached detections of ``camera`` if made with the same ``key`` over the same frames, else None."""
    path = camera_file(work_dir, camera)
    if not path.is_file():
        return None
    try:
        cached = load_camera(path)
    except FileFormatError:
        return None
    if cached.key != key or not np.array_equal(cached.frame_ids, frame_ids):
        return None
    return cached


def write_index(work_dir: str | Path, cameras: list[str], detector: str) -> Path:
    path = detections_dir(work_dir) / "index.json"
    atomic_write_text(path, json.dumps({"format": INDEX_FORMAT, "cameras": cameras, "detector": detector}, indent=2))
    return path


def read_index(work_dir: str | Path) -> list[str]:
    """Camera names of the last complete run; :class:`MissingFileError` when there is none."""
    path = detections_dir(work_dir) / "index.json"
    if not path.is_file():
        exc = MissingFileError(detections_dir(work_dir), "complete detections")
        exc.args = (f"{exc}; run 'mvmocap detect VIDEOS_DIR --out {work_dir}' first",)
        raise exc
    data = load_json(path, CONFIG_MAX_BYTES, "detections index")
    try:
        if data.get("format") != INDEX_FORMAT:
            raise ValueError(f"format is not {INDEX_FORMAT}")
        return [str(c) for c in data["cameras"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FileFormatError(path, f"unreadable detections index ({exc})") from None


def clear_index(work_dir: str | Path) -> None:
    """Forget the last complete run (called before a new run changes camera files)."""
    path = detections_dir(work_dir) / "index.json"
    if path.exists():
        path.unlink()
