"""The ``openpose-json`` backend: per-frame OpenPose JSON files instead of a network.

For camera ``NAME`` it reads ``ROOT/NAME_json/*.json`` (Pose2Sim's layout) or
``ROOT/NAME/*.json``; the frame number is the last digits of each file name
(this camera's own numbering, before offsets). Image size and frame rate come
from the camera's video, which must sit in the videos folder.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mvmocap.detect.candidates import Candidates, boxes_from_keypoints


class OpenPoseJsonReader:
    """The ``openpose-json`` backend: reads ``<camera>_json/*.json`` instead of running a network."""

    name = "openpose-json"
    reads_images = False

    def __init__(self, root: Path):
        self.root = Path(root)
        self._files: dict[int, Path] = {}

    @property
    def settings(self) -> dict:
        return {"root": str(self.root.resolve())}

    def source_key(self, camera: str) -> dict:
        from mvmocap.io.openpose import find_camera_folder

        folder = find_camera_folder(self.root, camera)
        stats = [p.stat() for p in folder.glob("*.json")]
        return {"json_folder": str(folder.resolve()), "files": len(stats),
                "newest": max((s.st_mtime_ns for s in stats), default=0)}

    def start_camera(self, camera: str) -> None:
        from mvmocap.io.openpose import find_camera_folder, frame_files

        self._warn_invalid()
        self._folder = find_camera_folder(self.root, camera)
        self._files = frame_files(self._folder)
        self._invalid = 0

    def process_frame(self, local_frame: int) -> Candidates | None:
        from mvmocap.io.openpose import read_frame_counted

        path = self._files.get(int(local_frame))
        if path is None:
            return None
        people, invalid = read_frame_counted(path)
        self._invalid += invalid
        if len(people) == 0:
            return Candidates.empty()
        conf = people[..., 2]
        score = np.where((conf > 0).any(1), np.clip(conf.sum(1) / np.maximum((conf > 0).sum(1), 1), 1e-3, 1), 0)
        boxes = np.concatenate([boxes_from_keypoints(people), score[:, None]], axis=1).astype(np.float32)
        keep = score > 0
        return Candidates(people[keep], boxes[keep])

    def close(self) -> None:
        self._warn_invalid()
        self._files = {}

    def _warn_invalid(self) -> None:
        """One warning per camera counting the points :func:`read_frame_counted` made missing."""
        if getattr(self, "_invalid", 0):
            warnings.warn(f"{self._folder}: {self._invalid} OpenPose point(s) with non-finite or far-outside "
                          "coordinates were treated as missing", stacklevel=2)
        self._invalid = 0
