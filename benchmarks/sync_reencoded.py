"""Sync on re-encoded videos (issue 22): the shared demo cut by k frames and one camera re-encoded at 30 fps.

    python benchmarks/sync_reencoded.py [--work /tmp/sync_reencoded] [--without bundle,bundle-linear,alternate]

``benchmarks/sync.py`` cuts and decimates the *detections*; here the videos themselves are rewritten
(OpenCV's mp4v encoder) and detected again, as a user's files would be:

* ``uncut/``: the four videos re-encoded with every frame (60 fps), the baseline;
* ``cut/``: cam02 without its first 11 frames, cam03 without its first 4, cam04 re-encoded at 30 fps
  (every other frame), cam01 as in ``uncut/``;
* ``span/``: every video without its first 11 frames, all at 60 fps: the stretch of motion the cut
  folder has in common, still synchronised as recorded.

The folders go through detection (BlazePose, cached in ``--work``) and the sync stage with the Qualisys
cameras and without cameras (every way in ``--without``: ``bundle``, ``bundle-linear``, ``alternate``),
in one process. The recovered k is the cut folder's offset minus the uncut folder's by the same method
(and, in brackets, minus the span folder's); the target is k = 0, 11, 4, 0 within ±0.25.
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


def prepare(work: Path) -> dict[str, Path]:
    folders = {label: work / label for label in ("uncut", "cut", "span")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    span = max(CUT.values())
    for video in sorted((DEMO / "videos").glob("*.mp4")):
        name = video.stem
        for label, skip, every in (("uncut", 0, 1), ("cut", CUT.get(name, 0), EVERY.get(name, 1)), ("span", span, 1)):
            if not (folders[label] / video.name).is_file():
                reencode(video, folders[label] / video.name, skip, every)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/sync_reencoded"))
    parser.add_argument("--without", default="bundle,bundle-linear,alternate")
    args = parser.parse_args()
    from mvmocap.io.calibration import load_rig

    folders = prepare(args.work)
    tracks = {}
    for label, folder in folders.items():
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
        for label in folders:
            if mode == "known cameras":
                _, result, _ = synchronise(tracks[label], rig, detector=detector)
            else:
                way, _, reading = mode.partition("-")
                settings = replace(RefineSettings(), without_cameras=way,
                                   **(dict(bundle_interpolation=reading) if reading else {}))
                _, result, _ = synchronise(tracks[label], detector=detector, calibrate=joints_calibrator(None, 1.70),
                                           settings=settings)
            offsets[label] = (result.offsets, result.uncertainty)
        recovered = offsets["cut"][0] - offsets["uncut"][0]
        against_span = offsets["cut"][0] - offsets["span"][0]
        print(f"{mode}: offsets uncut {np.round(offsets['uncut'][0], 2)} ± {np.round(offsets['uncut'][1], 2)}, span "
              f"{np.round(offsets['span'][0], 2)}, cut {np.round(offsets['cut'][0], 2)} ± {np.round(offsets['cut'][1], 2)}; "
              f"k recovered {np.round(recovered, 2)} for k {k}: max |error| {np.abs(recovered - k).max():.3f} frames "
              f"(against the span folder {np.round(against_span, 2)}: {np.abs(against_span - k).max():.3f}) "
              f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
