"""``reconstruct --method metapose[+fit]`` on the shared demo without a calibration, against the Qualisys-calibrated run.

Usage: python benchmarks/metapose_demo.py [--out /tmp/metapose_demo] [--height 1.75] [--checkpoint FILE]

One process, the same detections (BlazePose, cached in ``/tmp/bench_demo/work`` when present, else
detected): ``fit`` with the Qualisys calibration (``../shared/data/pose2sim_demo/calibration``), then
``metapose`` and ``metapose+fit`` with no calibration (the MetaPose checkpoint of ``--checkpoint``,
else ``$MVMOCAP_METAPOSE_CHECKPOINT``, else ``models/regressors/metapose.pt``). Reference: the
calibrated run's robust triangulation. Scores per method: PA-MPJPE (mm, COCO-17 model keypoints
against the reference's triangulated joints, each frame aligned by a similarity over the joints the
reference has), the median reprojection error of the fitted keypoints in its own cameras, the fitted
height, the moved-camera flags, and the wall time of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEMO = REPO.parent / "shared" / "data" / "pose2sim_demo"
CACHED = Path("/tmp/bench_demo/work/detections")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/metapose_demo"))
    parser.add_argument("--height", type=float, default=1.75)
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)
    if args.checkpoint:
        os.environ["MVMOCAP_METAPOSE_CHECKPOINT"] = str(args.checkpoint)

    import numpy as np
    import torch

    from mvmocap.evaluate.metrics import pa_mpjpe
    from mvmocap.reconstruct import ReconstructConfig, run

    calibration = next((DEMO / "calibration").glob("*.qca.txt"))
    runs = {}
    for method, cal in (("fit", calibration), ("metapose", None), ("metapose+fit", None)):
        out = args.out / method.replace("+", "_")
        shutil.rmtree(out, ignore_errors=True)
        if (CACHED / "index.json").is_file():
            shutil.copytree(CACHED, out / "work" / "detections")
        cfg = ReconstructConfig()
        cfg.method, cfg.subject_height_m = method, args.height
        tick = time.perf_counter()
        result = run(DEMO / "videos", out, calibration=cal, config=cfg, progress=False)
        runs[method] = (out, result, time.perf_counter() - tick)
    reference = np.load(runs["fit"][0] / "joints3d.npz")
    truth = torch.from_numpy(reference["triangulated"][:, :17])
    known = torch.from_numpy(reference["triangulated_confidence"][:, :17] > 0)
    print(f"pose2sim_demo, {truth.shape[0]} frames, 4 cameras; reference: robust triangulation with the Qualisys calibration")
    print(f"{'method':<14} {'calibration':<12} {'PA-MPJPE mm':>11} {'reproj. px':>10} {'height m':>8} {'time s':>7}  moved")
    for method, (out, result, seconds) in runs.items():
        fitted = torch.from_numpy(np.load(out / "joints3d.npz")["fitted"][:, :17])
        frames = known.sum(-1) >= 12
        errors = []
        for f in torch.nonzero(frames).flatten().tolist():  # each frame over the joints the reference has
            k = known[f]
            errors.append(float(pa_mpjpe(fitted[f][k].double(), truth[f][k].double())))
        summary = result.summary
        moved = summary.get("cameras_per_frame", {}).get("moved_cameras", "-")
        print(f"{method:<14} {'Qualisys' if method == 'fit' else 'none':<12} {np.mean(errors):>11.1f} "
              f"{summary['median_reprojection_fit_px']:>10.1f} {summary['height_m']:>8.2f} {seconds:>7.1f}  {moved}")
    report = json.loads((runs["metapose"][0] / "report.json").read_text())["summary"]["cameras_per_frame"]
    print(f"MetaPose: solver {report['solver']}, reference camera {report['reference_camera']}, up from {report['up_from']}")


if __name__ == "__main__":
    main()
