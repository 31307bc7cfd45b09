"""End-to-end ``reconstruct`` on the full shared capture (4 x 100 frames, 1080x1920), per stage.

Usage: python benchmarks/reconstruct.py [--out /tmp/bench_reconstruct] [--method fit] [--calibrate-from-joints] [--render]

Prints the wall time of every stage (detection included, nothing cached: the output
folder is emptied first), the median reprojection error of the fitted model's COCO
joints vs that of plain triangulation, and the fitted height. Targets (issue #6):
ratio <= 1.2, height 1.55-1.95 m, total <= 60 s on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mvmocap.reconstruct import ReconstructConfig, run  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "pose2sim_demo"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_reconstruct"))
    parser.add_argument("--method", default="fit")
    parser.add_argument("--calibrate-from-joints", action="store_true")
    parser.add_argument("--render", action="store_true")
    parser.add_argument("--keep-detections", action="store_true", help="reuse cached detections (time the rest)")
    args = parser.parse_args()
    if args.out.exists():
        if args.keep_detections:
            shutil.rmtree(args.out / "stages", ignore_errors=True)
        else:
            shutil.rmtree(args.out)
    cfg = ReconstructConfig.from_dict({"method": args.method, "export": {"render": args.render}})
    start = time.perf_counter()
    result = run(
        SHARED / "videos",
        args.out,
        calibration=None if args.calibrate_from_joints else SHARED / "calibration" / "Calib.qca.txt",
        calibrate_from_joints=args.calibrate_from_joints,
        config=cfg,
        progress=False,
    )
    wall = time.perf_counter() - start
    s = result.summary
    print(f"method {args.method}, cameras {'from joints' if args.calibrate_from_joints else 'Qualisys'}")
    print("stage timings (s): " + json.dumps({k: round(v, 2) for k, v in result.timings.items()}))
    print(f"wall time {wall:.1f} s for {s['frames']} frames x {len(result.rig)} cameras")
    print(f"median reprojection: fit {s['median_reprojection_fit_px']:.2f} px, triangulation "
          f"{s['median_reprojection_triangulation_px']:.2f} px, ratio "
          f"{s['median_reprojection_fit_px'] / s['median_reprojection_triangulation_px']:.3f} (target <= 1.2)")
    print(f"fitted height {s['height_m']:.3f} m (target 1.55-1.95), valid frames {s['valid_frames']}/{s['frames']}")


if __name__ == "__main__":
    main()
