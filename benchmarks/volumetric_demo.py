"""``fit`` vs ``volumetric`` vs ``volumetric+fit`` on the shared real capture (Qualisys calibration).

Usage: python benchmarks/volumetric_demo.py [--out /tmp/bench_volumetric_demo] [--methods fit volumetric volumetric-net volumetric+fit]
           [--detections WORK_DIR] [--fit KEY=VALUE ...]

Detection runs once (for the first method) and is reused by the others (its cache is copied), so
the printed totals compare everything after detection. Prints, per method, the median
reprojection error of the model's COCO joints against the detections, the stage timings and the
height. Targets (issue #8): volumetric <= 1.5 x fit's median reprojection error,
volumetric+fit <= 1.0 x, in less total time than fit. ``volumetric`` is the network + limb IK,
``volumetric-net`` the network alone. ``volumetric+fit`` runs SMPLify with its refinement settings
(``FitConfig.refine_*``); ``--fit`` changes fit options of every method.
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

SHARED = REPO.parent / "shared" / "data" / "pose2sim_demo"



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_volumetric_demo"))
    parser.add_argument("--methods", nargs="+", default=["fit", "volumetric", "volumetric-net", "volumetric+fit"])
    parser.add_argument("--detections", type=Path, default=None, help="a reconstruct 'work' folder to reuse")
    parser.add_argument("--fit", nargs="*", default=[], metavar="KEY=VALUE", help="fit options (YAML values)")
    args = parser.parse_args()
    import yaml

    fit_options = {k: yaml.safe_load(v) for k, _, v in (item.partition("=") for item in args.fit)}
    import mvmocap.regressors  # noqa: F401  (registers --method volumetric)
    from mvmocap.reconstruct import ReconstructConfig, run

    cached = args.detections
    rows = {}
    for method in args.methods:
        out = args.out / method.replace("+", "_plus_")
        if out.exists():
            shutil.rmtree(out)
        if cached is not None:
            shutil.copytree(cached, out / "work")
        cfg = ReconstructConfig.from_dict({"method": method, "fit": fit_options})
        t0 = time.perf_counter()
        result = run(SHARED / "videos", out, calibration=SHARED / "calibration" / "Calib.qca.txt", config=cfg, progress=False)
        wall = time.perf_counter() - t0
        if cached is None:
            cached = out / "work"
        s = result.summary
        t = {k: round(v, 2) for k, v in result.timings.items()}
        rows[method] = (s, t, wall)
        print(f"{method}: median reprojection {s['median_reprojection_fit_px']:.2f} px (triangulation "
              f"{s['median_reprojection_triangulation_px']:.2f} px), height {s['height_m']:.3f} m, valid "
              f"{s['valid_frames']}/{s['frames']}, wall {wall:.1f} s, timings {json.dumps(t)}", flush=True)
    if "fit" in rows:
        ref = rows["fit"][0]["median_reprojection_fit_px"]
        ref_t = rows["fit"][1]["total"] - rows["fit"][1].get("detect", 0)
        for method, (s, t, _) in rows.items():
            after = t["total"] - t.get("detect", 0)
            print(f"{method}: reprojection ratio to fit {s['median_reprojection_fit_px'] / ref:.4f}, time after "
                  f"detection {after:.1f} s (fit {ref_t:.1f} s)")


if __name__ == "__main__":
    main()
