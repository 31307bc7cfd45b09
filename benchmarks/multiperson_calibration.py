"""Calibration from joints and sync with several people (issue #25, item 5), on the shared captures.

Usage: python benchmarks/multiperson_calibration.py --out /tmp/bench_mp_calib [--mp-work DIR] [--demo-work DIR]

One run, baselines included, all against the Qualisys calibrations:
1. the single-person baseline: ``calibrate --from-joints`` on ../shared/data/pose2sim_demo (one person;
   :func:`mvmocap.calibrate.command.calibrate_from_joints_to_file`, what the CLI calls), unknown focal
   lengths, then one shared focal length;
2. the two-person capture (../shared/data/pose2sim_multiperson, people detections of
   ``detect --max-people 2``): the one-person bootstrap, then each round of association + calibration
   from everyone's joints (3 rounds shown; ``reconstruct`` and ``calibrate --max-people`` use 2), and
   the same with joints left out where two people's boxes overlap (occlusion-aware, tried), with one shared focal
   length and with the Qualisys intrinsics given; what limits it: the
   association redone with the Qualisys cameras, and the bootstrap on the one-person demo;
3. ``reconstruct --max-people 2`` with the Qualisys file and with ``--calibrate-from-joints``:
   each person's median reprojection (the fit's, against the detections);
4. ``--sync auto`` with both people: the capture's cameras cut by known k frames; the loop check of the main
   person's pairwise lags; the offsets found with the Qualisys cameras (minus its own on the uncut detections) and
   without cameras, refused or by the fallback (against the Qualisys mode's uncut offsets + the cut; then the
   calibration from everyone's joints on the synchronised people); and the improvement tried without cameras
   (:func:`everyone_then_lags`). ``--only-sync``: this section alone.
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
EXPERIMENT_ROUNDS = 5
OVERLAPS = (0.5, 0.3, 0.15)  # occlusion-aware calibration tried (max_overlap of calibrate_people_cameras)


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
    for overlap in OVERLAPS:  # tried, not used: a person's joints left out where another box covers them
        result = calibrate_people_cameras(people, force=True, max_overlap=overlap).result
        print(f"two-person capture, 2 rounds, joints left out where another box covers > {overlap:.0%} of the "
              f"person's: {errors(result.rig, reference)}", flush=True)
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


def sync(people, reference, demo_people=None, experiment: bool = True) -> None:
    """Section 4. The Qualisys mode's recovered offsets are its offsets minus its own on the uncut detections; the
    modes without cameras are compared with the same expected offsets (the Qualisys mode's uncut offsets + the cut),
    since they may refuse the uncut detections."""
    from mvmocap.errors import InputError
    from mvmocap.reconstruct.people_calibrate import rank_assignments
    from mvmocap.reconstruct.people_sync import MAX_LAG
    from mvmocap.sync.agreement import check_lag_agreement
    from mvmocap.sync.tracks import tracks_from_detections

    cases = {"uncut": (0, 0, 0, 0), **CUTS}
    for label, k in cases.items():
        cut = _cut(people, k)
        tracks = tracks_from_detections(cut.select(rank_assignments(cut, max_lag=MAX_LAG)[0][0]))
        worst = check_lag_agreement(tracks, np.ones(len(tracks)), tolerance=np.inf)
        print(f"sync, {label}: the main person's pairwise lags miss a loop of 3 cameras by up to {worst:.1f} frames")
    modes = {"Qualisys cameras": lambda p: synchronise_people(p, reference),
             "without cameras (refused when the pairs' lags disagree)":
                 lambda p: synchronise_people(p, calibrate=joints_calibrator(None, 1.70))}
    base = None
    for mode, estimate in modes.items():
        for label, k in cases.items():
            tick = time.perf_counter()
            try:
                synced, result, _ = estimate(_cut(people, k))
            except InputError as refused:
                print(f"sync, {mode}, {label}: refused ({time.perf_counter() - tick:.0f} s): {refused}")
                continue
            seconds = time.perf_counter() - tick
            if base is None:  # the Qualisys mode, uncut: the reference offsets
                base = result.offsets.copy()
                print(f"sync, {mode}, {label}: offsets {np.round(base, 2).tolist()} ({seconds:.0f} s)")
                continue
            k = np.asarray(k, float)
            expected = k - k[0] + base  # cam01 is the reference (offset 0)
            line = (f"sync, {mode}, {label}: offsets {np.round(result.offsets, 2).tolist()} vs "
                    f"{np.round(expected, 2).tolist()}, max error {np.abs(result.offsets - expected).max():.2f} frames "
                    f"({result.method}; {seconds:.0f} s)")
            if mode != "Qualisys cameras":
                rig = calibrate_people_cameras(synced, force=True).result.rig
                line += f"; then cameras from everyone's joints: {errors(rig, reference)}"
            print(line, flush=True)
    if demo_people is not None:  # the one-person demo through the multi-person path: the check must let it through
        demo_reference = load_rig(DEMO / "calibration" / "Calib.qca.txt")
        for mode, estimate in (("Qualisys cameras", lambda p: synchronise_people(p, demo_reference)),
                               ("without cameras", lambda p: synchronise_people(p, calibrate=joints_calibrator(None, 1.70)))):
            tick = time.perf_counter()
            _, result, _ = estimate(demo_people)
            print(f"sync, one-person demo ({mode}): offsets {np.round(result.offsets, 2).tolist()} "
                  f"({result.method}; {time.perf_counter() - tick:.0f} s)")
        tracks = tracks_from_detections(demo_people.select(rank_assignments(demo_people, max_lag=MAX_LAG)[0][0]))
        print(f"sync, one-person demo: pairwise lags miss a loop of 3 cameras by up to "
              f"{check_lag_agreement(tracks, np.ones(len(tracks)), tolerance=np.inf):.1f} frames")
    for label, k in cases.items() if experiment else ():
        k = np.asarray(k, float)
        everyone_then_lags(_cut(people, k.astype(int)), k - k[0] + base, label)


def sync_with_cameras(people, reference) -> None:
    """The sub-frame refinement with the Qualisys cameras from the main person's tracks (as before) and from every
    tracked person (:mod:`mvmocap.sync.refine_people`), same run, same cuts. Each mode's error: its cut offsets
    minus the cut against its own uncut offsets (the capture's true offsets are not known better than that),
    and against the main-person mode's uncut offsets (the README's earlier reference)."""
    results = {}
    for everyone in (False, True):
        mode = "everyone" if everyone else "main person"
        for label, k in {"uncut": (0, 0, 0, 0), **CUTS}.items():
            tick = time.perf_counter()
            _, result, _ = synchronise_people(_cut(people, k), reference, everyone=everyone)
            k = np.asarray(k, float)
            results[mode, label] = result.offsets - (k - k[0])
            print(f"sync with cameras, {mode}, {label}: offsets {np.round(result.offsets, 2).tolist()} "
                  f"(± {np.round(result.uncertainty, 2).tolist()}), residual {result.residual_px:.2f} px "
                  f"({time.perf_counter() - tick:.0f} s)", flush=True)
        for label in CUTS:
            own = np.abs(results[mode, label] - results[mode, "uncut"]).max()
            old = np.abs(results[mode, label] - results["main person", "uncut"]).max()
            print(f"sync with cameras, {mode}, {label}: max error {own:.2f} frames against its own uncut offsets, "
                  f"{old:.2f} against the main person's", flush=True)


def diagnose_without_cameras(people, reference) -> None:
    """Why the pairwise lags miss without cameras (``--diagnose``). (a) Is the main person's track the same person in
    every camera? Its slots against both people associated with the Qualisys cameras. (b) Each camera pair's lag
    (``o_b - o_a``, against the cut) from: the coarse search's epipolar lag (:func:`mvmocap.sync.coarse.pairwise_lags`:
    the main person's 7 swap-invariant points, a fundamental matrix fitted per lag; every lag the tracks' overlap
    allows, as the sync does, then lags within ±24 frames); a fundamental matrix fitted per
    lag by least median of squares to all 23 joints of *both* people (the Qualisys association's pairing); and the
    Qualisys cameras' fundamental matrix, fixed (both people). Median Sampson distance per lag, its minimum."""
    import itertools
    import warnings

    import cv2

    from mvmocap.associate import associate, select_tracks, track
    from mvmocap.reconstruct.people_calibrate import rank_assignments, sampson_distance
    from mvmocap.reconstruct.people_sync import MAX_LAG, _essential
    from mvmocap.sync.coarse import pairwise_lags
    from mvmocap.sync.tracks import tracks_from_detections

    tracking = track(associate(people.keypoints, people.boxes, reference), people.keypoints, people.boxes, reference)
    truth = np.stack([t.slots for t in sorted(select_tracks(tracking, 2, 10)[0], key=lambda t: -t.frames_3d)])
    main = rank_assignments(people, max_lag=MAX_LAG)[0][0]
    for n, slots in enumerate(truth):
        same = [int(((main[c] == slots[c]) & (main[c] >= 0)).sum()) for c in range(people.num_cameras)]
        print(f"diagnosis: main track, frames per camera {[int((m >= 0).sum()) for m in main]}; the same detection as "
              f"the Qualisys association's person {n} ({[int((x >= 0).sum()) for x in slots]} frames): {same}")
    K = reference.K.numpy()
    lags = np.arange(-24, 25)

    def pairs(kps, a, b, lag):
        xa, xb = [], []
        for kp in kps:
            f = np.arange(max(0, lag), min(kp.shape[1], kp.shape[1] + lag))
            A, B = kp[a, f], kp[b, f - lag]
            ok = (A[..., 2] > 0.3) & (B[..., 2] > 0.3)
            xa.append(A[ok][:, :2])
            xb.append(B[ok][:, :2])
        return np.concatenate(xa).astype(np.float64), np.concatenate(xb).astype(np.float64)

    def fitted(kps, a, b, lag):
        xa, xb = pairs(kps, a, b, lag)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            F, _ = cv2.findFundamentalMat(xa, xb, cv2.FM_LMEDS)
        return np.median(sampson_distance(F, xa, xb)) if F is not None and F.shape == (3, 3) else np.inf

    for label, k in {"uncut": (0, 0, 0, 0), **CUTS}.items():
        cut = _cut(people, k)
        L = cut.num_frames
        slots = [np.stack([s[c, np.arange(L) + k[c]] for c in range(len(k))]) for s in truth]
        kps = [cut.select(s).keypoints for s in slots]
        main_tracks = tracks_from_detections(cut.select(rank_assignments(cut, max_lag=MAX_LAG)[0][0]))
        coarse, _ = pairwise_lags(main_tracks, np.ones(len(k)))
        near, _ = pairwise_lags(main_tracks, np.ones(len(k)), max_lag=24)
        rows = {"coarse search, main person": [], "coarse search, main person, lags within ±24": [],
                "fitted F, both people": [], "Qualisys F, both people": []}
        for a, b in itertools.combinations(range(len(k)), 2):
            F = np.linalg.inv(K[b]).T @ _essential(reference, a, b) @ np.linalg.inv(K[a])
            known = [np.median(sampson_distance(F, *pairs(kps, a, b, int(lag)))) for lag in lags]
            free = [fitted(kps, a, b, int(lag)) for lag in lags]
            truth_lag = k[b] - k[a]
            rows["coarse search, main person"].append(f"{coarse[a, b] - truth_lag:+.0f}")
            rows["coarse search, main person, lags within ±24"].append(f"{near[a, b] - truth_lag:+.0f}")
            rows["fitted F, both people"].append(f"{lags[int(np.argmin(free))] - truth_lag:+d}")
            rows["Qualisys F, both people"].append(f"{lags[int(np.argmin(known))] - truth_lag:+d}")
        for name, values in rows.items():
            print(f"diagnosis, {label}: pairwise lags minus the cut (pairs 12 13 14 23 24 34), {name}: {' '.join(values)}",
                  flush=True)


def everyone_then_lags(people, expected, label: str, rounds: int = EXPERIMENT_ROUNDS) -> None:
    """The improvement tried (not in the package: it did not settle): from offsets 0, ``rounds`` times, cameras
    from everyone's joints at the current offsets (the bootstrap and one round), then the known-camera lag search
    and refinement with those cameras (what ``--sync auto`` does with a calibration file)."""
    from mvmocap.reconstruct.people_sync import resample_people
    from mvmocap.sync.resample import common_timeline
    from mvmocap.sync.tracks import tracks_from_detections

    C = people.num_cameras
    offsets, tick = np.zeros(C), time.perf_counter()
    tracks = tracks_from_detections(people.select(np.zeros((C, people.num_frames), int)))  # lengths only
    for round_ in range(rounds):
        synced = resample_people(people, offsets, np.ones(C), common_timeline(tracks, offsets, np.ones(C)),
                                 float(people.fps[0]))
        rig = calibrate_people_cameras(synced, rounds=1, force=True).result.rig
        _, result, _ = synchronise_people(people, rig)
        moved, offsets = np.abs(result.offsets - offsets).max(), result.offsets
        print(f"sync, experiment (everyone's joints <-> lag search), {label}, round {round_ + 1}: offsets "
              f"{np.round(offsets, 2).tolist()} vs {np.round(expected, 2).tolist()}, max error "
              f"{np.abs(offsets - expected).max():.2f} frames, moved {moved:.2f} ({time.perf_counter() - tick:.0f} s)",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mp-work", type=Path, help="a `detect --max-people 2` work folder of the two-person capture "
                        "(default: detected into OUT/mp_work)")
    parser.add_argument("--demo-work", type=Path, help="a `detect` work folder of the demo (default: OUT/demo_work)")
    parser.add_argument("--demo-people-work", type=Path, help="a `detect --max-people 2` work folder of the demo "
                        "(default: detected into OUT/demo_people)")
    parser.add_argument("--no-sync", action="store_true")
    parser.add_argument("--only-sync", action="store_true", help="section 4 alone (needs --mp-work)")
    parser.add_argument("--no-experiment", action="store_true", help="section 4 without the improvement tried")
    parser.add_argument("--calibration-only", action="store_true", help="sections 1 and 2 alone")
    parser.add_argument("--diagnose", action="store_true", help="why the sync without cameras fails (needs --mp-work)")
    parser.add_argument("--everyone", action="store_true",
                        help="section 4 with cameras: the main person's refinement against everyone's, same run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    reference_file = MULTI / "calibration" / "Calib.qca.txt"
    reference = load_rig(reference_file)
    mp_work = args.mp_work or args.out / "mp_work"
    if not (mp_work / "people" / "index.json").is_file():
        run_people(MULTI / "videos", mp_work, max_people=2, progress=False)
    people = load_people(mp_work)
    if args.diagnose:
        diagnose_without_cameras(people, reference)
        return
    if args.everyone:
        print("== 4. --sync auto with several people and the Qualisys cameras: main person / everyone ==")
        sync_with_cameras(people, reference)
        return
    if args.only_sync:
        print("== 4. --sync auto with several people ==")
        demo = load_people(args.demo_people_work) if args.demo_people_work else None
        sync(people, reference, demo, experiment=not args.no_experiment)
        return

    print("== 1. single-person baseline (the demo) ==")
    single_person_baseline(args.out, args.demo_work or args.out / "demo_work")
    print("== 2. calibration from several people's joints ==")
    multi_person_calibration(people, reference)
    if args.calibration_only:
        return
    demo_people = args.demo_people_work or args.out / "demo_people"
    if not (demo_people / "people" / "index.json").is_file():
        run_people(DEMO / "videos", demo_people, max_people=2, progress=False)
    limits(people, reference, load_people(demo_people))
    print("== 3. reconstruct --max-people 2 ==")
    reconstructions(args.out, mp_work, reference_file)
    if not args.no_sync:
        print("== 4. --sync auto with several people ==")
        sync(people, reference, load_people(demo_people), experiment=not args.no_experiment)


if __name__ == "__main__":
    main()
