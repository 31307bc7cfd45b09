"""Measure a real detector's 2D error model on the shared demo and print DetectorNoise defaults.

BlazePose detections of the 4 demo videos are compared with the reprojection of the joints
triangulated (robustly) from those same detections with the Qualisys calibration. Per view
and frame, the unit is the longer side of the box of the 17 reprojected joints.

Figures:
* swap rate: share of views where exchanging left and right lowers the mean error of the
  12 limb joints below half of the unexchanged error;
* per-joint sigma: 1.4826 x median absolute deviation of the x and y errors (pooled) / box,
  over confident joints of unswapped views with a valid reference;
* outliers: share of those joints farther than 5 sigma, and their RMS error per axis / box;
* dropout: share of joints with confidence < 0.05 in views where a person was detected;
* confidence range: 5th and 95th percentile of the kept joints' confidence.

    .venv/bin/python benchmarks/synth_noise_model.py [--work /tmp/synth_noise_work] [--demo ../shared/data/pose2sim_demo]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: benchmarks.*

from mvmocap.keypoints import COCO17, flip_permutation

LIMBS = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=str(repo.parent / "shared" / "data" / "pose2sim_demo"))
    ap.add_argument("--work", default="/tmp/synth_noise_work", help="detection work folder (reused when complete)")
    ap.add_argument("--threshold-px", type=float, default=25.0, help="robust triangulation threshold")
    args = ap.parse_args()
    from benchmarks.demo_inputs import demo_detections_and_rig

    det, rig = demo_detections_and_rig(Path(args.demo), args.work)
    kp = torch.as_tensor(det.keypoints[:, :, :17], dtype=torch.float64)  # (C, F, 17, 3)
    C, F = kp.shape[:2]
    pts = kp[..., :2].permute(1, 0, 2, 3)  # (F, C, 17, 2)
    conf = kp[..., 2].permute(1, 0, 2)
    tri = rig.triangulate_robust(pts, conf, threshold_px=args.threshold_px)
    ref = rig.project(tri.points)  # (F, C, 17, 2)
    ref_ok = tri.confidence > 0  # (F, 17)
    box_ok = ref_ok.sum(-1) >= 12
    refb = ref[box_ok]  # (n, C, 17, 2)
    mask = ref_ok[box_ok][:, None, :].expand(-1, C, -1)
    lo = torch.where(mask[..., None], refb, torch.full_like(refb, 1e9)).amin(-2)
    hi = torch.where(mask[..., None], refb, torch.full_like(refb, -1e9)).amax(-2)
    box = (hi - lo).amax(-1)  # (n, C)
    d = pts[box_ok]
    c = conf[box_ok]
    person = (c > 0).any(-1)  # (n, C)
    perm = list(flip_permutation(COCO17))
    use = mask & (c > 0.05)
    err_id = torch.where(use, (d - refb).norm(dim=-1), torch.zeros(())).sum(-1) / use.sum(-1).clamp(min=1)
    err_fl = torch.where(use, (d[..., perm, :] - refb).norm(dim=-1), torch.zeros(())).sum(-1) / use.sum(-1).clamp(min=1)
    limb_id = torch.where(use[..., LIMBS], (d - refb)[..., LIMBS, :].norm(dim=-1), torch.zeros(())).sum(-1)
    limb_fl = torch.where(use[..., LIMBS], (d[..., perm, :] - refb)[..., LIMBS, :].norm(dim=-1), torch.zeros(())).sum(-1)
    swapped = person & (limb_fl < 0.5 * limb_id)
    rel = (d - refb) / box[..., None, None]
    good = use & ~swapped[..., None]
    sigma = []
    for j in range(17):
        e = rel[..., j, :][good[..., j]].reshape(-1)
        sigma.append(float(1.4826 * (e - e.median()).abs().median()) if e.numel() > 10 else float("nan"))
    sig = torch.tensor(sigma, dtype=torch.float64)
    dist = rel.norm(dim=-1)  # (n, C, 17)
    outlier = good & (dist > 5 * sig * np.sqrt(2))
    share_out = float(outlier.sum() / good.sum())
    out_sigma = float((rel[outlier] ** 2).mean().sqrt()) if outlier.any() else 0.0
    pc = c[person]
    dropout = float((pc < 0.05).double().mean())
    kept = pc[pc >= 0.05]
    conf_lo, conf_hi = float(torch.quantile(kept, 0.05)), float(torch.quantile(kept, 0.95))
    print(f"detector {det.detector}: {C} cameras x {F} frames; reference frames (>= 12 triangulated joints): "
          f"{int(box_ok.sum())}; views with a person: {int(person.sum())}; median box {float(box.median()):.0f} px")
    print(f"mean error (px): {float(err_id[person].mean()):.1f}; swapped views: {int(swapped.sum())} "
          f"-> swap_rate {float(swapped.sum() / person.sum()):.4f}")
    print("per-joint sigma / box:")
    for name, s in zip(COCO17, sigma):
        print(f"  {name:15s} {s:.4f}")
    print(f"outlier_rate {share_out:.4f} (> 5 sigma), outlier_sigma {out_sigma:.4f}; dropout {dropout:.4f}; "
          f"confidence 5-95% [{conf_lo:.2f}, {conf_hi:.2f}]")
    print("DetectorNoise(")
    print(f"    sigma=({', '.join(f'{s:.4f}' for s in sigma)}),")
    print(f"    outlier_rate={share_out:.4f}, outlier_sigma={out_sigma:.4f}, dropout={dropout:.4f},")
    print(f"    swap_rate={float(swapped.sum() / person.sum()):.4f}, confidence_range=({conf_lo:.2f}, {conf_hi:.2f}),")
    print(")")


if __name__ == "__main__":
    main()
