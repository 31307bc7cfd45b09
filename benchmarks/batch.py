"""`mvmocap batch` on the shared session: wall time with 1 and 2 workers, equality with reconstruct, Ray.

Usage: python benchmarks/batch.py [--session ../shared/data/pose2sim_batch] [--work /tmp/batch_bench] [--repeats 2]

Every figure comes from commands run here, in this order:
1. cold: ``mvmocap batch SESSION --workers 1`` then ``--workers 2`` into fresh folders (detection + fit);
2. warm (detections reused from 1, every later stage recomputed): ``--workers 1`` and ``--workers 2``,
   alternated ``--repeats`` times (other sessions load this machine: the spread is printed);
3. the baseline: ``mvmocap reconstruct TRIAL/videos --calibration ...`` on each trial alone (detections
   reused), and ``mvmocap batch --engine ray --workers 2`` (detections reused); every run's
   ``smpl_params.npz`` arrays are compared with the baseline's;
4. seconds per trial per stage (from the cold single-worker run's summary) and a projected throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRIALS = ("Trial_1", "Trial_2")


CPU_SECONDS: dict[str, float] = {}  # command label -> CPU seconds of the command and its worker processes


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mvmocap(*args: str, threads: int | None = None, label: str | None = None) -> float:
    """Run the CLI in a fresh process; return its wall time. ``threads`` sets OMP_NUM_THREADS (None: unset).

    Also prints the CPU seconds it used (its pool workers included; a Ray cluster's are not counted)
    and the load average before it, since other sessions share these cores.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(REPO)
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    load = os.getloadavg()[0]
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mvmocap.cli.main", *args, "-q"], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): mvmocap {' '.join(args)}\n{proc.stderr[-3000:]}")
    cpu = _children_cpu() - cpu
    if label:
        CPU_SECONDS.setdefault(label, 0.0)
        CPU_SECONDS[label] += cpu
    print(f"  {wall:6.1f} s wall, {cpu:6.1f} s CPU, load {load:4.1f} before  mvmocap {' '.join(args)}", flush=True)
    return wall


def seed_detections(source: Path, target: Path) -> None:
    """A fresh output folder holding only ``source``'s detection caches (so only detection is reused)."""
    shutil.rmtree(target, ignore_errors=True)
    for trial in TRIALS:
        shutil.copytree(source / trial / "work", target / trial / "work")


def params(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in ("poses", "betas", "trans", "valid")}


