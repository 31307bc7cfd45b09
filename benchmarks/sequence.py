"""The synthetic sequence benchmark table of issue #19: fit, triangulation, volumetric, volumetric-net and
volumetric+fit on motion clips of the held-out rig family, at 2/4/8 cameras, noisy and occluded, plus
a held-out pose family row and the uncalibrated mode's baseline.

Usage: python benchmarks/sequence.py [--clips 2] [--frames 60] [--cameras 2 4 8]
           [--conditions noisy occluded] [--rig-family high_wide] [--pose-family gesturing]
           [--methods fit triangulation volumetric volumetric-net volumetric+fit] [--no-uncalibrated]
           [--seed 0] [--json OUT.json] [--baseline-checkpoint OLD.pt]

Every method runs in this process on the same clips (:mod:`mvmocap.evaluate.sequence`; the CLI
``mvmocap eval --dataset synthetic --sequence`` runs the same code). Three parts:

1. the grid: ``--cameras`` x ``--conditions`` on the rig family ``--rig-family``, key poses of the
   training pose families;
2. the held-out pose family: the same rig family, key poses of ``--pose-family`` only, 4 cameras,
   the same conditions;
3. uncalibrated: ``triangulation-selfcal`` (cameras from the joints, then triangulation), 4 cameras,
   noisy, scored after a per-frame similarity in camera 0's frame.

Prints one Markdown table per part, the settings and the checkpoint (file hash and the commit that
last changed it). The default size (2 clips of 60 frames per cell) takes about 6-8 minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    from mvmocap.evaluate.sequence import (
        DEFAULT_METHODS, HELDOUT_POSE_FAMILY, HELDOUT_RIG_FAMILY, SequenceBenchmark, format_markdown,
        run_sequence_benchmark,
    )
    from mvmocap.evaluate.sequence_methods import SELFCAL
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.safe_read import json_safe
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--cameras", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--conditions", nargs="+", default=["noisy", "occluded"])
    parser.add_argument("--rig-family", default=HELDOUT_RIG_FAMILY)
    parser.add_argument("--pose-family", default=HELDOUT_POSE_FAMILY)
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--no-uncalibrated", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--baseline-checkpoint", type=Path, default=None,
                        help="also run volumetric-base[-net|+fit] with this (older) checkpoint, same clips")
    args = parser.parse_args(argv)

    from benchmarks.checkpoints import checkpoint_note, register_baseline

    if args.baseline_checkpoint is not None:
        base, base_net = register_baseline(args.baseline_checkpoint)
        args.methods = list(args.methods) + [base, base_net, f"{base}+fit"]
    common = dict(clips=args.clips, frames=args.frames, seed=args.seed, rig_families=(args.rig_family,))
    parts = {
        "grid": SequenceBenchmark(cameras=tuple(args.cameras), conditions=tuple(args.conditions),
                                  methods=tuple(args.methods), **common),
        "heldout_pose": SequenceBenchmark(cameras=(4,), conditions=tuple(args.conditions), methods=tuple(args.methods),
                                          pose_families=(args.pose_family,), **common),
    }
    if not args.no_uncalibrated:
        parts["uncalibrated"] = SequenceBenchmark(cameras=(4,), conditions=("noisy",), methods=(SELFCAL,),
                                                  uncalibrated=True, **common)
    body = load_body(None)
    start = time.perf_counter()
    results = {name: run_sequence_benchmark(bench, body_model=body) for name, bench in parts.items()}
    total = time.perf_counter() - start
    note = checkpoint_note()
    print(f"checkpoint: {note['path']} sha256 {note['sha256_12']}, last changed in {note['last_commit']}")
    if args.baseline_checkpoint is not None:
        note["baseline"] = checkpoint_note(args.baseline_checkpoint)
        print(f"baseline (volumetric-base*): {args.baseline_checkpoint} sha256 {note['baseline']['sha256_12']}")
    print(f"{args.clips} clips x {args.frames} frames per cell, rig family {args.rig_family}; "
          f"{total / 60:.1f} min in all\n")
    rigs = f"rig family {args.rig_family}" + (" (held out)" if args.rig_family == HELDOUT_RIG_FAMILY else "")
    titles = {"grid": f"{rigs}, training pose families",
              "heldout_pose": f"{rigs}, pose family {args.pose_family}"
                              + (" (held out)" if args.pose_family == HELDOUT_POSE_FAMILY else ""),
              "uncalibrated": "uncalibrated (cameras hidden), after a per-frame similarity in camera 0's frame"}
    for name, result in results.items():
        print(f"### {titles[name]}\n")
        print(format_markdown(result) + "\n")
    if args.json is not None:
        doc = {"checkpoint": note, "seconds": round(total, 1), "command": " ".join(["python", "benchmarks/sequence.py"]
                                                                                     + (argv or sys.argv[1:])),
               **results}
        atomic_write_text(args.json, json.dumps(json_safe(doc), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
