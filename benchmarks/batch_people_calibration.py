"""``batch --calibrate-from-joints``: one session calibration from one person per trial against everyone
(``--max-people 2``), on ../shared/data/pose2sim_batch (Trial_1: one person; Trial_2: two), both against the
session's Qualisys calibration, in one run.

Usage: python benchmarks/batch_people_calibration.py --out /tmp/bench_batch_people
           [--single-work DIR_WITH_Trial_k/work] [--people-work DIR_WITH_Trial_k]

The detections are those ``batch`` makes (``detect`` per trial, or ``detect --max-people 2``), reused from the
given folders or detected into OUT. Rows: the single-person session calibration (what ``batch
--calibrate-from-joints`` did before, and still does without ``--max-people``), everyone of every trial
(``--max-people 2``), and each trial alone (Trial_2 also through the multi-person calibration).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mvmocap import detect  # noqa: E402
from mvmocap.batch.calibration import calibrate_session  # noqa: E402
from mvmocap.batch.people_calibration import calibrate_session_people  # noqa: E402
from mvmocap.detect.people_run import load_people, run_people  # noqa: E402
from mvmocap.evaluate.calibration import compare_calibrations  # noqa: E402
from mvmocap.io.calibration import load_rig  # noqa: E402

SESSION = REPO.parent / "shared" / "data" / "pose2sim_batch"
TRIALS = ("Trial_1", "Trial_2")


def errors(rig, reference) -> str:
    c = compare_calibrations(rig, reference)
    return (f"rotation {c.mean_rotation_error_deg:.2f}° (max {max(x.rotation_error_deg for x in c.cameras):.2f}), "
            f"centre {c.mean_center_error_pct:.2f} %, focal {c.mean_focal_error_pct:.2f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--single-work", type=Path, help="folder holding Trial_k/work (single-person detect caches)")
    parser.add_argument("--people-work", type=Path, help="folder holding Trial_k/people (detect --max-people 2)")
    parser.add_argument("--height", type=float, default=1.70)
    args = parser.parse_args()
    reference = load_rig(SESSION / "calibration" / "Calib.qca.txt")
    single_root, people_root = args.single_work or args.out / "single", args.people_work or args.out / "people"
    single = [detect.run(SESSION / t / "videos", out=single_root / t / "work", progress=False) for t in TRIALS]
    people = []
    for t in TRIALS:
        folder = people_root / t
        people.append(load_people(folder) if (folder / "people" / "index.json").is_file()
                      else run_people(SESSION / t / "videos", folder, max_people=2, progress=False))
    for label, calibrate in (
        ("one person per trial (batch --calibrate-from-joints)",
         lambda out: calibrate_session(single, out, args.height, progress=False)),
        ("everyone of every trial (batch --calibrate-from-joints --max-people 2)",
         lambda out: calibrate_session_people(people, out, args.height, 2, progress=False)),
        ("Trial_1 alone, one person", lambda out: calibrate_session(single[:1], out, args.height, progress=False)),
        ("Trial_2 alone, one person", lambda out: calibrate_session(single[1:], out, args.height, progress=False)),
        ("Trial_2 alone, everyone", lambda out: calibrate_session_people(people[1:], out, args.height, 2, progress=False)),
    ):
        tick = time.perf_counter()
        out = args.out / label.split(" (")[0].replace(" ", "_").replace(",", "")
        try:
            cameras = calibrate(out)
        except Exception as exc:  # noqa: BLE001 - a refused row is a result
            print(f"{label}: refused: {exc}")
            continue
        print(f"{label}: {errors(load_rig(cameras), reference)} ({time.perf_counter() - tick:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
