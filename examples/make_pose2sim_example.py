"""Rebuild examples/pose2sim_demo/ from the shared capture (../shared/data/pose2sim_demo).

All 4 cameras, the first FRAMES frames, downscaled by SCALE; the calibration is
converted to our YAML with K scaled to match (distortion is in normalised
coordinates and does not change). Usage: python examples/make_pose2sim_example.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mvmocap.geometry.camera import Camera  # noqa: E402
from mvmocap.io.calibration import load_cameras, save_rig  # noqa: E402

SOURCE = REPO.parent / "shared" / "data" / "pose2sim_demo"
TARGET = REPO / "examples" / "pose2sim_demo"
FRAMES = 100
SCALE = 0.5


def scaled_camera(cam: Camera, scale: float) -> Camera:
    """The camera seeing the image resized by ``scale`` (pixel centres: x' = (x + 0.5) s - 0.5)."""
    K = cam.K.copy()
    K[:2, :2] *= scale
    K[:2, 2] = (K[:2, 2] + 0.5) * scale - 0.5
    size = (round(cam.size[0] * scale), round(cam.size[1] * scale))
    return Camera(cam.name, K, cam.dist, cam.R, cam.t, size)


def trim_video(src: Path, dst: Path) -> None:
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(FRAMES):
        ok, frame = cap.read()
        if not ok:
            break
        small = cv2.resize(frame, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)
        if writer is None:
            h, w = small.shape[:2]
            writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        writer.write(small)
    cap.release()
    writer.release()


def main() -> None:
    (TARGET / "videos").mkdir(parents=True, exist_ok=True)
    for video in sorted((SOURCE / "videos").glob("*.mp4")):
        trim_video(video, TARGET / "videos" / video.name)
    cameras = [scaled_camera(c, SCALE) for c in load_cameras(SOURCE / "calibration" / "Calib.qca.txt")]
    save_rig(cameras, TARGET / "calibration.yaml")
    shutil.copy(SOURCE / "LICENSE-pose2sim-BSD-3-Clause", TARGET / "LICENSE-pose2sim-BSD-3-Clause")
    total = sum(p.stat().st_size for p in TARGET.rglob("*") if p.is_file())
    print(f"wrote {TARGET} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
