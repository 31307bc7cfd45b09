"""Multi-person figures (issue #25): synthetic crossings, then the shared multi-person capture.

Usage: python benchmarks/multiperson.py [--seeds 3] [--real /tmp/bench_multiperson] [--demo /tmp/bench_demo]

Synthetic (mvmocap.synth.crowd; 90 frames at 30 fps; 2/3/4 people crossing in 4/6/8 cameras,
BlazePose-like noise and mutual occlusion; plus 2 people of whom one leaves the area for 20
frames -- within the tracks' 30-frame patience -- or for 45 frames -- the re-entry rule): identity switches, missed frames, false people (mvmocap.evaluate.people) and
MPJPE / PA-MPJPE of each person's track vs the same person triangulated alone (its own
detections by the true labels), all in the same run.

Real (--real OUT): ``reconstruct --max-people 2 --render`` of ../shared/data/pose2sim_multiperson
(detections are cached in OUT/work: the first run detects, ~1 min); tracks, whether the two
tracks' positions ever swap, each person's median reprojection next to the single-person demo's
(--demo OUT: ``reconstruct`` of pose2sim_demo, same run, cached detections reused), detector time
per image against the number of people it found, association + tracking time as a share of
detection time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mvmocap.associate import associate, select_tracks, track  # noqa: E402
from mvmocap.evaluate.people import mpjpe_pair, tracking_counts  # noqa: E402
from mvmocap.synth.crowd import crossing_walks, observe, ring_rig  # noqa: E402

DATA = REPO.parent / "shared" / "data"
FRAMES = 90


def synthetic(seeds: int) -> None:
    print("== synthetic (90 frames, 30 fps; per-person errors: track vs alone, mm) ==")
    print("scene                seed  IDS  missed/person-frames  false  assoc+track s  MPJPE multi/alone  PA-MPJPE multi/alone  worst MPJPE ratio")
    totals = {"identity_switches": 0, "missed_frames": 0, "false_people": 0, "person_frames": 0}
    ratios = []
    scenes = ((2, 4, None), (3, 6, None), (4, 8, None), (2, 4, (35, 55)), (2, 4, (30, 75)))
    for people, cameras, absent in scenes:
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            rig = ring_rig(cameras)
            joints, _ = crossing_walks(people, FRAMES, rng)
            present = np.ones((people, FRAMES), bool)
            if absent:
                present[0, absent[0]:absent[1]] = False
            scene = observe(rig, joints, present, rng)
            tick = time.perf_counter()
            tracking = track(associate(scene.keypoints, scene.boxes, rig), scene.keypoints, scene.boxes, rig)
            kept, _ = select_tracks(tracking, people, 10)
            spent = time.perf_counter() - tick
            counts = tracking_counts(scene.truth, kept, people)
            for key in totals:
                totals[key] += counts[key]
            errors = _person_errors(scene, kept, people)
            multi = np.mean([e["mpjpe_multi_mm"] for e in errors])
            alone = np.mean([e["mpjpe_alone_mm"] for e in errors])
            pa_multi = np.mean([e["pa_mpjpe_multi_mm"] for e in errors])
            pa_alone = np.mean([e["pa_mpjpe_alone_mm"] for e in errors])
            worst = max(e["mpjpe_multi_mm"] / e["mpjpe_alone_mm"] for e in errors)
            ratios.append(worst)
            name = f"{people} people {cameras} cams" + (f" gone {absent[1] - absent[0]}" if absent else "")
            print(f"{name:<24}{seed:>2}  {counts['identity_switches']:>3}  {counts['missed_frames']:>6}/{counts['person_frames']:<14}"
                  f"{counts['false_people']:>5}  {spent:>12.2f}  {multi:>7.1f}/{alone:<9.1f}  {pa_multi:>8.1f}/{pa_alone:<11.1f}  {worst:.3f}")
    print(f"total: identity switches {totals['identity_switches']}, missed {totals['missed_frames']} of "
          f"{totals['person_frames']} person-frames, false people {totals['false_people']} frames; "
          f"worst per-person MPJPE ratio multi/alone {max(ratios):.3f} (target <= 1.15)")


def _person_errors(scene, kept, people: int) -> list[dict]:
    from mvmocap.evaluate.people import holders

    held = holders(scene.truth, kept, people)
    errors = []
    for n in range(people):
        owners = held[n][held[n] >= 0]
        if not owners.size:
            continue
        owner = kept[int(np.bincount(owners).argmax())]
        C, F = owner.slots.shape
        mine = np.zeros(scene.keypoints.shape[:2] + scene.keypoints.shape[3:])
        c, f = np.nonzero(owner.slots >= 0)
        mine[c, f] = scene.keypoints[c, f, owner.slots[c, f]]
        errors.append(mpjpe_pair(scene.rig, mine, scene.alone(n), scene.joints[n]))
    return errors


def real(out: Path, demo: Path | None) -> None:
    from mvmocap.reconstruct import ReconstructConfig, run

    print("== shared capture pose2sim_multiperson (reconstruct --max-people 2 --render) ==")
    capture = DATA / "pose2sim_multiperson"
    cfg = ReconstructConfig.from_dict({"detect": {"max_people": 2}, "export": {"render": True, "render_stride": 25}})
    for stale in (out / "stages",):
        import shutil

        shutil.rmtree(stale, ignore_errors=True)
    result = run(capture / "videos", out, calibration=capture / "calibration" / "Calib.qca.txt", config=cfg,
                 progress=False)
    record = json.loads((out / "people.json").read_text())
    for t in record["tracks_3d"]:
        print(f"3D track {t['track']}: person {t['person']}, frames {t['first_frame']}..{t['last_frame']}, "
              f"{t['frames_3d']} in 3D, body size {t['body_size_m']:.3f} m, dropped: {t['dropped']}")
    print("2D-only tracks (camera: frames): " + ", ".join(f"{t['camera']}: {t['frames']}" for t in record["tracks_2d"]))
    swaps = _position_swaps(out, len(record["persons"]))
    print(f"frames where the two tracks' positions swap: {swaps}")
    demo_px = _demo_reprojection(demo) if demo is not None else None
    for p in record["persons"]:
        ratio = f", {p['median_reprojection_fit_px'] / demo_px:.2f} x the demo's {demo_px:.2f} px" if demo_px else ""
        print(f"person {p['person']}: median reprojection {p['median_reprojection_fit_px']:.2f} px{ratio} (target <= 1.3 x), "
              f"height {p['height_m']:.2f} m, valid frames {p['valid_frames']}/{p['frames']}")
    _detection_speed(out)
    s = record["summary"]
    print(f"association + tracking {s['association_and_tracking_seconds']:.2f} s = "
          f"{100 * s['association_and_tracking_share_of_detection']:.1f} % of detection ({s['detector_seconds']:.1f} s "
          f"detector time, measured when the detections were made) (target <= 10 %)")
    print("timings (s): " + json.dumps(record["timings_s"]))
    return result


def _position_swaps(out: Path, persons: int) -> int:
    """Frames where person 0's root is nearer to person 1's median position than to its own (and vice versa)."""
    if persons != 2:
        return -1
    roots = []
    for k in range(2):
        data = np.load(out / f"person_{k}" / "joints3d.npz")
        tri, conf = data["triangulated"], data["triangulated_confidence"]
        ok = (conf[:, [11, 12]] > 0).all(-1)
        root = np.where(ok[:, None], tri[:, [11, 12]].mean(1), np.nan)
        roots.append(dict(zip(data["frame_ids"].tolist(), root)))
    common = sorted(set(roots[0]) & set(roots[1]))
    a = np.array([roots[0][f] for f in common])
    b = np.array([roots[1][f] for f in common])
    both = ~np.isnan(a).any(1) & ~np.isnan(b).any(1)
    centre_a, centre_b = np.median(a[both], 0), np.median(b[both], 0)
    own = np.linalg.norm(a - centre_a, axis=1) + np.linalg.norm(b - centre_b, axis=1)
    swapped = np.linalg.norm(a - centre_b, axis=1) + np.linalg.norm(b - centre_a, axis=1)
    return int((both & (swapped < own)).sum())


def _demo_reprojection(out: Path) -> float:
    from mvmocap.reconstruct import ReconstructConfig, run

    capture = DATA / "pose2sim_demo"
    result = run(capture / "videos", out, calibration=capture / "calibration" / "Calib.qca.txt",
                 config=ReconstructConfig(), progress=False)
    px = result.summary["median_reprojection_fit_px"]
    print(f"single-person demo (pose2sim_demo, reconstruct default, same run): median reprojection {px:.2f} px")
    return px


def _detection_speed(out: Path) -> None:
    from mvmocap.detect.people_run import load_people

    people = load_people(out / "work")
    count = people.present.sum(-1).reshape(-1)
    seconds = people.seconds.reshape(-1)
    first = np.zeros_like(seconds, bool)
    first.reshape(people.num_cameras, -1)[:, 0] = True  # the first image of a camera also builds the graph
    keep = ~first
    parts = []
    for n in np.unique(count[keep]):
        sel = keep & (count == n)
        parts.append(f"{n} people: {1000 * seconds[sel].mean():.0f} ms ({sel.sum()} images)")
    slope, intercept = np.polyfit(count[keep], seconds[keep], 1)
    print("detector time per image by people found: " + "; ".join(parts) +
          f"; linear fit {1000 * intercept:.0f} ms + {1000 * slope:.0f} ms per person")


def detector_scaling(frames: int = 20) -> None:
    """Detector time on the same images (``frames`` of each camera) with ``num_poses`` 1, 2 and 4."""
    from mvmocap.detect.multi_blazepose import MultiBlazePoseDetector
    from mvmocap.io.video import discover_cameras, iter_frames, open_camera

    images = []
    for path in discover_cameras(DATA / "pose2sim_multiperson" / "videos"):
        images += [image for _, image in iter_frames(open_camera(path), np.arange(0, 100, 100 // frames))]
    rows = []
    for num_poses in (1, 2, 4):
        detector = MultiBlazePoseDetector(num_poses=num_poses)
        detector.start_camera("timing")
        detector.process(images[0])  # the first image builds the graph
        times, found = [], []
        for image in images:
            tick = time.perf_counter()
            found.append(len(detector.process(image)))
            times.append(time.perf_counter() - tick)
        detector.close()
        rows.append((num_poses, float(np.mean(found)), float(np.median(times))))
    print(f"detector on the same {len(images)} images: " + "; ".join(
        f"num_poses {n}: {people:.2f} people found per image, {1000 * t:.0f} ms median" for n, people, t in rows))
    base = rows[0]
    for n, people, t in rows[1:]:
        print(f"  num_poses {n}: time x{t / base[2]:.2f} for people found x{people / base[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--real", type=Path, default=None, help="output folder for the shared capture (skipped if absent)")
    parser.add_argument("--demo", type=Path, default=None, help="output folder for the single-person demo")
    args = parser.parse_args()
    synthetic(args.seeds)
    if args.real is not None:
        real(args.real, args.demo)
        detector_scaling()


if __name__ == "__main__":
    main()
