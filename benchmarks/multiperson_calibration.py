"""Calibration from joints with several people (issue #25, item 5), on the shared two-person capture.

Usage: python benchmarks/multiperson_calibration.py --out /tmp/bench_mp_calib [--assignments 4]

One run, both sides:
1. ``reconstruct --max-people 2`` with the Qualisys calibration (OUT/qualisys; detections cached in
   OUT/qualisys/work): per-person median reprojection;
2. the bootstrap of :mod:`mvmocap.reconstruct.people_calibrate` on the same detections: 2D tracks per
   camera, assignments ranked by epipolar cost; the first ``--assignments`` are each calibrated from
   joints (checks not enforced, to show every figure) and compared with the Qualisys cameras
   (:func:`mvmocap.evaluate.calibration.compare_calibrations`: rotation / centre / focal errors);
3. ``reconstruct --max-people 2`` with the cameras of the chosen assignment (the first in epipolar
   order that the calibration's checks accept): per-person median reprojection;
4. what limits the chosen assignment's cameras, on the same person: one shared focal length, the
   Qualisys intrinsics given, and one more round (the longest 3D track found with the chosen cameras,
   calibrated again); and both people's 3D tracks found with the chosen cameras, appended in time as
   one sequence (an experiment: the calibration then keeps one set of bone lengths for two bodies).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mvmocap.associate import associate, select_tracks, track  # noqa: E402
from mvmocap.calibrate import CalibrationRefused, calibrate_from_joints  # noqa: E402
from mvmocap.detect.people_run import load_people  # noqa: E402
from mvmocap.evaluate.calibration import compare_calibrations  # noqa: E402
from mvmocap.io.calibration import load_rig, save_rig  # noqa: E402
from mvmocap.reconstruct import ReconstructConfig, run  # noqa: E402
from mvmocap.reconstruct.people_calibrate import calibrate_from_people, rank_assignments  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "pose2sim_multiperson"
QUALISYS = DATA / "calibration" / "Calib.qca.txt"


def reconstruct(out: Path, calibration: Path) -> list[dict]:
    cfg = ReconstructConfig.from_dict({"detect": {"max_people": 2, "scale": 0.5}})
    result = run(DATA / "videos", out, calibration=calibration, config=cfg, progress=False)
    return result.people


def describe(people: list[dict]) -> str:
    return ", ".join(f"P{p['person']} frames {p['first_frame']}-{p['last_frame']}: "
                     f"{p['median_reprojection_fit_px']:.2f} px, {p['height_m']:.2f} m" for p in people)


def compare(rig, reference) -> str:
    cameras = compare_calibrations(rig, reference).cameras
    rot = [c.rotation_error_deg for c in cameras]
    centre = [c.center_error_pct for c in cameras]
    focal = [c.focal_error_pct for c in cameras]
    return (f"rotation mean {np.mean(rot):.2f}° (max {np.max(rot):.2f}), centre mean {np.mean(centre):.1f} % "
            f"(max {np.max(centre):.1f}), focal mean {np.mean(focal):.1f} % (max {np.max(focal):.1f})")


def _appended(persons):
    """Several people's :class:`Detections` as one longer sequence (frames after frames)."""
    from mvmocap.detect.detections import Detections

    first = persons[0]
    stack = lambda name: np.concatenate([getattr(p, name) for p in persons], axis=1)  # noqa: E731
    return Detections(camera_names=first.camera_names, frame_ids=np.arange(sum(p.num_frames for p in persons)),
                      keypoints=stack("keypoints"), boxes=stack("boxes"), image_sizes=first.image_sizes, fps=first.fps,
                      detector=first.detector, mono3d=None if first.mono3d is None else stack("mono3d"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--assignments", type=int, default=4, help="assignments calibrated and compared")
    parser.add_argument("--height", type=float, default=1.70)
    args = parser.parse_args()
    reference = load_rig(QUALISYS)

    print("== 1. Qualisys cameras ==")
    tick = time.perf_counter()
    with_qualisys = reconstruct(args.out / "qualisys", QUALISYS)
    print(f"per person: {describe(with_qualisys)}  ({time.perf_counter() - tick:.0f} s)")
    people = load_people(args.out / "qualisys" / "work")

    print("== 2. assignments of one person's 2D tracks across cameras, by epipolar cost ==")
    for i, (slots, epipolar) in enumerate(rank_assignments(people)[: args.assignments]):
        frames = [int((s >= 0).sum()) for s in slots]
        try:
            result = calibrate_from_joints(people.select(slots), None, height_m=args.height, force=True, progress=False)
        except CalibrationRefused as refused:
            print(f"#{i} epipolar {epipolar:.1f} px, frames per camera {frames}: refused ({refused})")
            continue
        reprojection = np.median([c.reprojection_px for c in result.report.cameras])
        issues = "; ".join(result.report.issues) or "checks passed"
        print(f"#{i} epipolar {epipolar:.1f} px, frames per camera {frames}, calibration reprojection "
              f"{reprojection:.2f} px ({issues}): {compare(result.rig, reference)}")

    print("== 3. the chosen assignment's cameras ==")
    tick = time.perf_counter()
    chosen = calibrate_from_people(people, height_m=args.height)
    print(f"chosen: epipolar {chosen.tried[-1]['epipolar_px']:.1f} px after {len(chosen.tried)} calibration(s), "
          f"{time.perf_counter() - tick:.0f} s: {compare(chosen.result.rig, reference)}")
    calibration = args.out / "from_joints.yaml"
    save_rig(chosen.result.rig, calibration)
    work = args.out / "from_joints" / "work"
    if not work.exists():  # the same detections (cached by video, not by camera)
        shutil.copytree(args.out / "qualisys" / "work", work)
    with_joints = reconstruct(args.out / "from_joints", calibration)
    print(f"per person: {describe(with_joints)}")
    print("== 4. the chosen person, calibrated otherwise ==")
    person = people.select(chosen.slots)
    shared = calibrate_from_joints(person, None, height_m=args.height, force=True, progress=False, same_focal=True)
    print(f"one shared focal length: {compare(shared.rig, reference)}")
    known = calibrate_from_joints(person, reference, height_m=args.height, force=True, progress=False)
    print(f"Qualisys intrinsics: {compare(known.rig, reference)}")
    rig = chosen.result.rig
    tracking = track(associate(people.keypoints, people.boxes, rig), people.keypoints, people.boxes, rig)
    longest = max(select_tracks(tracking, 2, 10)[0], key=lambda t: t.frames_3d)
    again = calibrate_from_joints(people.select(longest.slots), None, height_m=args.height, force=True, progress=False)
    frames = [int((s >= 0).sum()) for s in longest.slots]
    print(f"again from the longest 3D track (frames per camera {frames}): {compare(again.rig, reference)}")
    kept = select_tracks(tracking, 2, 10)[0]
    both = _appended([people.select(t.slots) for t in kept])
    for label, intrinsics in (("unknown focal lengths", None), ("Qualisys intrinsics", reference)):
        result = calibrate_from_joints(both, intrinsics, height_m=args.height, force=True, progress=False)
        print(f"both people appended, {label}: {compare(result.rig, reference)}")
    print(json.dumps({"qualisys": [p["median_reprojection_fit_px"] for p in with_qualisys],
                      "from_joints": [p["median_reprojection_fit_px"] for p in with_joints]}))


if __name__ == "__main__":
    main()
