"""Calibration from joints and sync with several people (issue #25, item 5), on the shared captures.

Usage: python benchmarks/multiperson_calibration.py --out /tmp/bench_mp_calib [--mp-work DIR] [--demo-work DIR]

One run, baselines included, all against the Qualisys calibrations:
1. the single-person baseline: ``calibrate --from-joints`` on ../shared/data/pose2sim_demo (one person;
   :func:`mvmocap.calibrate.command.calibrate_from_joints_to_file`, what the CLI calls), unknown focal
   lengths, then one shared focal length;
2. the two-person capture (../shared/data/pose2sim_multiperson, people detections of
   ``detect --max-people 2``): the one-person bootstrap, then each round of association + calibration
   from everyone's joints (3 rounds shown; ``reconstruct`` and ``calibrate --max-people`` use 2), and
   the same with one shared focal length and with the Qualisys intrinsics given; what limits it: the
   association redone with the Qualisys cameras, and the bootstrap on the one-person demo;
3. ``reconstruct --max-people 2`` with the Qualisys file and with ``--calibrate-from-joints``:
   each person's median reprojection (the fit's, against the detections);
4. ``--sync auto`` with both people: the capture's cameras cut by known k frames; the offsets found
   with the Qualisys cameras and without cameras (then the calibration from everyone's joints on the
   synchronised people), minus those of the same method on the uncut detections.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mvmocap.calibrate.command import calibrate_from_joints_to_file  # noqa: E402
from mvmocap.detect.people import PeopleDetections  # noqa: E402
from mvmocap.detect.people_run import load_people, run_people  # noqa: E402
from mvmocap.evaluate.calibration import compare_calibrations  # noqa: E402
from mvmocap.io.calibration import load_rig  # noqa: E402
from mvmocap.reconstruct import ReconstructConfig, run  # noqa: E402
from mvmocap.reconstruct.people_calibrate import calibrate_people_cameras  # noqa: E402
from mvmocap.reconstruct.people_sync import synchronise_people  # noqa: E402
from mvmocap.sync.workflows import joints_calibrator  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
MULTI, DEMO = SHARED / "pose2sim_multiperson", SHARED / "pose2sim_demo"
CUTS = {"cut k = 0, 3, 7, 12": (0, 3, 7, 12), "cut k = 5, 0, 9, 2": (5, 0, 9, 2)}


def errors(rig, reference) -> str:
    c = compare_calibrations(rig, reference)
    return (f"rotation {c.mean_rotation_error_deg:.2f}° (max {max(x.rotation_error_deg for x in c.cameras):.2f}), "
            f"centre {c.mean_center_error_pct:.2f} %, focal {c.mean_focal_error_pct:.2f} %")


def single_person_baseline(out: Path, work: Path) -> None:
    reference = load_rig(DEMO / "calibration" / "Calib.qca.txt")
    for label, same_focal in (("unknown focal lengths", False), ("one shared focal length", True)):
        tick = time.perf_counter()
        result, _, _ = calibrate_from_joints_to_file(DEMO / "videos", out / f"demo_{same_focal}.yaml", work_dir=work,
                                                     same_focal=same_focal, progress=False)
        print(f"single-person demo, {label}: {errors(result.rig, reference)} ({time.perf_counter() - tick:.1f} s)")


def multi_person_calibration(people, reference) -> None:
    tick = time.perf_counter()
    found = calibrate_people_cameras(people, rounds=3, force=True)
    print(f"two-person capture, one person's joints (bootstrap): {errors(found.bootstrap.result.rig, reference)}")
    for k, r in enumerate(found.rounds):
        shipped = "  <- reconstruct / calibrate --max-people" if k == 1 else ""
        print(f"two-person capture, round {k + 1} ({r['people']} people, {'/'.join(map(str, r['frames_3d']))} frames "
              f"in 3D, per camera {r['frames_per_camera']}): {errors(r['rig'], reference)}{shipped}")
    print(f"  ({time.perf_counter() - tick:.1f} s for the bootstrap and 3 rounds)")
    for label, options in (("one shared focal length", {"same_focal": True}), ("Qualisys intrinsics", {})):
        intrinsics = reference if label == "Qualisys intrinsics" else None
        result = calibrate_people_cameras(people, intrinsics, force=True, **options).result
        print(f"two-person capture, 2 rounds, {label}: {errors(result.rig, reference)}")


def limits(people, reference, demo_people) -> None:
    """What limits the two-person figure: the association (redone with the Qualisys cameras) or the capture
    (the same bootstrap and detector on the one-person demo)."""
    from mvmocap.associate import associate, select_tracks, track
    from mvmocap.calibrate.from_people import calibrate_from_people_joints
    from mvmocap.reconstruct.people_calibrate import calibrate_from_people

    tracking = track(associate(people.keypoints, people.boxes, reference), people.keypoints, people.boxes, reference)
    kept = sorted(select_tracks(tracking, 2, 10)[0], key=lambda t: -t.frames_3d)
    result = calibrate_from_people_joints([people.select(t.slots) for t in kept], None, force=True)
    print(f"two-person capture, people associated with the Qualisys cameras (the best association): "
          f"{errors(result.rig, reference)}")
    demo_reference = load_rig(DEMO / "calibration" / "Calib.qca.txt")
    boot = calibrate_from_people(demo_people).result.rig
    print(f"one-person demo, multi-person detector, the bootstrap alone: {errors(boot, demo_reference)}")


def reconstructions(out: Path, mp_work: Path, reference_file: Path) -> None:
    cfg = ReconstructConfig.from_dict({"detect": {"max_people": 2, "scale": 0.5}})
    for label, options in (("Qualisys cameras", {"calibration": reference_file}),
                           ("cameras from everyone's joints", {"calibrate_from_joints": True})):
        folder = out / ("qualisys" if "calibration" in options else "from_joints")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(mp_work, folder / "work")  # the same detections
        tick = time.perf_counter()
        result = run(MULTI / "videos", folder, config=cfg, progress=False, **options)
        figures = ", ".join(f"P{p['person']} frames {p['first_frame']}-{p['last_frame']}: "
                            f"{p['median_reprojection_fit_px']:.2f} px, {p['height_m']:.2f} m" for p in result.people)
        print(f"reconstruct --max-people 2, {label}: {figures} ({time.perf_counter() - tick:.0f} s)")


def _cut(people: PeopleDetections, k) -> PeopleDetections:
    """Camera c starts ``k[c]`` frames late: its own frame i is the capture's frame ``k[c] + i`` (equal lengths)."""
    length = people.num_frames - max(k)
    frames = np.stack([np.arange(length) + kc for kc in k])  # (C, L)
    take = lambda a: np.stack([a[c, frames[c]] for c in range(len(k))])  # noqa: E731
    return PeopleDetections(people.camera_names, np.arange(length), take(people.keypoints), take(people.boxes),
                            people.image_sizes, people.fps, people.detector,
                            mono3d=None if people.mono3d is None else take(people.mono3d))