def compare(a: Path, b: Path) -> str:
    x, y = params(a), params(b)
    if all(np.array_equal(x[k], y[k], equal_nan=True) for k in x):
        return "identical"
    worst = max(float(np.nanmax(np.abs(x[k].astype(float) - y[k].astype(float)))) for k in x)
    return f"differ: max |diff| {worst:.2e}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--session", default=str(REPO.parent / "shared" / "data" / "pose2sim_batch"))
    ap.add_argument("--work", default="/tmp/batch_bench")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--skip-cold", action="store_true", help="reuse WORK/cold_w1 and WORK/cold_w2 from an earlier run")
    ap.add_argument("--cold-only", action="store_true", help="only step 1, 2 workers first (a repeat of the timing)")
    ap.add_argument("--one-first", action="store_true", help="with --cold-only: 1 worker first")
    args = ap.parse_args()
    session, work = Path(args.session), Path(args.work)
    calibration = session / "calibration" / "Calib.qca.txt"
    print(f"cores: {len(os.sched_getaffinity(0))}, load average at start: {os.getloadavg()}")

    print("1. cold runs (detection + every stage)")
    cold = {}
    for workers in ((2, 1) if args.cold_only and not args.one_first else (1, 2)):
        out = work / f"cold_w{workers}"
        if not args.skip_cold:
            shutil.rmtree(out, ignore_errors=True)
            cold[workers] = mvmocap("batch", str(session), "--out", str(out), "--workers", str(workers), label=f"cold_w{workers}")
        else:
            cold[workers] = json.loads((out / "summary.json").read_text())["wall_s"]

    if args.cold_only:
        print(f"  cold wall: 1 worker {cold[1]:.1f} s, 2 workers {cold[2]:.1f} s (speed-up {cold[1] / cold[2]:.2f}x); "
              f"CPU {CPU_SECONDS['cold_w1']:.1f} and {CPU_SECONDS['cold_w2']:.1f} s; load average at end: {os.getloadavg()}")
        return
    print(f"2. warm runs (detections reused), {args.repeats} x alternated")
    warm: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.repeats):
        for workers in (1, 2):
            out = work / f"warm_w{workers}"
            seed_detections(work / "cold_w1", out)
            warm[workers].append(mvmocap("batch", str(session), "--out", str(out), "--workers", str(workers), label=f"warm_w{workers}"))

    print("3. reconstruct on each trial alone, and the Ray engine (detections reused)")
    alone = work / "alone"
    seed_detections(work / "cold_w1", alone)
    for trial in TRIALS:
        mvmocap("reconstruct", str(session / trial / "videos"), "--out", str(alone / trial), "--calibration", str(calibration))
    ray_out = work / "ray_w2"
    seed_detections(work / "cold_w1", ray_out)
    ray_wall = mvmocap("batch", str(session), "--out", str(ray_out), "--engine", "ray", "--workers", "2")
    runs = {"cold --workers 1": work / "cold_w1", "cold --workers 2": work / "cold_w2", "warm --workers 1": work / "warm_w1",
            "warm --workers 2": work / "warm_w2", "--engine ray --workers 2": ray_out}
    for label, out in runs.items():
        verdicts = [f"{trial} {compare(out / trial / 'smpl_params.npz', alone / trial / 'smpl_params.npz')}" for trial in TRIALS]
        print(f"  batch {label:26s} vs reconstruct alone: {', '.join(verdicts)}")

    print("4. figures")
    print(f"  cold wall: 1 worker {cold[1]:.1f} s, 2 workers {cold[2]:.1f} s (speed-up {cold[1] / cold[2]:.2f}x)")
    for workers in (1, 2):
        print(f"  warm wall, {workers} worker(s): " + ", ".join(f"{w:.1f}" for w in warm[workers]) + " s")
    print(f"  ray wall, 2 workers (detections reused, includes starting Ray): {ray_wall:.1f} s")
    summary = json.loads((work / "cold_w1" / "summary.json").read_text())
    stages = ("detect", "cameras", "left_right", "triangulate", "fit", "export", "total")
    print("  seconds per trial per stage (cold, 1 worker, 2 threads):")
    for row in summary["trials"]:
        print(f"    {row['trial']}: " + ", ".join(f"{s} {row['seconds'].get(s, 0):.1f}" for s in stages))
    per_trial = float(np.mean([row["seconds"]["total"] for row in summary["trials"]]))
    print(f"  mean {per_trial:.1f} s per trial (its own clock: stages only, no process start)")
    if "cold_w2" in CPU_SECONDS:
        cpu_per_trial = CPU_SECONDS["cold_w2"] / len(TRIALS)  # one thread per trial, process start included
        print(f"  CPU per trial, 1 thread each (cold, 2 workers): {cpu_per_trial:.1f} s"
              + (f"; with 2 threads (cold, 1 worker): {CPU_SECONDS['cold_w1'] / len(TRIALS):.1f} s" if "cold_w1" in CPU_SECONDS else ""))
        print("  projected throughput, assuming trials are CPU-bound and independent (one core each, inputs on a shared")
        print("  filesystem, no contention from other jobs): machines x cores x 3600 / CPU-s per trial")
        for machines, cores in ((1, 2), (1, 16), (10, 16), (100, 16)):
            print(f"    {machines:3d} machine(s) x {cores:2d} cores -> {machines * cores * 3600 / cpu_per_trial:8,.0f} trials/hour "
                  "(4 cameras x 100 frames, 1080x1920)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
