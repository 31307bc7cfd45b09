"""MetaPose on the real demo capture (#21, acceptance 3): per-frame rotations, and as the start of the calibration.

Data: ../shared/data/pose2sim_demo (4 cameras, 100 frames, one subject), BlazePose detections (2D +
world landmarks as monocular 3D) cached in ``--work`` (detection runs once when absent); the
reference is the Qualisys calibration in the data folder. Everything below runs in one process.

1. Per-frame relative rotations on all 11 subsets of 2-4 of the 4 cameras: MetaPose S1 (closed
   form) and S1+S2 (``--checkpoint``) estimate the weak cameras of every frame-set from the raw
   pixels (no intrinsics: the uncalibrated setting); camera 0 of the subset is the reference and
   the error of camera c is the angle between the estimated and Qualisys' ``R_c R_0^T``. Printed:
   the median over the frames (and the subset's other cameras) per subset, and over all of them.
   The ``+ray(K)`` columns turn each view by its ray to the body first
   (:func:`mvmocap.calibrate.init_frame_cameras.ray_rotations`, rays from the Qualisys intrinsics:
   not the uncalibrated setting, shown for what the calibration start gains from it).
2. ``calibrate --from-joints`` with today's start (``auto``: mono3d-procrustes and essential, the
   lower robust cost kept) against ``--init metapose-s1`` and ``--init metapose`` (with
   ``--checkpoint``), with the Qualisys intrinsics and with unknown focal lengths: the errors of
   ``mvmocap eval calibration`` (mean rotation °, centre %, focal %), the time of the start and of
   the whole calibration; ``start rot °``: the kept start's mean relative rotation error (to the
   reference camera) before the bundle adjustment, recomputed outside the timed calibration.
3. Why the start turns each view by its ray: BlazePose's world landmarks against the Qualisys
   triangulation in each camera's axes (``benchmarks/synth_mono3d.py``'s statistics), as given and
   turned by the ray through the hip centre.

    python benchmarks/metapose_real.py [--work /tmp/bench_demo/work] [--checkpoint models/regressors/metapose.pt] [--repeats 3]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch

DEMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pose2sim_demo"
NUM_JOINTS = 17


def subsets(num_cameras: int) -> list[tuple[int, ...]]:
    """Every subset of 2 to ``num_cameras`` cameras (11 of 4), smallest first."""
    return [s for k in range(2, num_cameras + 1) for s in itertools.combinations(range(num_cameras), k)]


def relative_rotation_errors(R_est: torch.Tensor, valid: torch.Tensor, R_ref: torch.Tensor) -> torch.Tensor:
    """Degrees ``(N,)``: every usable (frame, camera c > 0) of ``R_est (F, C, 3, 3)`` / ``valid (F, C)``
    against ``R_ref (C, 3, 3)``, both as ``R_c R_0^T`` (camera 0 the reference)."""
    from mvmocap.geometry.rotations import rotation_angle_between

    est = R_est[:, 1:] @ R_est[:, :1].transpose(-1, -2)
    ref = (R_ref[1:] @ R_ref[:1].transpose(-1, -2)).expand_as(est)
    angles = torch.rad2deg(rotation_angle_between(est.double(), ref.double()))
    return angles[valid[:, 1:] & valid[:, :1]]


def per_frame_table(detections, reference, optimizer) -> None:
    from mvmocap.regressors.metapose.static_rig import weak_cameras

    from mvmocap.calibrate.init_frame_cameras import ray_rotations

    kp = torch.from_numpy(np.ascontiguousarray(detections.keypoints.transpose(1, 0, 2, 3)[:, :, :NUM_JOINTS]))
    mono = torch.from_numpy(np.ascontiguousarray(detections.mono3d.transpose(1, 0, 2, 3)[:, :, :NUM_JOINTS]))
    conf = kp[..., 2]
    mono_weight = torch.where(conf > 0, mono[..., 3].clamp(0, 1), torch.zeros_like(conf))
    ref_rig = reference.subset(tuple(detections.camera_names)).to(torch.float64)
    focal = torch.stack([ref_rig.K[:, 0, 0], ref_rig.K[:, 1, 1]], -1).numpy()
    principal = ref_rig.K[:, :2, 2].numpy()
    solvers = [("S1", "s1", None)] + ([("S1+S2", "s2", optimizer)] if optimizer is not None else [])
    solvers += [(name + "+ray(K)", solver, opt) for name, solver, opt in solvers]
    names = detections.camera_names
    print(f"\n== per-frame relative rotation error (deg) against Qualisys, {kp.shape[0]} frame-sets, raw pixels; "
          "median over frames x the subset's other cameras (n = frame-camera pairs) ==")
    print(f"{'cameras':<24}" + "".join(f"{name:>14} {'n':>4}" for name, _, _ in solvers))
    overall = {name: [] for name, _, _ in solvers}
    times = {name: 0.0 for name, _, _ in solvers}
    for subset in subsets(kp.shape[1]):
        idx = list(subset)
        row = f"{'+'.join(names[c] for c in subset):<24}"
        for name, solver, opt in solvers:
            tick = time.perf_counter()
            R, _, shift, valid = weak_cameras(kp[:, idx, :, :2], conf[:, idx], mono[:, idx, :, :3], mono_weight[:, idx],
                                              solver, opt, reference=0)
            times[name] += time.perf_counter() - tick
            if name.endswith("+ray(K)"):
                rays = ray_rotations(shift.double().numpy() - principal[idx], focal[idx])
                R = torch.from_numpy(rays) @ R.double()
            errors = relative_rotation_errors(R, valid, ref_rig.R[idx])
            overall[name].append(errors)
            row += f"{errors.median():>14.2f} {len(errors):>4d}" if len(errors) else f"{'-':>14} {0:>4d}"
        print(row)
    print(f"{'all 11 subsets':<24}" + "".join(f"{torch.cat(overall[n]).median():>14.2f} {len(torch.cat(overall[n])):>4d}"
                                             for n, _, _ in solvers))
    print(f"{'mean of subset medians':<24}" + "".join(
        f"{np.mean([float(e.median()) for e in overall[n] if len(e)]):>14.2f} {'':>4}" for n, _, _ in solvers))
    print("time (all subsets, batched over frames): " + ", ".join(f"{n} {t:.2f} s" for n, t in times.items()
                                                               if not n.endswith("ray(K)")))


def start_rotation_error(detections, intrinsics, start, label: str, reference) -> float:
    """Mean relative rotation error (deg, to the start's reference camera, whose R is the identity) of the
    start ``label`` that the calibration kept, against ``reference``."""
    from mvmocap.calibrate.from_joints import initial_candidates
    from mvmocap.calibrate.observations import prepare_observations
    from mvmocap.geometry.rotations import rotation_angle_between

    obs = prepare_observations(detections, intrinsics)
    cams = dict(initial_candidates(obs, start))[label]
    R = torch.from_numpy(cams.R)
    ref = int(torch.linalg.matrix_norm(R - torch.eye(3, dtype=R.dtype)).argmin())
    R_ref = reference.subset(obs.names).R.to(torch.float64)
    est, truth = R @ R[ref].T, R_ref @ R_ref[ref].T
    others = [c for c in range(len(R)) if c != ref]
    return float(torch.rad2deg(rotation_angle_between(est[others], truth[others])).mean())


def calibration_table(detections, reference, checkpoint, repeats: int = 3) -> None:
    from mvmocap.calibrate import calibrate_from_joints
    from mvmocap.evaluate.calibration import compare_calibrations
    from mvmocap.methods.registry import calibration_start

    inits = ["auto", "metapose-s1"] + (["metapose"] if checkpoint else [])
    print(f"\n== calibrate --from-joints, the 4 cameras, 100 frames: today's start (auto) vs the metapose starts "
          f"(times: median of {repeats} runs, interleaved) ==")
    print(f"{'intrinsics':<10} {'--init':<12} {'start kept':<30} {'start rot °':>11} {'rot °':>6} {'centre %':>8} "
          f"{'focal %':>7} {'start s':>7} {'total s':>7}")
    for label, intrinsics in (("qualisys", reference), ("unknown", None)):
        runs = {init: [] for init in inits}
        for _ in range(repeats):  # interleaved, so a busy moment of the shared machine hits every start alike
            for init in inits:
                tick = time.perf_counter()
                start = calibration_start(init, checkpoint)  # loading the checkpoint counts in the total
                result = calibrate_from_joints(detections, intrinsics, progress=False, frame_cameras=start)
                runs[init].append((time.perf_counter() - tick, result))
        for init in inits:
            total = float(np.median([t for t, _ in runs[init]]))
            result = runs[init][-1][1]
            start_s = float(np.median([r.report.initialisation_s for _, r in runs[init]]))
            c = compare_calibrations(result.rig, reference)
            before = start_rotation_error(detections, intrinsics, calibration_start(init, checkpoint),
                                          result.report.initialisation, reference)
            print(f"{label:<10} {init:<12} {result.report.initialisation:<30} {before:>11.2f} {c.mean_rotation_error_deg:>6.2f} "
                  f"{c.mean_center_error_pct:>8.2f} {c.mean_focal_error_pct:>7.2f} {start_s:>7.2f} {total:>7.2f}")


def ray_alignment(detections, reference) -> None:
    """The monocular poses' rotation error against the truth, in the camera's axes and along the ray."""
    from benchmarks.synth_mono3d import HIPS, MIN_JOINTS, statistics
    from mvmocap.calibrate.init_frame_cameras import ray_rotations

    rig = reference.subset(tuple(detections.camera_names)).to(torch.float64)
    kp = torch.as_tensor(detections.keypoints[:, :, :NUM_JOINTS], dtype=torch.float64).permute(1, 0, 2, 3)
    tri = rig.triangulate_robust(kp[..., :2], kp[..., 2], threshold_px=25.0)
    X = torch.nan_to_num(tri.points[:, :NUM_JOINTS])
    X_ok = (tri.confidence[:, :NUM_JOINTS] > 0) & torch.isfinite(tri.points[:, :NUM_JOINTS]).all(-1)
    cam = torch.einsum("cij,fnj->fcni", rig.R, X) + rig.t[None, :, None]
    hip = cam[:, :, HIPS].mean(-2)  # (F, C, 3) the hip centre in each camera
    mono = torch.as_tensor(detections.mono3d[:, :, :NUM_JOINTS, :3], dtype=torch.float64).permute(1, 0, 2, 3)
    mono = mono - mono[:, :, HIPS].mean(-2, keepdim=True)
    conf = kp[..., 2]
    known = X_ok[:, None] & (conf > 0.05) & X_ok[:, None, HIPS].all(-1, keepdim=True)
    use = known.sum(-1) >= MIN_JOINTS
    focal = torch.stack([rig.K[:, 0, 0], rig.K[:, 1, 1]], -1).numpy()
    rays = torch.from_numpy(ray_rotations((hip[..., :2] / hip[..., 2:]).numpy() * focal, focal))
    print(f"\n== BlazePose world landmarks against the Qualisys triangulation, {int(use.sum())} (frame, view) pairs ==")
    off_axis = torch.rad2deg(torch.acos(torch.nn.functional.normalize(hip, dim=-1)[..., 2]))[use]
    print(f"the ray to the hip centre is {off_axis.median():.1f} deg (median), {off_axis.max():.1f} deg (max) off the optical axis")
    for name, m in (("as given (camera axes)", mono), ("turned by the ray", torch.einsum("fcij,fcnj->fcni", rays, mono)),
                    ("turned by the inverse ray", torch.einsum("fcji,fcnj->fcni", rays, mono))):
        st = statistics(cam[use] - hip[use][:, None], m[use], known[use], conf[use])
        print(f"{name:<26} rotation error median {st['angle_median']:5.2f} deg, rms {st['angle_rms']:5.2f} deg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_demo/work"), help="detection work folder (cache)")
    parser.add_argument("--checkpoint", default=None, help="a metapose checkpoint for S1+S2 and --init metapose")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="calibrations per start, for the median time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not DEMO.is_dir():
        print(f"skipped: {DEMO} not found")
        return
    from mvmocap.detect import run
    from mvmocap.io.calibration import load_rig
    from mvmocap.regressors.metapose.inference import load_optimizer

    detections = run(DEMO / "videos", out=args.work, progress=False)  # reuses the cache in --work
    reference = load_rig(DEMO / "calibration" / "Calib.qca.txt")
    optimizer = None
    if args.checkpoint:
        optimizer, meta = load_optimizer(args.checkpoint)
        print(f"checkpoint {args.checkpoint}: trained {meta.get('step')} steps, {meta['options']['steps']} refinement networks")
    else:
        print("no --checkpoint: S1 only (S1+S2 and --init metapose need a trained optimizer)")
    per_frame_table(detections, reference, optimizer)
    calibration_table(detections, reference, args.checkpoint, args.repeats)
    ray_alignment(detections, reference)


if __name__ == "__main__":
    main()
