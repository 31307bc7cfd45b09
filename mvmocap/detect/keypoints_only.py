"""Detections from OpenPose JSON alone, without videos (``reconstruct --keypoints DIR`` and no videos).

Camera folders under ``DIR``: ``NAME/``, ``NAME_json/`` or ``pose/NAME_json/`` holding
``*_<frame>.json`` (Pose2Sim's, OpenPose's and ``mvmocap detect --export-openpose``'s layout). The
file numbers are each camera's own frame numbers, as with videos; the frames are those every
camera has (after ``offsets``), restricted to ``frames``. Image sizes come from the caller (the
calibration); the frame rate is unknown (0, as for image folders). Every camera must hold the same
number of JSON files, and every name must be a calibrated camera.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError, MissingFileError

_JSON_SUFFIX = re.compile(r"_json$")


def find_json_cameras(root: str | Path) -> dict[str, Path]:
    """``{camera name: JSON folder}`` of every folder with ``*.json`` files under ``root`` or ``root/pose``."""
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(root, "keypoints folder")
    found: dict[str, Path] = {}
    for parent in (root, root / "pose"):
        if not parent.is_dir():
            continue
        for folder in sorted(p for p in parent.iterdir() if p.is_dir()):
            if next(folder.glob("*.json"), None) is None:
                continue
            name = _JSON_SUFFIX.sub("", folder.name)
            if name in found:
                raise InputError(f"{root}: two JSON folders for camera {name}: {found[name]} and {folder}")
            found[name] = folder
    if not found:
        raise MissingFileError(root, "OpenPose JSON folders (NAME/, NAME_json/ or pose/NAME_json/ with *.json)")
    return found


def plan_json_frames(files: Mapping[str, Sequence[int]], frames: str | None,
                     offsets: Mapping[str, int]) -> np.ndarray:
    """Timeline frames ``(F,)`` that every camera has: file number + offset, restricted to ``frames``."""
    from mvmocap.io.video import parse_frames

    counts = {name: len(numbers) for name, numbers in files.items()}
    if len(set(counts.values())) > 1:
        raise InputError("the cameras' OpenPose JSON hold different numbers of frames ("
                         + ", ".join(f"{n} {c}" for n, c in counts.items()) + "); give every camera the same frames")
    common = None
    for name, numbers in files.items():
        shifted = {int(n) + int(offsets.get(name, 0)) for n in numbers}
        common = shifted if common is None else common & shifted
    start, stop, step = parse_frames(frames)
    chosen = np.array(sorted(f for f in common if f >= start and (stop is None or f < stop) and (f - start) % step == 0),
                      dtype=np.int64)
    if len(chosen) == 0:
        raise InputError(f"no frame common to every camera's JSON in the requested range {frames or 'all'}")
    return chosen


def detections_from_json(root: str | Path, image_sizes: Mapping[str, tuple[int, int]], *, calibration: str | Path = "",
                         frames: str | None = None, offsets: Sequence[str] | Mapping[str, int] | None = None,
                         progress: bool = True) -> Detections:
    """:class:`Detections` of the calibrated cameras whose JSON folders are under ``root``.

    Args:
        image_sizes: ``{camera: (width, height)}`` pixels, from the calibration (named ``calibration`` in errors).
    Raises:
        :class:`InputError` for JSON cameras the calibration lacks, unequal frame counts, no common frame.
    """
    from mvmocap.detect.openpose_json import OpenPoseJsonReader
    from mvmocap.detect.report import Reporter
    from mvmocap.detect.run import _assemble, detect_camera
    from mvmocap.io.openpose import frame_files
    from mvmocap.io.video import CameraSource, parse_offsets

    folders = find_json_cameras(root)
    unknown = [n for n in folders if n not in image_sizes]
    if unknown:
        raise InputError(f"OpenPose JSON folders do not match the calibration {calibration}: no camera for "
                         f"{', '.join(unknown)}; JSON cameras: {', '.join(folders)}; calibration: {', '.join(image_sizes)}")
    offsets = parse_offsets(offsets)
    bad = sorted(set(offsets) - set(folders))
    if bad:
        raise InputError(f"--offset for unknown camera(s) {', '.join(bad)}; cameras: {', '.join(folders)}")
    files = {name: sorted(frame_files(folder)) for name, folder in folders.items()}
    frame_ids = plan_json_frames(files, frames, offsets)
    reader = OpenPoseJsonReader(Path(root))
    results = []
    reporter = Reporter(progress)
    with reporter:
        for name, folder in folders.items():
            size = tuple(int(v) for v in image_sizes[name])
            source = CameraSource(name=name, path=folder, num_frames=len(files[name]), fps=0.0, size=size)
            local = frame_ids - int(offsets.get(name, 0))
            results.append(detect_camera(reader, source, frame_ids, local, "keypoints-only", reporter))
    return _assemble(results)
