"""``reconstruct --method metapose[+fit]`` on the shared demo without a calibration, against the Qualisys-calibrated run.

Usage: python benchmarks/metapose_demo.py [--out /tmp/metapose_demo] [--height 1.75] [--checkpoint FILE]

One process, the same detections (BlazePose, cached in ``/tmp/bench_demo/work`` when present, else
detected): ``fit`` with the Qualisys calibration (``../shared/data/pose2sim_demo/calibration``), then
``metapose`` and ``metapose+fit`` with no calibration (the MetaPose checkpoint of ``--checkpoint``,
else ``$MVMOCAP_METAPOSE_CHECKPOINT``, else ``models/regressors/metapose.pt``). Reference: the
calibrated run's robust triangulation. Scores per method: PA-MPJPE (mm, COCO-17 model keypoints
against the reference's triangulated joints, each frame aligned by a similarity over the joints the
reference has), the median reprojection error of the fitted keypoints in its own cameras, the fitted
height, the moved-camera flags, and the wall time of the run. Then MetaPose's per-frame relative
camera rotations against Qualisys, S1 and S1+S2, with the monocular 3D taken as posed along the
optical axis or along each view's ray, without and with the 0.5 s averaging.
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
    print(f"MetaPose: solver {report['solver']}, reference camera {report['reference_camera']}, up from "
          f"{report['up_from']}, ray-aligned {report['ray_aligned']}")
    _camera_errors(runs["metapose"][0], calibration, args.height)


def _camera_errors(out, calibration, height) -> None:
    """MetaPose's per-frame relative rotations (``R_c R_ref^T``) against Qualisys: S1 and S1+S2, the
    monocular 3D taken as posed along the optical axis or along each view's ray."""
    import dataclasses

    import torch

    from mvmocap.detect.run import load as load_detections
    from mvmocap.fit.inputs import MethodInputs
    from mvmocap.geometry.frame_rig import nominal_rig
    from mvmocap.geometry.rotations import rotation_angle_between
    from mvmocap.io.calibration import load_rig
    from mvmocap.reconstruct.pipeline import keypoints_tensor
    from mvmocap.regressors.metapose.body import estimate_scene

    detections = load_detections(out / "work")
    truth = load_rig(calibration).subset(detections.camera_names)
    inputs = MethodInputs(keypoints_tensor(detections, 0.05),
                          nominal_rig(detections.camera_names, torch.as_tensor(detections.image_sizes)), None,
                          extras={"detections": detections, "subject_height_m": height}, progress=False)
    print("per-frame relative rotation error against Qualisys, median over frames and cameras (no smoothing / 0.5 s):")
    for solver in ("s1", "s2"):
        for ray in (False, True):
            line = []
            for smooth in (0.0, 0.5):
                scene = estimate_scene(dataclasses.replace(inputs), solver, smooth_s=smooth, ray_aligned=ray)
                ref = detections.camera_names.index(scene.summary["reference_camera"])
                rel = scene.rig.R @ scene.rig.R[:, ref:ref + 1].transpose(-1, -2)
                true = (truth.R @ truth.R[ref:ref + 1].transpose(-1, -2)).expand_as(rel)
                angle = torch.rad2deg(rotation_angle_between(rel, true))
                others = [c for c in range(len(truth)) if c != ref]
                line.append(f"{float(angle[:, others].median()):.1f}°")
            print(f"  {solver.upper():<3} {'ray-aligned' if ray else 'optical axis':<13} {' / '.join(line)}")


if __name__ == "__main__":
    main()
