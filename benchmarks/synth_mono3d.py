"""The monocular 3D model's fit: BlazePose world landmarks on the shared demo against the multi-view truth.

Real: BlazePose's per-view world landmarks (``Detections.mono3d``, COCO-23 order, metres, hip-centred,
camera axes) of ../shared/data/pose2sim_demo. Reference: the robust triangulation of BlazePose's 2D
with the Qualisys calibration (as ``benchmarks/synth_evidence.py`` does), rotated into each camera
and centred on the mid-hip. For every (frame, view) with >= 10 joints in both:

* a similarity (Procrustes with scale) takes the landmarks onto the reference: its rotation angle
  (the lifter's tilt / heading error) and its scale (the lifter's body size against the subject's);
* after it, the per-axis residual in the camera's axes (x, y across the image, z depth), and its
  median by 2D confidence bin;
* flips: the share of views where the left/right mirror of the landmarks fits better.

The same statistics of :class:`mvmocap.synth.mono3d.MonocularNoise` (``--set FIELD=VALUE`` to try
other values) on the same reference joints, cameras and confidences are printed beside them.

    python benchmarks/synth_mono3d.py [--work /tmp/bench_demo/work] [--set rotation_deg=6]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from mvmocap.keypoints import COCO17, flip_permutation

HIPS = [11, 12]
MIN_JOINTS = 10
CONF_BINS = ((0.05, 0.5), (0.5, 0.9), (0.9, 1.01))


def statistics(truth: torch.Tensor, mono: torch.Tensor, known: torch.Tensor, conf: torch.Tensor) -> dict:
    """``truth``, ``mono (N, 17, 3)`` root-relative camera axes, ``known (N, 17)``, ``conf (N, 17)``."""
    from mvmocap.geometry.procrustes import apply_similarity, similarity_procrustes
    from mvmocap.geometry.rotations import matrix_to_axis_angle

    w = known.double()
    s, R, t = similarity_procrustes(mono, truth, w)
    aligned = apply_similarity(mono, s, R, t)
    res = (aligned - truth)[known]  # (M, 3)
    angle = torch.rad2deg(matrix_to_axis_angle(R).norm(dim=-1))
    perm = list(flip_permutation(COCO17))
    sf, Rf, tf = similarity_procrustes(mono[:, perm], truth, w * w[:, perm])
    err = lambda a: (((a - truth) ** 2).sum(-1) * w).sum(-1) / w.sum(-1)  # noqa: E731
    flips = err(apply_similarity(mono[:, perm], sf, Rf, tf)) < 0.5 * err(aligned)
    norm = (aligned - truth).norm(dim=-1)
    by_conf = []
    for lo, hi in CONF_BINS:
        sel = known & (conf >= lo) & (conf < hi)
        by_conf.append(float(norm[sel].median()) * 1000 if sel.any() else float("nan"))
    stats_flips = flips
    return {"flips": stats_flips, "angle_median": float(angle.median()), "angle_rms": float(angle.pow(2).mean().sqrt()),
            "log_scale_std": float(s.log().std()), "scale_median": float(s.median()),
            "res_std_mm": (res.std(0) * 1000).tolist(), "by_conf_mm": by_conf, "flip_share": float(flips.double().mean()),
            "views": int(len(s))}


def _whole_swaps(pts: torch.Tensor, ref: torch.Tensor, use: torch.Tensor) -> torch.Tensor:
    """``(F, C)`` views whose 2D fits the reference better with left and right exchanged (half the limb error)."""
    perm = list(flip_permutation(COCO17))
    limbs = list(range(5, 17))
    d = torch.where(use, (pts - ref).norm(dim=-1), torch.zeros(()))[..., limbs].sum(-1)
    d_fl = torch.where(use, (pts[..., perm, :] - ref).norm(dim=-1), torch.zeros(()))[..., limbs].sum(-1)
    return (use.sum(-1) >= 12) & (d_fl < 0.5 * d)


def _print(name: str, st: dict) -> None:
    x, y, z = st["res_std_mm"]
    print(f"{name:<10} views {st['views']:>4} | rotation median {st['angle_median']:5.1f}° rms {st['angle_rms']:5.1f}° | "
          f"scale median {st['scale_median']:.3f} log-std {st['log_scale_std']:.3f} | residual std x {x:5.1f} y {y:5.1f} "
          f"z {z:5.1f} mm (z/xy {z / ((x + y) / 2):.2f}) | median by conf " +
          " ".join(f"[{lo:.2f},{min(hi, 1):.2f}) {v:5.1f}" for (lo, hi), v in zip(CONF_BINS, st["by_conf_mm"])) +
          f" | flips {st['flip_share']:.3f}")


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=str(repo.parent / "shared" / "data" / "pose2sim_demo"))
    ap.add_argument("--work", default="/tmp/bench_demo/work", help="a detect output of the demo (reused; made if absent)")
    ap.add_argument("--threshold-px", type=float, default=25.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="MonocularNoise fields (floats)")
    args = ap.parse_args()
    import mvmocap.detect as detect
    from mvmocap.errors import MissingFileError
    from mvmocap.io.calibration import load_rig
    from mvmocap.synth.mono3d import MonocularNoise

    demo = Path(args.demo)
    try:
        det = detect.load(args.work)
    except MissingFileError:
        det = detect.run(demo / "videos", out=args.work, progress=False)
    if det.mono3d is None:
        raise SystemExit(f"{args.work}: the detections have no monocular 3D (detect with blazepose)")
    rig = load_rig(demo / "calibration" / "Calib.qca.txt").subset(list(det.camera_names)).to(torch.float64)
    kp = torch.as_tensor(det.keypoints[:, :, :17], dtype=torch.float64).permute(1, 0, 2, 3)  # (F, C, 17, 3)
    tri = rig.triangulate_robust(kp[..., :2], kp[..., 2], threshold_px=args.threshold_px)
    X = torch.nan_to_num(tri.points[:, :17])  # (F, 17, 3)
    X_ok = (tri.confidence[:, :17] > 0) & torch.isfinite(tri.points[:, :17]).all(-1)
    F, C = kp.shape[:2]
    cam = torch.einsum("cij,fnj->fcni", rig.R, X) + rig.t[None, :, None]
    truth = cam - cam[:, :, HIPS].mean(-2, keepdim=True)
    mono_all = torch.as_tensor(det.mono3d[:, :, :17], dtype=torch.float64).permute(1, 0, 2, 3)  # (F, C, 17, 4)
    mono = mono_all[..., :3] - mono_all[..., HIPS, :3].mean(-2, keepdim=True)
    conf = kp[..., 2]
    known = X_ok[:, None] & (conf > 0.05) & X_ok[:, None, HIPS].all(-1, keepdim=True)
    use = known.sum(-1) >= MIN_JOINTS
    print(f"demo: {C} cameras x {F} frames; {int(use.sum())} (frame, view) pairs with >= {MIN_JOINTS} joints; "
          f"reference: robust triangulation ({args.threshold_px} px) with the Qualisys calibration")
    real = statistics(truth[use], mono[use], known[use], conf[use])
    _print("BlazePose", real)
    swapped_2d = _whole_swaps(kp[..., :2], rig.project(X), known)[use]
    both = int((swapped_2d & real["flips"]).sum())
    print(f"BlazePose: {int(real['flips'].sum())} flipped monocular views, {int(swapped_2d.sum())} left/right-swapped "
          f"2D views, {both} both")
    noise = MonocularNoise(**{k: float(v) for k, v in (item.split("=", 1) for item in args.set)})
    g = torch.Generator().manual_seed(args.seed)
    all_swapped = _whole_swaps(kp[..., :2], rig.project(X), known)
    synth, _ = noise.apply(X.double(), rig.R[None].expand(F, -1, -1, -1), rig.t[None].expand(F, -1, -1),
                           conf * known, g, swapped=all_swapped)
    synth = synth - synth[:, :, HIPS].mean(-2, keepdim=True)
    _print("synthetic", statistics(truth[use], synth[use], known[use], conf[use]))
    print(f"synthetic: {noise}")


if __name__ == "__main__":
    main()
