"""Fixtures for detection tests: a tiny synthetic capture with OpenPose JSON beside it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mvmocap.io.openpose import write_frame

SIZE = (64, 48)


def write_video(path: Path, num_frames: int, size=SIZE, fps=30.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for k in range(num_frames):
        writer.write(np.full((size[1], size[0], 3), 4 * k, np.uint8))
    writer.release()
    return path


def person(rng: np.random.Generator, centre, scale=10.0) -> np.ndarray:
    """A (23, 3) fake person around ``centre`` with confidences in [0.5, 1]."""
    pts = np.zeros((23, 3), np.float32)
    pts[:, :2] = np.asarray(centre) + rng.normal(0, scale, (23, 2))
    pts[:, 2] = rng.uniform(0.5, 1.0, 23)
    return pts


@pytest.fixture
def capture(tmp_path, rng):
    """``videos/cam01.avi, cam02.avi`` (12 frames) and ``videos/camXX_json`` with one person per frame
    (two in cam02, the target being the larger one), frame 5 empty in cam01. Returns (videos, truth)
    where truth[c] is the (12, 23, 3) target keypoints (confidence 0 where nobody)."""
    videos = tmp_path / "videos"
    videos.mkdir()
    truth = {}
    for cam in ("cam01", "cam02"):
        write_video(videos / f"{cam}.avi", 12)
        kps = np.zeros((12, 23, 3), np.float32)
        for f in range(12):
            people = []
            if not (cam == "cam01" and f == 5):
                kps[f] = person(rng, (32 + f * 0.3, 24), scale=8.0)
                people.append(kps[f])
            if cam == "cam02":
                people.append(person(rng, (5, 5), scale=1.0))  # a small bystander in the corner
            write_frame(videos / f"{cam}_json" / f"{cam}_{f:012d}_keypoints.json", np.array(people), "body25")
        truth[cam] = kps
    return videos, truth
