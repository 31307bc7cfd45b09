"""Benchmark: multi-view SMPLify on the shared Pose2Sim demo (4 cameras x 100 frames).

detect (cached in the work folder) -> Qualisys calibration -> robust triangulation -> fit,
then prints the figures of issue 6's acceptance:

* median reprojection error of the fitted model's COCO joints against the detections, and of
  plain triangulation on the same observations (target: ratio <= 1.2);
* fitted body height (target 1.55-1.95 m);
* time per stage (target: whole pipeline including detection <= 60 s on 2 cores).

Usage::

    .venv/bin/python benchmarks/fit.py [--work /tmp/work_demo] [--force-detect] [--body-model open_neutral]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT.parent / "shared" / "data" / "pose2sim_demo"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=Path, default=DEMO / "videos")
    ap.add_argument("--calibration", type=Path, default=DEMO / "calibration" / "Calib.qca.txt")
    ap.add_argument("--work", type=Path, default=Path("/tmp/work_demo"), help="detection cache folder")
    ap.add_argument("--force-detect", action="store_true", help="recompute detections (to time them)")
    ap.add_argument("--body-model", default=None, help="body model name or path (default: mvmocap's default)")
    ap.add_argument("--config", default="{}", help="FitConfig overrides as JSON, e.g. '{\"chunk_size\": 50}'")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--per-joint", action="store_true", help="also print per-joint median errors")
    ap.add_argument("--save", type=Path, default=None, help="write the fitted parameters to this .pt file")
    return ap.parse_args(argv)


def masked_median(values: torch.Tensor, mask: torch.Tensor) -> float:
    picked = values[mask]
    return float(picked.median()) if picked.numel() else float("nan")


def mean_acceleration_mm(points: torch.Tensor, ok: torch.Tensor) -> float:
    """Mean norm of the second difference over frames of ``points (F, J, 3)`` m where ``ok (F, J)``
    holds for all three frames, in mm per frame^2 (jitter)."""
    acc = (points[2:] - 2 * points[1:-1] + points[:-2]).norm(dim=-1)
    both = ok[2:] & ok[1:-1] & ok[:-2]
    return float(acc[both].mean() * 1000) if bool(both.any()) else float("nan")


def main(argv=None) -> int:
    args = parse_args(argv)
    from mvmocap import detect
    from mvmocap.body import load_body_model
    from mvmocap.fit import FitConfig, fit_sequence
    from mvmocap.io.calibration import load_rig
    from mvmocap.keypoints import COCO23

    times: dict[str, float] = {}
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    detections = detect.run(args.videos, out=args.work, progress=False, force=args.force_detect)
    times["detect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rig = load_rig(args.calibration).subset(detections.camera_names)
    times["calibration"] = time.perf_counter() - t0

    keypoints = torch.as_tensor(detections.keypoints, dtype=torch.float64).permute(1, 0, 2, 3)  # (F, C, J, 3)
    t0 = time.perf_counter()
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2])
    times["triangulate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    body_model = load_body_model(args.body_model)
    times["load_body_model"] = time.perf_counter() - t0

    config = FitConfig.from_dict({"device": args.device, **json.loads(args.config)})
    t0 = time.perf_counter()
    result = fit_sequence(keypoints, rig, body_model, joints3d=tri.points, joints3d_confidence=tri.confidence,
                          config=config, progress=True)
    times["fit"] = time.perf_counter() - t0
    times["total"] = time.perf_counter() - t_all

    observed = keypoints[..., 2] > 0  # (F, C, J)
    both = observed & (tri.confidence > 0)[:, None, :] & result.observed
    tri_errors = tri.errors.to(torch.float32)
    fit_on_tri_mask = masked_median(result.reprojection_px, both)
    tri_median = masked_median(tri_errors, both)
    fit_all = masked_median(result.reprojection_px, observed & result.observed)
    height = result.height_m
    jitter_fit = mean_acceleration_mm(result.keypoints3d.double(), torch.ones_like(tri.confidence, dtype=torch.bool))
    jitter_tri = mean_acceleration_mm(tri.points, tri.confidence > 0)
    F, C = keypoints.shape[:2]

    print(f"\nmulti-view SMPLify on {args.videos} ({C} cameras x {F} frames), body model {body_model.name}")
    print(f"  frames valid: {int(result.params.valid.sum())}/{F}")
    print(f"  median reprojection, fitted model (joints triangulated too): {fit_on_tri_mask:.2f} px")
    print(f"  median reprojection, plain triangulation (same points):      {tri_median:.2f} px")
    print(f"  ratio fit / triangulation: {fit_on_tri_mask / tri_median:.2f} (target <= 1.2)")
    print(f"  median reprojection, fitted model, every detection:          {fit_all:.2f} px")
    print(f"  jitter, mean |second difference| of the joints: fit {jitter_fit:.1f} mm/frame^2, "
          f"triangulation {jitter_tri:.1f} mm/frame^2")
    print(f"  fitted height (rest pose): {height:.3f} m (target 1.55-1.95)")
    print(f"  betas: {[round(float(b), 2) for b in result.params.betas]}")
    print("  time per stage (s): " + ", ".join(f"{k} {v:.2f}" for k, v in times.items()))
    print("  fit stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    print(f"  pipeline incl. detection: {times['total']:.1f} s (target <= 60 s; detection "
          f"{'recomputed' if args.force_detect else 'possibly cached'})")
    if args.per_joint:
        print("  per joint median px (fit / triangulation):")
        for j, name in enumerate(COCO23):
            print(f"    {name:16s} {masked_median(result.reprojection_px[..., j], both[..., j]):7.2f}"
                  f" {masked_median(tri_errors[..., j], both[..., j]):7.2f}")
    if args.save:
        torch.save({"params": result.params, "keypoints3d": result.keypoints3d, "history": result.history}, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
