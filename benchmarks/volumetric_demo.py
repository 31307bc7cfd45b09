"""``fit`` vs ``volumetric`` vs ``volumetric+fit`` on the shared real capture (Qualisys calibration).

Usage: python benchmarks/volumetric_demo.py [--out /tmp/bench_volumetric_demo]
           [--methods fit volumetric volumetric-net volumetric+fit] [--detections WORK_DIR]
           [--repeat 3] [--fit KEY=VALUE ...] [--subsets]

Detection runs once (or is taken from ``--detections``, a reconstruct ``work`` folder) and its
cache is copied to every run, so the times compare everything after detection. Each run is a
fresh Python process, as ``mvmocap reconstruct`` is (so no method profits from another's warm-up),
and each method runs ``--repeat`` times: the time printed is the median, the reprojection the
first run's (the runs are deterministic; a difference is reported). Prints, per method, the median
reprojection error of the model's COCO joints against the detections, its ratio to ``fit``'s with a
95 % moving-block bootstrap interval (frames resampled in blocks of 10, both runs paired: ``mvmocap
eval reconstructions``), the stage timings and the height. Targets (issue #8): volumetric <= 1.5 x fit's median reprojection,
volumetric+fit <= 1.0 x, in less total time than fit. ``volumetric`` is the network + limb IK,
``volumetric-net`` the network alone; ``volumetric+fit`` runs SMPLify with its refinement settings
(``FitConfig.refine_*``); ``--fit`` changes fit options of every method.

``--subsets`` runs the methods (once each, fresh processes) on every set of two or more of the four
cameras (the videos linked into a folder of their own, the detections reused) and prints, per
method, its ratios to the first method's reprojection and time: how much the figures above depend
on the one camera set.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared" / "data" / "pose2sim_demo"
BLOCK_FRAMES = 10  # bootstrap block: 1/6 s at the demo's 60 fps


def ratio_interval(reference: Path, other: Path) -> tuple[float, float]:
    """95 % interval of the ratio of two runs' median reprojection errors (output folders):
    :func:`mvmocap.evaluate.reconstructions.compare_reconstructions`, blocks of ``BLOCK_FRAMES``."""
    from mvmocap.evaluate.reconstructions import compare_reconstructions
    from mvmocap.io.joints3d import load_fit_reprojection

    return compare_reconstructions(load_fit_reprojection(reference), load_fit_reprojection(other),
                                   block_frames=BLOCK_FRAMES).interval


def run_once(method: str, out: Path, detections: Path | None, fit_options: dict, videos: Path) -> dict:
    """One reconstruct run in this process: summary, timings (s) and wall time."""
    from mvmocap.reconstruct import ReconstructConfig, run

    if out.exists():
        shutil.rmtree(out)
    if detections is not None:
        shutil.copytree(detections, out / "work")
    cfg = ReconstructConfig.from_dict({"method": method, "fit": fit_options})
    t0 = time.perf_counter()
    result = run(videos, out, calibration=SHARED / "calibration" / "Calib.qca.txt", config=cfg, progress=False)
    return {"summary": result.summary, "timings": result.timings, "wall": time.perf_counter() - t0}


def run_fresh(method: str, out: Path, detections: Path | None, fit_args: list[str],
              videos: Path = SHARED / "videos") -> dict:
    """:func:`run_once` in a new Python process."""
    cmd = [sys.executable, __file__, "--one", method, "--out", str(out), "--videos", str(videos), "--fit", *fit_args]
    if detections is not None:
        cmd += ["--detections", str(detections)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{method} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_volumetric_demo"))
    parser.add_argument("--methods", nargs="+", default=["fit", "volumetric", "volumetric-net", "volumetric+fit"])
    parser.add_argument("--detections", type=Path, default=None, help="a reconstruct 'work' folder to reuse")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process runs per method (median time)")
    parser.add_argument("--fit", nargs="*", default=[], metavar="KEY=VALUE", help="fit options (YAML values)")
    parser.add_argument("--subsets", action="store_true", help="every set of >= 2 cameras, once per method")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one run, JSON on stdout
    parser.add_argument("--videos", type=Path, default=SHARED / "videos", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import yaml

    if args.one is not None:
        options = {k: yaml.safe_load(v) for k, _, v in (item.partition("=") for item in args.fit)}
        print(json.dumps(run_once(args.one, args.out, args.detections, options, args.videos)))
        return
    detections = args.detections
    if detections is None:  # detect once, in a run of its own
        first = run_fresh("fit", args.out / "detect", None, args.fit)
        detections = args.out / "detect" / "work"
        print(f"detection: {first['timings'].get('detect', 0):.1f} s", flush=True)
    if args.subsets:
        camera_subsets(args, detections)
        return
    rows, outs = {}, {}
    for method in args.methods:
        outs[method] = out = args.out / method.replace("+", "_plus_")
        runs = [run_fresh(method, out, detections, args.fit) for _ in range(args.repeat)]
        afters = [r["timings"]["total"] - r["timings"].get("detect", 0) for r in runs]
        pixels = [r["summary"]["median_reprojection_fit_px"] for r in runs]
        s, t = runs[0]["summary"], {k: round(v, 2) for k, v in runs[0]["timings"].items()}
        rows[method] = (pixels[0], statistics.median(afters))
        spread = "" if max(pixels) - min(pixels) < 1e-6 else f" (runs differ: {', '.join(f'{p:.3f}' for p in pixels)})"
        print(f"{method}: median reprojection {pixels[0]:.3f} px{spread} (triangulation "
              f"{s['median_reprojection_triangulation_px']:.2f} px), height {s['height_m']:.3f} m, valid "
              f"{s['valid_frames']}/{s['frames']}; after detection {', '.join(f'{a:.2f}' for a in afters)} s; "
              f"first run's timings {json.dumps(t)}", flush=True)
    if "fit" in rows:
        ref_px, ref_t = rows["fit"]
        for method, (px, after) in rows.items():
            low, high = ratio_interval(outs["fit"], outs[method])
            print(f"{method}: reprojection ratio to fit {px / ref_px:.4f} (95 % block bootstrap {low:.3f}-{high:.3f}), "
                  f"median time after detection {after:.2f} s (fit {ref_t:.2f} s)")


def camera_subsets(args, detections: Path) -> None:
    """The methods on every set of >= 2 cameras: per set the reprojection and time of each, then per
    method the median (min-max) of its ratios to the first method's and how often it is at most 1."""
    import itertools

    cameras = sorted(p.stem for p in (SHARED / "videos").glob("*.mp4"))
    ratios: dict[str, list[tuple[float, float]]] = {m: [] for m in args.methods[1:]}
    bounds: dict[str, list[tuple[float, float]]] = {m: [] for m in args.methods[1:]}
    for size in range(len(cameras), 1, -1):
        for subset in itertools.combinations(cameras, size):
            videos = args.out / "videos" / "+".join(subset)
            videos.mkdir(parents=True, exist_ok=True)
            for name in subset:
                link = videos / f"{name}.mp4"
                if not link.exists():
                    link.symlink_to(SHARED / "videos" / f"{name}.mp4")
            results, outs = {}, {}
            for method in args.methods:
                outs[method] = out = args.out / "subset" / "+".join(subset) / method.replace("+", "_plus_")
                r = run_fresh(method, out, detections, args.fit, videos)
                results[method] = (r["summary"]["median_reprojection_fit_px"],
                                   r["timings"]["total"] - r["timings"].get("detect", 0))
            ref_px, ref_t = results[args.methods[0]]
            intervals = {}
            for method in ratios:
                ratios[method].append((results[method][0] / ref_px, results[method][1] / ref_t))
                intervals[method] = ratio_interval(outs[args.methods[0]], outs[method])
                bounds[method].append(intervals[method])
            print("+".join(subset) + ": " + ", ".join(
                f"{m} {px:.2f} px {t:.2f} s" + (f" (ratio {px / ref_px:.3f}, 95 % {intervals[m][0]:.3f}-{intervals[m][1]:.3f})"
                                               if m in intervals else "")
                for m, (px, t) in results.items()), flush=True)
    for method, values in ratios.items():
        px, t = [v[0] for v in values], [v[1] for v in values]
        print(f"{method} / {args.methods[0]} over {len(values)} camera sets: reprojection median {statistics.median(px):.3f} "
              f"({min(px):.3f}-{max(px):.3f}, <= 1 in {sum(v <= 1 for v in px)}), time median {statistics.median(t):.3f} "
              f"({min(t):.3f}-{max(t):.3f}, < 1 in {sum(v < 1 for v in t)}); 95 % interval of the reprojection ratio "
              f"below 1 in {sum(high < 1 for _, high in bounds[method])}, above 1 in "
              f"{sum(low > 1 for low, _ in bounds[method])}")


if __name__ == "__main__":
    main()
