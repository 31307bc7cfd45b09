"""Sync on re-encoded videos (issue 22): the shared demo cut by k frames and one camera re-encoded at 30 fps.

    python benchmarks/sync_reencoded.py [--work /tmp/sync_reencoded] [--without bundle,alternate]

``benchmarks/sync.py`` cuts and decimates the *detections*; here the videos themselves are rewritten
(OpenCV's mp4v encoder) and detected again, as a user's files would be:

* ``uncut/``: the four videos re-encoded with every frame (60 fps), the baseline;
* ``cut/``: cam02 without its first 11 frames, cam03 without its first 4, cam04 re-encoded at 30 fps
  (every other frame), cam01 as in ``uncut/``.

Both folders go through detection (BlazePose, cached in ``--work``) and the sync stage with the Qualisys
cameras and without cameras (every way in ``--without``), in one process. The recovered k is the cut
folder's offset minus the uncut folder's, by the same method; the target is k = 0, 11, 4, 0 within ±0.25.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from mvmocap.sync import synchronise
from mvmocap.sync.refine import RefineSettings
from mvmocap.sync.workflows import joints_calibrator, raw_tracks

DEMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pose2sim_demo"
CUT = {"cam02": 11, "cam03": 4}  # first frames dropped
EVERY = {"cam04": 2}  # kept every n-th frame (60 -> 30 fps)


def reencode(source: Path, target: Path, skip: int = 0, every: int = 1) -> None:
    """``source`` rewritten to ``target`` without its first ``skip`` frames, keeping every ``every``-th frame."""
    video = cv2.VideoCapture(str(source))
    fps = video.get(cv2.CAP_PROP_FPS)
    size = (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps / every, size)
    index = 0
    while True:
        ok, image = video.read()
        if not ok:
            break
        if index >= skip and (index - skip) % every == 0:
            writer.write(image)
        index += 1
    video.release()
    writer.release()


def prepare(work: Path) -> tuple[Path, Path]:
    uncut, cut = work / "uncut", work / "cut"
    for folder in (uncut, cut):
        folder.mkdir(parents=True, exist_ok=True)
    for video in sorted((DEMO / "videos").glob("*.mp4")):
        name = video.stem
        if not (uncut / video.name).is_file():
            reencode(video, uncut / video.name)
        if not (cut / video.name).is_file():
            reencode(video, cut / video.name, CUT.get(name, 0), EVERY.get(name, 1))
    return uncut, cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/sync_reencoded"))
    parser.add_argument("--without", default="bundle,alternate")
    args = parser.parse_args()
    from mvmocap.io.calibration import load_rig

    uncut_dir, cut_dir = prepare(args.work)
    tracks = {}
    for label, folder in (("uncut", uncut_dir), ("cut", cut_dir)):
        t0 = time.perf_counter()
        tracks[label], detector = raw_tracks(folder, args.work / f"work_{label}", progress=False)
        print(f"{label}: " + ", ".join(f"{t.name} {t.num_frames} frames at {t.fps:g} fps" for t in tracks[label])
              + f" (detection {time.perf_counter() - t0:.0f} s)")
    rig = load_rig(DEMO / "calibration" / "Calib.qca.txt")
    names = [t.name for t in tracks["cut"]]
    k = np.array([CUT.get(n, 0) for n in names], float)
    modes = ["known cameras", *args.without.split(",")]
    for mode in modes:
        offsets = {}
        t0 = time.perf_counter()
        for label in ("uncut", "cut"):
            if mode == "known cameras":
                _, result, _ = synchronise(tracks[label], rig, detector=detector)
            else:
                settings = replace(RefineSettings(), without_cameras=mode)
                _, result, _ = synchronise(tracks[label], detector=detector, calibrate=joints_calibrator(None, 1.70),
                                           settings=settings)
            offsets[label] = (result.offsets, result.uncertainty)
        recovered = offsets["cut"][0] - offsets["uncut"][0]
        print(f"{mode}: uncut offsets {np.round(offsets['uncut'][0], 2)} ± {np.round(offsets['uncut'][1], 2)}; cut "
              f"{np.round(offsets['cut'][0], 2)} ± {np.round(offsets['cut'][1], 2)}; k recovered {np.round(recovered, 2)} "
              f"for k {k}: max |error| {np.abs(recovered - k).max():.3f} frames ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
