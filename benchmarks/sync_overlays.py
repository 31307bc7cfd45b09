"""Which frame of its video does each ``--render`` overlay frame show? (issue 22: overlays with ``--sync auto``)

    python benchmarks/sync_overlays.py RUN_DIR VIDEOS_DIR [--frames 10,40,80]

For every camera in ``RUN_DIR/sync.json`` and each chosen overlay frame (timeline frame ``tau`` when the run
starts at timeline 0 and renders every frame), the source frame with the smallest mean absolute grey-level
difference (below the caption line). The mesh and skeletons drawn are the same whichever source frame is
compared, so the undrawn pixels decide. Expected: ``round((tau - offset) / ratio)``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

CAPTION_ROWS = 40  # the overlay's caption line is left out of the comparison


def _grey_frames(path: Path) -> list[np.ndarray]:
    video, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, image = video.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)[CAPTION_ROWS:])
    video.release()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("videos", type=Path)
    parser.add_argument("--frames", default="10,40,80")
    args = parser.parse_args()
    picks = [int(v) for v in args.frames.split(",")]
    sync = json.loads((args.run / "sync.json").read_text())
    for camera in sync["cameras"]:
        name = camera["name"]
        source = _grey_frames(args.videos / f"{name}.mp4")
        overlay = _grey_frames(args.run / "overlays" / f"{name}.mp4")
        found = []
        for i in picks:
            distance = np.array([np.abs(overlay[i] - frame).mean() for frame in source])
            best = int(np.argmin(distance))
            margin = float(np.partition(distance, 1)[1] - distance[best])
            expected = int(round((i - camera["offset_frames"]) / camera["rate_ratio"]))
            found.append(f"overlay {i} -> source {best} (expected {expected}, margin {margin:.2f})")
        print(f"{name} (offset {camera['offset_frames']:+.2f} frames): " + "; ".join(found))


if __name__ == "__main__":
    main()
