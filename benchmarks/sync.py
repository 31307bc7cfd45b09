"""Time synchronisation (issue 22): offsets recovered from the people, on synthetic and real captures.

    python benchmarks/sync.py [--work /tmp/sync_det] [--trials 10] [--no-synthetic] [--no-real] [--interpolation gaussian]
                              [--without bundle,bundle-linear,alternate]

Synthetic: 4 cameras, 150 frames at 30 fps, random offsets in -10..+10 frames (fractional),
1.5 px noise, 5 % missing joints, 2 % left/right swaps. Offsets estimated with the true
cameras, and without cameras in every way of ``--without``, in the same run: ``bundle``, as extra
parameters of the calibration-from-joints bundle adjustment, the tracks read by a Gaussian kernel at
the fractional frame (the default); ``bundle-linear``, the same read linearly between samples smoothed
in time; ``alternate``, alternated with the calibration from joints. Reconstruction
error: triangulation with the true cameras against the true joints, after resampling with
the true offsets (the synchronised baseline), the estimated ones, and none (offsets 0).

Real: the shared demo (4 x 100 frames, 60 fps); the BlazePose detections (run once, cached in
--work) are cut by known k frames per camera and one camera is decimated to 30 fps; offsets
recovered with the Qualisys cameras and without cameras (every way); median reprojection error of robust
triangulation against the uncut detections', in the same run. The recovered k is the offset minus
that of the same method on the uncut detections (all 100 frames), and also minus that of the uncut
detections shortened to the frames the cut case covers (every camera cut by the largest k: the
same stretch of motion, still synchronised as recorded).

``--interpolation gaussian``: the known-camera refinement (and the alternation) evaluate the tracks between
frames by a Gaussian kernel at the fraction (:func:`mvmocap.sync.smooth.gaussian_at`) instead of linearly
between samples smoothed in each camera's own frames (the default).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mvmocap.sync import CameraTrack, synchronise
from mvmocap.sync.refine import RefineSettings
from mvmocap.sync.resample import resample_detections
from mvmocap.sync.workflows import joints_calibrator

DEMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pose2sim_demo"


def _triangulation_error(detections, rig, truth=None) -> tuple[float, float]:
    """(median reprojection px of robust triangulation, MPJPE mm against ``truth (T, J, 3)`` or NaN)."""
    kp = torch.from_numpy(np.ascontiguousarray(detections.keypoints.transpose(1, 0, 2, 3))).double()
    conf = torch.where(kp[..., 2] >= 0.2, kp[..., 2], torch.zeros_like(kp[..., 2]))
    rig = rig.subset(detections.camera_names).to(torch.float64)
    tri = rig.triangulate_robust(kp[..., :2], conf)
    mask = (conf > 0) & (tri.confidence > 0)[:, None, :]
    mask[..., 17:] = False
    reproj = float(tri.errors[mask].median())
    if truth is None:
        return reproj, float("nan")
    ok = tri.confidence[:, :17] > 0
    err = (tri.points[:, :17] - torch.as_tensor(truth[:, :17])).norm(dim=-1)[ok]
    return reproj, float(err.mean() * 1000)


def _calibration_error(detections, rig) -> tuple[float, float, float]:
    """Calibration from joints (unknown focal lengths) against the true rig: rotation deg, centre %, focal %."""
    from mvmocap.calibrate import calibrate_from_joints
    from mvmocap.errors import MvmocapError
    from mvmocap.evaluate.calibration import compare_calibrations

    try:
        result = calibrate_from_joints(detections, None, height_m=1.7, force=True, progress=False)
    except MvmocapError:
        return (float("nan"),) * 3
    c = compare_calibrations(result.rig, rig)
    return c.mean_rotation_error_deg, c.mean_center_error_pct, c.mean_focal_error_pct


# without cameras: offsets in the bundle adjustment (tracks read by a Gaussian kernel, the default, or linearly
# between smoothed samples), or the alternation of calibration and refinement
WITHOUT = ("bundle", "bundle-linear", "alternate")


def _without_cameras(tracks, mode: str, settings: RefineSettings, detector: str = "synthetic"):
    way, _, reading = mode.partition("-")
    changes = dict(without_cameras=way) | (dict(bundle_interpolation=reading) if reading else {})
    return synchronise(tracks, detector=detector, calibrate=joints_calibrator(None, 1.7),
                       settings=replace(settings, **changes))


def synthetic(trials: int, settings: RefineSettings) -> None:
    from mvmocap.sync.synthetic import make_unsynced_capture

    rng = np.random.default_rng(22)
    rows = []
    for trial in range(trials):
        true = np.concatenate([[0.0], rng.uniform(-10, 10, 3)])
        cap = make_unsynced_capture(true, seed=100 + trial, noise_px=1.5, missing=0.05, swaps=0.02)
        t0 = time.perf_counter()
        det_known, known, _ = synchronise(cap.tracks, cap.rig, detector="synthetic", settings=settings)
        t1 = time.perf_counter()
        joint, seconds, dets = {}, {}, {}
        for mode in WITHOUT:
            t = time.perf_counter()
            dets[mode], joint[mode], _ = _without_cameras(cap.tracks, mode, settings)
            seconds[mode] = time.perf_counter() - t
        ones = np.ones(len(true))
        timeline = det_known.frame_ids
        synced = resample_detections(cap.tracks, true, ones, detector="synthetic", timeline=timeline)
        zero = resample_detections(cap.tracks, np.zeros_like(true), ones, detector="synthetic")
        truth = cap.joints_at(timeline)
        _, mpjpe_sync = _triangulation_error(synced, cap.rig, truth)
        _, mpjpe_est = _triangulation_error(det_known, cap.rig, truth)
        _, mpjpe_none = _triangulation_error(zero, cap.rig, cap.joints_at(zero.frame_ids))
        labels = ("true offsets", *(f"estimated ({m})" for m in WITHOUT), "offsets ignored")
        calib = [_calibration_error(d, cap.rig) for d in (synced, *(dets[m] for m in WITHOUT), zero)]
        err_known = np.abs(known.offsets - true)[1:]
        err_joint = [np.abs(joint[m].offsets - true)[1:].max() for m in WITHOUT]
        rows.append((err_known.max(), *err_joint, mpjpe_sync, mpjpe_est, mpjpe_none, *np.ravel(calib),
                     t1 - t0, *(seconds[m] for m in WITHOUT)))
        print(f"trial {trial}: true {np.round(true[1:], 2)}  known cameras {np.round(known.offsets[1:], 2)} "
              f"(± {np.round(known.uncertainty[1:], 2)}, max err {err_known.max():.3f}, {t1 - t0:.1f} s)  " +
              "  ".join(f"without, {m}: {np.round(joint[m].offsets[1:], 2)} (± {np.round(joint[m].uncertainty[1:], 3)}, "
                        f"max err {e:.3f}, {seconds[m]:.1f} s)" for m, e in zip(WITHOUT, err_joint)) +
              f"  MPJPE mm synced {mpjpe_sync:.1f} / estimated {mpjpe_est:.1f} / offsets ignored {mpjpe_none:.1f}; "
              "calibration from joints (rotation deg / centre % / focal %) " +
              " / ".join(f"{name} {c[0]:.2f}, {c[1]:.2f}, {c[2]:.2f}" for name, c in zip(labels, calib)))
    r = np.array(rows)
    n = len(WITHOUT)
    cal = r[:, 4 + n: 4 + n + 3 * (n + 2)].reshape(len(r), n + 2, 3).mean(0)
    times = r[:, -(n + 1):].mean(0)
    print(f"synthetic, {trials} trials x 3 offsets: max |error| known cameras {r[:, 0].max():.3f} frames "
          f"(mean of per-trial max {r[:, 0].mean():.3f}, {times[0]:.1f} s per trial); " +
          "; ".join(f"without cameras, {m}: {r[:, 1 + i].max():.3f} (mean {r[:, 1 + i].mean():.3f}, {times[1 + i]:.1f} s)"
                    for i, m in enumerate(WITHOUT)) +
          f"; MPJPE synced {r[:, 1 + n].mean():.1f} mm, estimated offsets {r[:, 2 + n].mean():.1f} mm, offsets ignored "
          f"{r[:, 3 + n].mean():.1f} mm; calibration from joints rotation / centre / focal errors: " +
          "; ".join(f"{name} {c[0]:.2f} deg, {c[1]:.2f} %, {c[2]:.2f} %" for name, c in zip(labels, cal)))


def _cut(track: CameraTrack, k: int, every: int = 1) -> CameraTrack:
    """The track without its first ``k`` frames, keeping every ``every``-th frame after that."""
    return CameraTrack(track.name, track.keypoints[k::every], track.boxes[k::every], track.fps / every,
                       track.image_size, None if track.mono3d is None else track.mono3d[k::every])


def real(work: Path, settings: RefineSettings) -> None:
    from mvmocap.detect import run
    from mvmocap.io.calibration import load_rig
    from mvmocap.sync import tracks_from_detections

    detections = run(DEMO / "videos", out=work, progress=False)
    rig = load_rig(DEMO / "calibration" / "Calib.qca.txt").subset(detections.camera_names)
    base_px, _ = _triangulation_error(detections, rig)
    tracks = tracks_from_detections(detections)
    cases = {
        "cut k = 0, 3, 7, 12": ({1: 3, 2: 7, 3: 12}, {}),
        "cut k = 0, 11, 4, 0; cam04 decimated to 30 fps": ({1: 11, 2: 4}, {3: 2}),
        "cut k = 5, 0, 9, 2; cam01 decimated to 30 fps": ({0: 5, 2: 9, 3: 2}, {0: 2}),
    }

    def estimate(cut, mode):
        if mode == "known cameras":
            return synchronise(cut, rig, detector=detections.detector, settings=settings)
        return _without_cameras(cut, mode.split(", ")[1], settings, detections.detector)

    for mode in ("known cameras", *(f"without cameras, {m}" for m in WITHOUT)):
        t0 = time.perf_counter()
        _, uncut, _ = estimate(tracks, mode)
        print(f"real, uncut, {mode}: offsets {np.round(uncut.offsets, 2)} ± {np.round(uncut.uncertainty, 2)} "
              f"({time.perf_counter() - t0:.1f} s)")
        for label, (cuts, decimate) in cases.items():
            cut = [_cut(t, cuts.get(c, 0), decimate.get(c, 1)) for c, t in enumerate(tracks)]
            k = np.array([cuts.get(c, 0) for c in range(len(tracks))], float)
            t0 = time.perf_counter()
            synced, result, _ = estimate(cut, mode)
            ref = result.camera_names.index(result.reference)  # the timeline is the reference camera's
            expected_k = k - k[ref]
            expected = expected_k + uncut.offsets - uncut.offsets[ref]
            _, same_span, _ = estimate([_cut(t, int(k.max())) for t in tracks], mode)
            expected_span = expected_k + same_span.offsets - same_span.offsets[ref]
            px, _ = _triangulation_error(synced, rig)
            same = detections.subset_frames(np.flatnonzero(np.isin(detections.frame_ids, synced.frame_ids + k[ref])))
            px_base, _ = _triangulation_error(same, rig)
            print(f"real, {label}, {mode}: offsets {np.round(result.offsets, 2)} ± {np.round(result.uncertainty, 2)}; "
                  f"k recovered (offsets minus the uncut run's) {np.round(result.offsets - (expected - expected_k), 2)} "
                  f"for k {expected_k}: max |error| {np.abs(result.offsets - expected).max():.3f} frames "
                  f"(against the videos' own alignment {np.abs(result.offsets - expected_k).max():.3f}); minus the "
                  f"uncut run on the same frames {np.round(result.offsets - (expected_span - expected_k), 2)}: max "
                  f"|error| {np.abs(result.offsets - expected_span).max():.3f}; median "
                  f"reprojection (Qualisys cameras) {px:.2f} px vs {px_base:.2f} px uncut on the same frames "
                  f"({time.perf_counter() - t0:.1f} s)")
    print(f"real, uncut detections, all frames: median reprojection {base_px:.2f} px")


def main() -> None:
    global WITHOUT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/sync_det"))
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--interpolation", choices=("linear", "gaussian"), default="linear")
    parser.add_argument("--without", default=",".join(WITHOUT), help="ways without cameras, comma-separated: "
                        + ", ".join(WITHOUT))
    args = parser.parse_args()
    WITHOUT = tuple(args.without.split(","))
    settings = RefineSettings(interpolation=args.interpolation)
    if not args.no_real:
        real(args.work, settings)
    if not args.no_synthetic:
        synthetic(args.trials, settings)


if __name__ == "__main__":
    main()