def sync(people, reference) -> None:
    modes = {"Qualisys cameras": lambda p: synchronise_people(p, reference),
             "without cameras": lambda p: synchronise_people(p, calibrate=joints_calibrator(None, 1.70))}
    for mode, estimate in modes.items():
        tick = time.perf_counter()
        _, uncut, _ = estimate(people)
        print(f"sync, {mode}, uncut: offsets {np.round(uncut.offsets, 2).tolist()} ({time.perf_counter() - tick:.0f} s)")
        for label, k in CUTS.items():
            synced, result, _ = estimate(_cut(people, k))
            k = np.asarray(k, float)
            recovered = result.offsets - uncut.offsets
            expected = k - k[0]  # cam01 is the reference (offset 0)
            line = (f"sync, {mode}, {label}: recovered {np.round(recovered, 2).tolist()} vs {expected.tolist()}, "
                    f"max error {np.abs(recovered - expected).max():.2f} frames")
            if mode == "without cameras":
                rig = calibrate_people_cameras(synced, force=True).result.rig
                line += f"; then cameras from everyone's joints: {errors(rig, reference)}"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mp-work", type=Path, help="a `detect --max-people 2` work folder of the two-person capture "
                        "(default: detected into OUT/mp_work)")
    parser.add_argument("--demo-work", type=Path, help="a `detect` work folder of the demo (default: OUT/demo_work)")
    parser.add_argument("--demo-people-work", type=Path, help="a `detect --max-people 2` work folder of the demo "
                        "(default: detected into OUT/demo_people)")
    parser.add_argument("--no-sync", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    reference_file = MULTI / "calibration" / "Calib.qca.txt"
    reference = load_rig(reference_file)
    mp_work = args.mp_work or args.out / "mp_work"
    if not (mp_work / "people" / "index.json").is_file():
        run_people(MULTI / "videos", mp_work, max_people=2, progress=False)
    people = load_people(mp_work)

    print("== 1. single-person baseline (the demo) ==")
    single_person_baseline(args.out, args.demo_work or args.out / "demo_work")
    print("== 2. calibration from several people's joints ==")
    multi_person_calibration(people, reference)
    demo_people = args.demo_people_work or args.out / "demo_people"
    if not (demo_people / "people" / "index.json").is_file():
        run_people(DEMO / "videos", demo_people, max_people=2, progress=False)
    limits(people, reference, load_people(demo_people))
    print("== 3. reconstruct --max-people 2 ==")
    reconstructions(args.out, mp_work, reference_file)
    if not args.no_sync:
        print("== 4. --sync auto with several people ==")
        sync(people, reference)


if __name__ == "__main__":
    main()
