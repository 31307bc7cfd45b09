"""Moving cameras (#21, acceptance 2): ``metapose+fit`` against ``fit`` with the true per-frame cameras
and ``fit`` with the first frame's cameras, on the same synthetic hand-held sequences, in one process.

Usage: python benchmarks/metapose_moving.py [--solver s1|s2] [--checkpoint FILE] [--clips 6] [--frames 90]
           [--fps 30] [--cameras 4] [--condition noisy] [--yaw 25] [--slide 0.6] [--smooth SECONDS] [--seed 0] [--json OUT]

Sequences: :func:`mvmocap.synth.moving.moving_capture`: a motion clip (``--frames`` at ``--fps``, the
default pose families, the ``open_neutral`` body) filmed by a rig of the training families whose
cameras each yaw by up to ``--yaw`` degrees and slide ``--slide`` m over 3 s (smoothstep), the
realistic 2D evidence (``noisy``: the fitted detector model without faults; ``clean``: exact) and the
monocular 3D model's world landmarks (:class:`mvmocap.synth.mono3d.MonocularNoise`, defaults).
Clip ``i`` of a seed is the same in every run.

Rows (the same sequences, the default ``reconstruct`` fit configuration):

* ``fit, true per-frame cameras``: the robust triangulation and SMPLify under the true moving cameras
  (a :class:`~mvmocap.geometry.frame_rig.FrameRig`);
* ``fit, frame-0 cameras``: the same with the first frame's cameras held for the whole sequence (a
  static calibration of a rig that then moved);
* ``metapose`` and ``metapose+fit``: no cameras given: MetaPose per frame-set (``--solver``: stage 1
  alone, or stage 1 + the trained optimizer of ``--checkpoint`` / ``$MVMOCAP_METAPOSE_CHECKPOINT`` /
  ``models/regressors/metapose.pt``), its per-frame cameras in one metric world
  (:func:`mvmocap.regressors.metapose.body.estimate_scene`, the subject's true height), then the
  registry's ``metapose`` / ``metapose+fit`` on them exactly as ``reconstruct`` runs them.

No left/right repair in any row (the noisy condition has no swaps). Score: PA-MPJPE (mm, COCO-17,
each frame's similarity alignment to the truth) over the frames each method marks valid, pooled over
clips; coverage = share of the frames with a valid output; "all frames": the mean over every frame, the
invalid ones as the method filled them in (interpolated); wall time per row. Camera error of the
MetaPose rows: mean relative rotation error (degrees, cameras c != reference, ``R_c R_ref^T``
against the truth) and the moved-camera flags (:func:`mvmocap.geometry.frame_rig.camera_motion`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED_OFFSET = 9_500_000  # keeps these clips apart from training seeds and the sequence benchmark's
ROWS = ("fit, true per-frame cameras", "fit, frame-0 cameras", "metapose", "metapose+fit")


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", choices=("s1", "s2"), default="s2")
    parser.add_argument("--checkpoint", default=None, help="slim MetaPose checkpoint (for --solver s2)")
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--condition", choices=("clean", "noisy"), default="noisy")
    parser.add_argument("--yaw", type=float, default=25.0, help="largest yaw per camera, degrees")
    parser.add_argument("--slide", type=float, default=0.6, help="slide per camera, metres")
    parser.add_argument("--smooth", type=float, default=None,
                        help="seconds over which MetaPose's per-frame camera poses are averaged (default: estimate_scene's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args(argv)


def _inputs(keypoints, rig, body, detections, settings, joints3d=None, confidence=None, triangulate=True):
    from mvmocap.fit.inputs import MethodInputs

    if joints3d is None and triangulate:  # the pipeline's robust triangulation with these cameras
        tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2], threshold_px=settings.triangulation.threshold_px)
        joints3d, confidence = tri.points, tri.confidence
    return MethodInputs(keypoints_2d=keypoints, rig=rig, body_model=body, joints3d=joints3d,
                        joints3d_confidence=confidence, config=settings.fit_config(),
                        extras={"detections": detections, "subject_height_m": settings.subject_height_m}, progress=False)


def _scores(result, truth):
    from mvmocap.evaluate.metrics import pa_mpjpe

    valid = result.params.valid.bool()
    errors = pa_mpjpe(result.keypoints3d[:, :17].double(), truth.double())
    return errors, valid


def _relative_rotation_error(estimated, true, reference: int):
    import torch

    from mvmocap.geometry.rotations import rotation_angle_between

    rel = lambda R: R @ R[:, reference:reference + 1].transpose(-1, -2)  # noqa: E731
    angle = torch.rad2deg(rotation_angle_between(rel(estimated.R.double()), rel(true.R.double())))
    others = [c for c in range(angle.shape[1]) if c != reference]
    return float(angle[:, others].mean())


def run(args) -> dict:
    import dataclasses

    import torch

    from mvmocap.body import load_body_model
    from mvmocap.geometry.frame_rig import FrameRig, camera_motion, nominal_rig
    from mvmocap.methods import resolve_method
    from mvmocap.reconstruct.config import ReconstructConfig
    from mvmocap.reconstruct.per_frame import ESTIMATED_MOVED_POSITION_FRACTION, ESTIMATED_MOVED_ROTATION_DEG
    from mvmocap.reconstruct.pipeline import keypoints_tensor
    from mvmocap.regressors.metapose.body import estimate_scene
    from mvmocap.regressors.metapose.inference import load_optimizer
    from mvmocap.synth.motion import MotionConfig
    from mvmocap.synth.moving import HandHeld, moving_capture
    from mvmocap.synth.sequence import SequenceConfig

    torch.set_num_threads(args.threads)
    body = load_body_model(None)
    optimizer, checkpoint = None, None
    if args.solver == "s2":
        optimizer, meta = load_optimizer(args.checkpoint)
        checkpoint = {"file": str(args.checkpoint or "(default)"), "step": meta.get("step")}
    config = SequenceConfig(cameras=args.cameras, condition=args.condition,
                            motion=MotionConfig(frames=args.frames, fps=args.fps))
    motion = HandHeld(yaw_deg=args.yaw, slide_m=args.slide)
    errors = {row: [] for row in ROWS}
    coverage = {row: [] for row in ROWS}
    seconds = {row: 0.0 for row in ROWS}
    rotation_errors, flags = [], []
    for clip in range(args.clips):
        moving = moving_capture(body, config, SEED_OFFSET + args.seed, clip, motion)
        detections = moving.capture.detections
        truth = moving.capture.joints17
        height = float(_true_height(body, moving.capture))
        settings = dataclasses.replace(ReconstructConfig(), subject_height_m=height)
        keypoints = keypoints_tensor(detections, settings.triangulation.min_confidence)
        T = keypoints.shape[0]
        frame0 = FrameRig.static(moving.rig.at(0), T)
        for row, rig in (("fit, true per-frame cameras", moving.rig), ("fit, frame-0 cameras", frame0)):
            tick = time.perf_counter()
            result = resolve_method("fit")(_inputs(keypoints, rig, body, detections, settings))
            seconds[row] += time.perf_counter() - tick
            e, valid = _scores(result, truth)
            errors[row].append(e)
            coverage[row].append(valid)
        tick = time.perf_counter()
        placeholder = nominal_rig(detections.camera_names, torch.as_tensor(detections.image_sizes))
        smoothing = {} if args.smooth is None else {"smooth_s": args.smooth}
        scene = estimate_scene(_inputs(keypoints, placeholder, body, detections, settings, triangulate=False), args.solver,
                               optimizer, **smoothing)
        scene_seconds = time.perf_counter() - tick
        given = _inputs(keypoints, scene.rig, body, detections, settings, scene.joints3d, scene.confidence)
        for row in ("metapose", "metapose+fit"):
            tick = time.perf_counter()
            result = resolve_method(row)(given)
            seconds[row] += time.perf_counter() - tick + scene_seconds
            e, valid = _scores(result, truth)
            errors[row].append(e)
            coverage[row].append(valid)
        reference = detections.camera_names.index(scene.summary["reference_camera"])
        rotation_errors.append(_relative_rotation_error(scene.rig, moving.rig, reference))
        motion_est = camera_motion(scene.rig, args.fps, scene.view_valid, ESTIMATED_MOVED_ROTATION_DEG,
                                   ESTIMATED_MOVED_POSITION_FRACTION)  # the report's flag
        flags.append({"true_moved": [bool(x) for x in camera_motion(moving.rig.relative_to(reference), args.fps).moved],
                      "flagged": [bool(x) for x in motion_est.moved],
                      "rotation_deg": [round(float(x), 1) for x in motion_est.rotation_deg],
                      "position_m": [round(float(x), 2) for x in motion_est.position_m],
                      "position_fraction": [round(float(x / t * ESTIMATED_MOVED_POSITION_FRACTION), 2) for x, t in
                                            zip(motion_est.position_m, motion_est.position_threshold_m)],
                      "reference": scene.summary["reference_camera"], "reference_index": reference})
        print(f"clip {clip}: " + ", ".join(f"{row} {float(errors[row][-1][coverage[row][-1]].mean()):.1f}" for row in ROWS)
              + f" mm; cameras {rotation_errors[-1]:.1f}° rel. rotation error", flush=True)
    return _summary(args, errors, coverage, seconds, rotation_errors, flags, checkpoint)


def _true_height(body, capture):
    """The clip's subject height (m): the rest-pose extent of its body along the rest frame's up axis."""
    import torch

    with torch.no_grad():
        vertices = body(betas=capture.posed.clip.betas.to(body.v_template.dtype)[None]).vertices[0]
    return vertices[:, 1].max() - vertices[:, 1].min()


def _summary(args, errors, coverage, seconds, rotation_errors, flags, checkpoint) -> dict:
    import torch

    rows = {}
    for row in ROWS:
        every = torch.cat(errors[row])
        valid = torch.cat(coverage[row])
        pooled = every[valid]
        rows[row] = {"pa_mpjpe_mm": float(pooled.mean()) if pooled.numel() else float("nan"),
                     "median_mm": float(pooled.median()) if pooled.numel() else float("nan"),
                     "pa_mpjpe_all_frames_mm": float(every.mean()),
                     "coverage": float(valid.double().mean()),
                     "seconds": round(seconds[row], 1)}
    return {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "checkpoint": checkpoint, "rows": rows,
            "metapose_relative_rotation_error_deg": float(sum(rotation_errors) / max(len(rotation_errors), 1)),
            "moved_flags": flags, "flag_confusion": _confusion(flags)}


def _confusion(flags) -> dict:
    """Counts of (true moved, flagged) over the non-reference cameras of every clip."""
    counts = {"moved_flagged": 0, "moved_missed": 0, "static_flagged": 0, "static_clear": 0}
    for f in flags:
        for c, (truth, flagged) in enumerate(zip(f["true_moved"], f["flagged"])):
            if c == f["reference_index"]:
                continue
            key = ("moved_" if truth else "static_") + (("flagged" if flagged else "missed") if truth else
                                                         ("flagged" if flagged else "clear"))
            counts[key] += 1
    return counts


def _print(summary: dict) -> None:
    s = summary["settings"]
    solver = "S1" if s["solver"] == "s1" else f"S1+S2 ({summary['checkpoint']['file']}, step {summary['checkpoint']['step']})"
    smooth = "default" if s.get("smooth") is None else f"{s['smooth']:g} s"
    print(f"\n{s['clips']} hand-held clips x {s['frames']} frames at {s['fps']:g} fps, {s['cameras']} cameras, "
          f"{s['condition']} 2D, yaw <= {s['yaw']:g}°, slide {s['slide']:g} m; MetaPose solver {solver}, "
          f"camera smoothing {smooth}")
    print(f"{'method':<30} {'PA-MPJPE mm':>11} {'median':>7} {'coverage':>8} {'all frames':>10} {'time s':>7}")
    for row, r in summary["rows"].items():
        print(f"{row:<30} {r['pa_mpjpe_mm']:>11.1f} {r['median_mm']:>7.1f} {r['coverage']:>8.2f} "
              f"{r['pa_mpjpe_all_frames_mm']:>10.1f} {r['seconds']:>7.1f}")
    true_fit = summary["rows"]["fit, true per-frame cameras"]["pa_mpjpe_mm"]
    ours = summary["rows"]["metapose+fit"]["pa_mpjpe_mm"]
    print(f"moved-camera flags (relative to the reference camera, true motion vs MetaPose's): "
          f"{summary['flag_confusion']}")
    print(f"metapose+fit / fit with the true cameras: {ours / true_fit:.2f} (target <= 1.5); MetaPose's cameras: "
          f"{summary['metapose_relative_rotation_error_deg']:.1f}° mean relative rotation error")
    for i, f in enumerate(summary["moved_flags"]):
        print(f"clip {i}: moved (truth) {f['true_moved']}, flagged {f['flagged']} (relative to {f['reference']}; "
              f"rotation {f['rotation_deg']}°, position {f['position_m']} m = {f['position_fraction']} x distance)")


def main(argv=None) -> None:
    args = _parse(argv)
    summary = run(args)
    _print(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
