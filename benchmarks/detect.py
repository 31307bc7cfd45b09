"""Detection benchmark on the shared demo: frames/s, % detected and reprojection error per BlazePose setting.

Usage: ``python benchmarks/detect.py [--scales 1.0 0.5 0.33] [--frames 0:100] [--no-segmentation-too]``

For every setting it runs BlazePose on all cameras (4 x 100 frames), timing the
whole pipeline (decode + resize + inference + tracking + mask encoding), then
triangulates the 12 limb joints + nose with the Qualisys calibration
(confidence-weighted DLT) and prints the median reprojection error (px) over
every detected point (confidence > 0), over points with confidence > 0.5, and
after the multi-view left/right repair (:mod:`mvmocap.detect.left_right`).

Speed is printed three ways: wall-clock frames/s (what a user sees; on a
shared machine it depends on the other jobs, so the load average is printed
too); CPU milliseconds per frame summed over all threads (decode in the reader
thread + inference), which depends much less on the load; and an *estimate*
of the frames/s on two otherwise idle cores, ``1000 / max(decode, rest)`` ms,
since decoding (measured alone first) runs in its own thread, overlapped with
inference.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mvmocap.detect.blazepose import BlazePoseDetector  # noqa: E402
from mvmocap.detect.left_right import left_right_flips  # noqa: E402
from mvmocap.detect.report import Reporter  # noqa: E402
from mvmocap.detect.run import detect_camera  # noqa: E402
from mvmocap.io.calibration import load_rig  # noqa: E402
from mvmocap.io.video import discover_cameras, iter_frames, open_camera, plan_frames  # noqa: E402
from mvmocap.keypoints import COCO23, LIMB_JOINTS_AND_NOSE, flip_permutation  # noqa: E402

DEMO = REPO.parent / "shared" / "data" / "pose2sim_demo"


def evaluate(keypoints: np.ndarray, rig) -> tuple[float, float, float]:
    """``keypoints (C, F, 23, 3)`` -> median reprojection errors (px): confidence > 0, > 0.5, and
    confidence > 0 after the left/right repair."""

    def errors_of(kps):
        kp = torch.as_tensor(kps[:, :, list(LIMB_JOINTS_AND_NOSE)], dtype=torch.float64).transpose(0, 1)
        points = rig.triangulate(kp[..., :2], kp[..., 2])
        return rig.reprojection_errors(points, kp[..., :2]), kp[..., 2]

    errors, conf = errors_of(keypoints)
    flips = left_right_flips(keypoints, rig)
    perm = list(flip_permutation(COCO23))
    repaired, conf_r = errors_of(np.where(flips[:, :, None, None], keypoints[:, :, perm], keypoints))
    return float(errors[conf > 0].median()), float(errors[conf > 0.5].median()), float(repaired[conf_r > 0].median())


def decode_cpu_ms(sources, plan) -> float:
    """CPU ms per frame to decode the planned frames alone (the reader thread's share)."""
    start = time.process_time()
    for source in sources:
        for _ in iter_frames(source, plan.local_frames(source.name)):
            pass
    return 1000 * (time.process_time() - start) / (len(sources) * len(plan.frame_ids))


def run_setting(sources, plan, scale: float, segmentation: bool):
    detector = BlazePoseDetector(scale=scale, segmentation=segmentation)
    per_camera = []
    keypoints = []
    start_all = time.perf_counter()
    cpu_all = time.process_time()
    for source in sources:
        start = time.perf_counter()
        det = detect_camera(detector, source, plan.frame_ids, plan.local_frames(source.name), "", Reporter(False))
        per_camera.append((source.name, len(plan.frame_ids) / (time.perf_counter() - start),
                           float((det.boxes[:, 4] > 0).mean()), float(det.keypoints[det.boxes[:, 4] > 0, :17, 2].mean())))
        keypoints.append(det.keypoints)
    total = time.perf_counter() - start_all
    frames = len(sources) * len(plan.frame_ids)
    cpu_ms = 1000 * (time.process_time() - cpu_all) / frames
    detector.close()
    return per_camera, np.stack(keypoints), frames / total, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5, 0.33])
    parser.add_argument("--frames", default=None)
    parser.add_argument("--no-segmentation-too", action="store_true", help="also time each scale without masks")
    args = parser.parse_args()
    if not DEMO.is_dir():
        sys.exit(f"shared demo not found at {DEMO}")
    sources = [open_camera(p) for p in discover_cameras(DEMO / "videos")]
    plan = plan_frames(sources, args.frames)
    rig = load_rig(DEMO / "calibration" / "Calib.qca.txt").subset([s.name for s in sources])
    print(f"demo: {len(sources)} cameras x {len(plan.frame_ids)} frames, {sources[0].size[0]}x{sources[0].size[1]} px; "
          f"calibration image size {rig.sizes[0].tolist()}")
    decode_ms = decode_cpu_ms(sources, plan)
    print(f"decoding alone: {decode_ms:.1f} CPU ms/frame (load {os.getloadavg()[0]:.1f})")
    settings = [(s, True) for s in args.scales] + ([(s, False) for s in args.scales] if args.no_segmentation_too else [])
    print(f"{'scale':>5} {'masks':>5} {'frames/s':>9} {'cpu ms/f':>8} {'est 2c':>6} {'load':>5} {'min %det':>8} {'mean conf':>9} "
          f"{'med err':>8} {'c>.5':>6} {'L/R fix':>7}  per camera frames/s (% detected)")
    for scale, seg in settings:
        per_camera, keypoints, fps, cpu_ms = run_setting(sources, plan, scale, seg)
        load = os.getloadavg()[0]
        err_all, err_conf, err_fixed = evaluate(keypoints, rig)
        min_det = min(row[2] for row in per_camera)
        conf = np.mean([row[3] for row in per_camera])
        cams = " ".join(f"{name}:{rate:.1f}({100 * d:.0f}%)" for name, rate, d, _ in per_camera)
        print(f"{scale:5.2f} {str(seg):>5} {fps:9.1f} {cpu_ms:8.1f} {1000 / max(decode_ms, cpu_ms - decode_ms):6.1f} {load:5.1f} {100 * min_det:7.1f}% {conf:9.3f} "
              f"{err_all:8.2f} {err_conf:6.2f} {err_fixed:7.2f}  {cams}", flush=True)


if __name__ == "__main__":
    main()
