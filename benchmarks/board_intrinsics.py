"""Board intrinsics (issue 22) on the shared demo's checkerboard images, against the Qualisys intrinsics.

    python benchmarks/board_intrinsics.py [--work /tmp/sync_det]

Prints per camera: focal lengths and principal point from the checkerboard images
(4x7 inner corners, 60 mm; ``calibrate --board``) against Qualisys (% of the focal length,
principal point difference in % of the image width/height), RMS and standard deviations.
Then the calibration from joints (BlazePose detections of the demo, cached in --work) with the
board intrinsics beside the same with the Qualisys intrinsics: rotation / centre errors against
Qualisys (``mvmocap eval calibration``), both in this run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


DEMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pose2sim_demo"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/sync_det"))
    args = parser.parse_args()

    from mvmocap.calibrate import calibrate_from_joints
    from mvmocap.calibrate.board import parse_board
    from mvmocap.calibrate.intrinsics import calibrate_board_intrinsics, intrinsics_rig
    from mvmocap.detect import run
    from mvmocap.evaluate.calibration import compare_calibrations
    from mvmocap.io.calibration import load_rig

    qualisys = load_rig(DEMO / "calibration" / "Calib.qca.txt")
    t0 = time.perf_counter()
    results = calibrate_board_intrinsics(DEMO / "calibration" / "intrinsics", parse_board("checkerboard:4x7:0.060"))
    print(f"board intrinsics: {time.perf_counter() - t0:.1f} s")
    for r in results:
        q = qualisys.subset([r.name]).cameras()[0]
        w, h = q.size
        print(f"{r.name}: fx {r.K[0, 0]:.1f} ± {r.std[0]:.1f} (Qualisys {q.K[0, 0]:.1f}, {100 * (r.K[0, 0] / q.K[0, 0] - 1):+.2f} %), "
              f"fy {r.K[1, 1]:.1f} ({100 * (r.K[1, 1] / q.K[1, 1] - 1):+.2f} %), "
              f"cx {r.K[0, 2]:.1f} ± {r.std[2]:.1f} (Qualisys {q.K[0, 2]:.1f}, {100 * (r.K[0, 2] - q.K[0, 2]) / w:+.2f} % of width), "
              f"cy {r.K[1, 2]:.1f} ± {r.std[3]:.1f} (Qualisys {q.K[1, 2]:.1f}, {100 * (r.K[1, 2] - q.K[1, 2]) / h:+.2f} % of height), "
              f"RMS {r.rms_px:.3f} px, views {r.used}/{r.detected}/{r.images}")
    board = intrinsics_rig(results)
    detections = run(DEMO / "videos", out=args.work, progress=False)
    for label, intrinsics in (("Qualisys intrinsics", qualisys), ("board intrinsics", board)):
        t0 = time.perf_counter()
        result = calibrate_from_joints(detections, intrinsics, progress=False)
        comparison = compare_calibrations(result.rig, qualisys)
        print(f"calibrate --from-joints --intrinsics ({label}): mean rotation error "
              f"{comparison.mean_rotation_error_deg:.2f} deg, centre error {comparison.mean_center_error_pct:.2f} % "
              f"({time.perf_counter() - t0:.1f} s)")
        print("  per camera: " + ", ".join(f"{c.name} {c.rotation_error_deg:.2f} deg / {c.center_error_pct:.2f} %"
                                          for c in comparison.cameras))


if __name__ == "__main__":
    main()
