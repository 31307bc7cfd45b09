"""The realistic detector model's fit: BlazePose on the shared demo beside RealisticNoise on the same
cameras and bodies, one table.

Real: BlazePose detections of ../shared/data/pose2sim_demo (4 Qualisys cameras x 100 frames).
Synthetic: the demo's fitted body (``mvmocap reconstruct`` output, smpl_params.npz), its COCO joints
projected with the Qualisys calibration (distortion included) and passed through
:class:`mvmocap.synth.realistic.RealisticNoise` as one 100-frame sequence (T = 100), ``--draws``
times with different seeds. Both sides are then measured by the same function: the detections are
triangulated robustly with the Qualisys calibration, reprojected, and compared with themselves
(the demo has no other ground truth, so the synthetic side gets the same reference, not its truth).
Occlusion on both sides: the z-buffer of the fitted body (:func:`mvmocap.synth.occlusion.joint_visibility`).

Statistics (unit: the longer side of the box of the 17 reprojected joints):
* Spearman correlation of (1 - confidence) and error over confident joints (> 0.05);
* error quantiles (median, 90 %) per confidence bin, and the bins' shares;
* drop rate: joints with confidence <= 0.05; lost views: views with every joint dropped;
* occlusion rate (z-buffer) and error / confidence of hidden vs visible joints;
* swaps: views where exchanging left and right halves the limb error, and the mean length of
  their runs along the frames; single limbs likewise;
* frame-to-frame (lag-1) correlation of the error vector and of the confidence (unswapped views);
* out of the image: detections outside, and their confidence.

    python benchmarks/synth_evidence.py [--work /tmp/bench_demo/work] [--params /tmp/bench_demo/smpl_params.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: benchmarks.*

from mvmocap.keypoints import COCO17, flip_permutation
from mvmocap.synth.realistic import LIMB_PAIRS, RealisticNoise

LIMBS = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
BINS = ((0.05, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 1.01))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a + 1e-12 * np.random.default_rng(0).random(a.shape)))
    rb = np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def statistics(rig, pts: torch.Tensor, conf: torch.Tensor, visible: torch.Tensor, threshold_px: float) -> dict:
    """Statistics of detections ``pts (F, C, 17, 2)``, ``conf (F, C, 17)`` against their own robust
    triangulation; ``visible (F, C, 17)`` from the z-buffer."""
    tri = rig.triangulate_robust(pts, conf, threshold_px=threshold_px)
    ref = rig.project(tri.points)
    C = pts.shape[1]
    ok = (tri.confidence > 0)[:, None, :].expand(-1, C, -1)
    frame_ok = (tri.confidence > 0).sum(-1) >= 12
    big = 1e9
    lo = torch.where(ok[..., None], ref, torch.full_like(ref, big)).amin(-2)
    hi = torch.where(ok[..., None], ref, torch.full_like(ref, -big)).amax(-2)
    box = (hi - lo).amax(-1).clamp(min=1.0)  # (F, C)
    err = (pts - ref).norm(dim=-1) / box[..., None]
    valid = ok & frame_ok[:, None, None]
    kept = valid & (conf > 0.05)
    e, c = err[kept].numpy(), conf[kept].numpy()
    out = {"n": int(kept.sum()), "spearman": spearman(1 - c, e)}
    unswapped = kept & ~_whole_swaps(pts, ref, kept)[..., None]
    out["spearman (unswapped)"] = spearman(1 - conf[unswapped].numpy(), err[unswapped].numpy())
    for lo_c, hi_c in BINS:
        m = (c >= lo_c) & (c < hi_c)
        out[f"share {lo_c:.2f}-{min(hi_c, 1):.2f}"] = float(m.mean())
        out[f"err50 {lo_c:.2f}-{min(hi_c, 1):.2f}"] = float(np.median(e[m])) if m.sum() > 5 else float("nan")
        out[f"err90 {lo_c:.2f}-{min(hi_c, 1):.2f}"] = float(np.quantile(e[m], 0.9)) if m.sum() > 5 else float("nan")
    out["err50 all"] = float(np.median(e))
    out["err90 all"] = float(np.quantile(e, 0.9))
    out["conf mean"] = float(c.mean())
    out["drop rate"] = float((conf[valid] <= 0.05).double().mean())
    out["lost views"] = float((conf <= 0.05).all(-1).double().mean())
    hid = kept & ~visible
    vis = kept & visible
    out["occluded rate"] = float((~visible[valid]).double().mean())
    out["err50 occluded"] = float(err[hid].median()) if hid.any() else float("nan")
    out["err50 visible"] = float(err[vis].median())
    out["conf occluded"] = float(conf[hid].mean()) if hid.any() else float("nan")
    out["conf visible"] = float(conf[vis].mean())
    out["drop occluded"] = float((conf[valid & ~visible] <= 0.05).double().mean()) if (valid & ~visible).any() else 0.0
    # Swaps: whole view (12 limb joints) and single limbs (arm / leg chain), as in synth_noise_model.py.
    use = kept
    person = use.sum(-1) >= 12
    whole = _whole_swaps(pts, ref, kept)
    out["swap rate (view)"] = float(whole[person].double().mean())
    starts = int((whole[1:] & ~whole[:-1]).sum() + whole[0].sum())
    out["swap run (frames)"] = float(whole.sum()) / starts if starts else float("nan")
    single = torch.zeros_like(whole)
    for left, right in LIMB_PAIRS:
        idx = list(left) + list(right)
        sw = list(right) + list(left)
        a = (pts[..., idx, :] - ref[..., idx, :]).norm(dim=-1).sum(-1)
        b = (pts[..., sw, :] - ref[..., idx, :]).norm(dim=-1).sum(-1)
        single |= person & ~whole & (b < 0.5 * a) & use[..., idx].all(-1)
    out["swap rate (one limb)"] = float(single[person].double().mean())
    steady = kept & ~whole[..., None]
    both = steady[1:] & steady[:-1]
    res = (pts - ref) / box[..., None, None]
    out["error lag-1 corr"] = float(np.corrcoef(res[1:][both].reshape(-1).numpy(), res[:-1][both].reshape(-1).numpy())[0, 1])
    out["conf lag-1 corr"] = float(np.corrcoef(conf[1:][both].numpy(), conf[:-1][both].numpy())[0, 1])
    w, h = rig.sizes[:, 0][None, :, None], rig.sizes[:, 1][None, :, None]
    outside = (pts[..., 0] < 0) | (pts[..., 1] < 0) | (pts[..., 0] > w - 1) | (pts[..., 1] > h - 1)
    out["outside image"] = float((outside & (conf > 0)).double().mean())
    return out


def _whole_swaps(pts: torch.Tensor, ref: torch.Tensor, use: torch.Tensor) -> torch.Tensor:
    """``(F, C)`` views where exchanging left and right halves the error of the 12 limb joints."""
    perm = list(flip_permutation(COCO17))
    d = (pts - ref).norm(dim=-1)
    d_fl = (pts[..., perm, :] - ref).norm(dim=-1)
    person = use.sum(-1) >= 12
    limb_id = torch.where(use[..., LIMBS], d[..., LIMBS], torch.zeros(())).sum(-1)
    limb_fl = torch.where(use[..., LIMBS], d_fl[..., LIMBS], torch.zeros(())).sum(-1)
    return person & (limb_fl < 0.5 * limb_id)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=str(repo.parent / "shared" / "data" / "pose2sim_demo"))
    ap.add_argument("--work", default="/tmp/bench_demo/work", help="a detect output of the demo (reused)")
    ap.add_argument("--params", default="/tmp/bench_demo/smpl_params.npz", help="the demo's fitted body")
    ap.add_argument("--threshold-px", type=float, default=25.0)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="override RealisticNoise fields (floats), e.g. error_gain=0.3")
    args = ap.parse_args()
    from benchmarks.demo_inputs import demo_detections_and_rig
    from mvmocap.body import load_body_model
    from mvmocap.synth.evidence import keypoint_box_size
    from mvmocap.synth.occlusion import joint_visibility
    from mvmocap.synth.rasterize import winding_sign

    det, rig = demo_detections_and_rig(Path(args.demo), args.work)
    kp = torch.as_tensor(det.keypoints[:, :, :17], dtype=torch.float64).permute(1, 0, 2, 3)  # (F, C, 17, 3)
    F, C = kp.shape[:2]

    params = np.load(args.params)
    body = load_body_model(str(params["body_model"]))
    frames = torch.as_tensor(params["frame_ids"]).long()
    n = len(frames)
    with torch.no_grad():
        out = body(global_orient=torch.as_tensor(params["global_orient"], dtype=torch.float32),
                   body_pose=torch.as_tensor(params["body_pose"], dtype=torch.float32).reshape(n, 23, 3),
                   betas=torch.as_tensor(params["betas"], dtype=torch.float32)[None].expand(n, -1),
                   transl=torch.as_tensor(params["transl"], dtype=torch.float32))
    verts = out.vertices[:, : body.num_vertices].double()
    joints = out.coco23[:, :17].double()
    rigb = rig.to(torch.float64)
    exp = lambda x: x[None].expand((n,) + tuple(x.shape))  # noqa: E731
    visible = joint_visibility(verts, body.faces, joints, exp(rigb.K), exp(rigb.R), exp(rigb.t), exp(rigb.sizes),
                               dist=exp(rigb.dist), resolution=64, method="raster",
                               cull=winding_sign(body.v_template, body.faces))  # (n, C, 17)
    true_px = rigb.project(joints)  # (n, C, 17, 2)
    real_pts, real_conf = kp[frames, ..., :2], kp[frames, ..., 2]
    fit_err = ((real_pts - true_px).norm(dim=-1)).median()
    print(f"demo: {C} cameras x {F} frames, {n} fitted; median distance BlazePose - fitted body's joints "
          f"{float(fit_err):.1f} px; z-buffer occlusion {float((~visible).double().mean()):.3f}")
    print("hidden share per joint: " + ", ".join(f"{name} {float(v):.2f}"
                                                  for name, v in zip(COCO17, (~visible).double().mean((0, 1)))))
    real = statistics(rigb, real_pts, real_conf, visible, args.threshold_px)
    noise = RealisticNoise(**{k: float(v) for k, v in (item.split("=", 1) for item in args.set)})
    print(f"synthetic: {noise}")
    box = keypoint_box_size(true_px)
    synth_runs = []
    for k in range(args.draws):
        g = torch.Generator().manual_seed(args.seed * 1000 + k)
        p, c = noise.apply(true_px, box, visible, rigb.sizes, g)
        synth_runs.append(statistics(rigb, p, c, visible, args.threshold_px))
    keys = list(real)
    print(f"\n{'statistic':24s} {'BlazePose':>10s} {'synthetic':>10s} {'(sd over ' + str(args.draws) + ' draws)':>20s}")
    for key in keys:
        vals = np.array([r[key] for r in synth_runs], dtype=float)
        print(f"{key:24s} {real[key]:10.4f} {np.nanmean(vals):10.4f} {np.nanstd(vals):20.4f}")


if __name__ == "__main__":
    main()
