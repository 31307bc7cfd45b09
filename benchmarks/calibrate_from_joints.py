"""Calibration from joints on the real demo capture, against its Qualisys calibration.

Runs (or reuses) BlazePose detection on ../shared/data/pose2sim_demo/videos,
calibrates with the known intrinsics, with unknown focal lengths (one per
camera, and one shared by all cameras), and
prints the per-camera errors of ``mvmocap eval calibration`` and the run time
(detection excluded). Also prints a synthetic sweep (2-8 cameras).

    python benchmarks/calibrate_from_joints.py [--work /tmp/work_demo] [--no-synthetic]

Targets (issue 5): known intrinsics: mean rotation error <= 2 deg, centre error
<= 5 %; unknown: focal error <= 5 %, rotation <= 3 deg; <= 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mvmocap.calibrate import calibrate_from_joints
from mvmocap.calibrate.synthetic import SYNTHETIC_HEIGHT_M, make_capture
from mvmocap.evaluate.calibration import compare_calibrations

DEMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pose2sim_demo"


def real_demo(work: Path) -> None:
    from mvmocap.detect import run
    from mvmocap.io.calibration import load_rig

    t0 = time.perf_counter()
    detections = run(DEMO / "videos", out=work, progress=False)
    print(f"detections: {detections.num_cameras} cameras x {detections.num_frames} frames "
          f"({time.perf_counter() - t0:.1f} s, cached after the first run)")
    reference = load_rig(DEMO / "calibration" / "Calib.qca.txt")
    runs = (
        ("known", "known intrinsics (Qualisys K and distortion)", reference, False),
        ("unknown", "unknown intrinsics (one focal length per camera)", None, False),
        ("shared", "unknown intrinsics, one focal length shared by the 4 identical cameras", None, True),
    )
    for known, title, intrinsics, same_focal in runs:
        t0 = time.perf_counter()
        result = calibrate_from_joints(detections, intrinsics, progress=False, same_focal=same_focal)
        elapsed = time.perf_counter() - t0
        comparison = compare_calibrations(result.rig, reference)
        print(f"\n== real demo, {title}: {elapsed:.1f} s ==")
        print(result.report.to_text())
        print(comparison.to_text())
        up = comparison.rotation @ np.array([0.0, 0.0, 1.0])  # our +Z in the Qualisys world
        vertical = np.degrees(np.arccos(np.clip(up[2], -1, 1)))
        heights = result.rig.centers()[:, 2].numpy()
        print(f"vertical (+Z) error {vertical:.1f} deg (from the {result.report.up_from}); camera heights "
              f"{np.round(heights, 2).tolist()} m vs Qualisys {np.round(reference.centers()[:, 2].numpy(), 2).tolist()} m")
        print(
            f"SUMMARY real intrinsics={known}: rotation {comparison.mean_rotation_error_deg:.2f} deg, "
            f"centre {comparison.mean_center_error_pct:.2f} %, focal {comparison.mean_focal_error_pct:.2f} %, "
            f"{elapsed:.1f} s"
        )


def synthetic_sweep() -> None:
    print("\n== synthetic (100 frames, 3 px noise, 10 % missing, 1 % outliers, 3 % swapped views) ==")
    print(f"{'cameras':>7} {'seed':>4} {'intrinsics':>10} {'rot deg':>8} {'centre %':>8} {'focal %':>8} {'time s':>7}")
    for num_cameras in (2, 3, 4, 6, 8):
        for known in (True, False):
            rot, centre, focal, times = [], [], [], []
            for seed in range(3):
                cap = make_capture(num_cameras, 100, seed=100 + seed)
                t0 = time.perf_counter()
                result = calibrate_from_joints(
                    cap.detections, cap.rig if known else None, height_m=SYNTHETIC_HEIGHT_M, progress=False
                )
                times.append(time.perf_counter() - t0)
                c = compare_calibrations(result.rig, cap.rig)
                rot.append(c.mean_rotation_error_deg)
                centre.append(c.mean_center_error_pct)
                focal.append(c.mean_focal_error_pct)
            print(
                f"{num_cameras:>7} {'0-2':>4} {'known' if known else 'unknown':>10} {np.mean(rot):>8.3f} "
                f"{np.mean(centre):>8.3f} {np.mean(focal):>8.3f} {np.mean(times):>7.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/work_demo"), help="detection work folder")
    parser.add_argument("--no-synthetic", action="store_true")
    args = parser.parse_args()
    if DEMO.is_dir():
        real_demo(args.work)
    else:
        print(f"real demo skipped: {DEMO} not found")
    if not args.no_synthetic:
        synthetic_sweep()


if __name__ == "__main__":
    main()
