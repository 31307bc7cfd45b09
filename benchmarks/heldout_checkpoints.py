"""``mvmocap eval heldout-camera`` on the shared demo with the current volumetric checkpoint and an
older one (``--baseline-checkpoint``) in the same process: fit, volumetric, volumetric+fit,
volumetric-base and volumetric-base+fit, every fold, ratios to fit with moving-block bootstrap
intervals (:mod:`mvmocap.evaluate.heldout`).

    python benchmarks/heldout_checkpoints.py --baseline-checkpoint OLD.pt --out /tmp/heldout_ckpt \\
        [--demo ../shared/data/pose2sim_demo]

``--out`` must not hold finished folds of another checkpoint (they are reused); copy only its
``work/`` (the detections) from an earlier run to skip the detection.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    from benchmarks.checkpoints import checkpoint_note, register_baseline
    from mvmocap.evaluate.heldout import evaluate_heldout_cameras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--demo", type=Path, default=REPO.parent / "shared" / "data" / "pose2sim_demo")
    args = parser.parse_args(argv)
    base, _ = register_baseline(args.baseline_checkpoint)
    methods = ("fit", "volumetric", "volumetric+fit", base, f"{base}+fit")
    result = evaluate_heldout_cameras(args.demo / "videos", args.demo / "calibration" / "Calib.qca.txt", args.out,
                                      methods=methods, progress=False)
    note, old = checkpoint_note(), checkpoint_note(args.baseline_checkpoint)
    print(f"volumetric: {note['path']} sha256 {note['sha256_12']}; {base}: {old['path']} sha256 {old['sha256_12']}")
    print(result.to_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
