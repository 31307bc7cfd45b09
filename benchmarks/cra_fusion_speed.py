"""Speed of :func:`mvmocap.regressors.cra.multiview.fuse_views` (the multi-view step after the per-view network).

Usage: python benchmarks/cra_fusion_speed.py [--repeat 5]

One synthetic clip of the coverage benchmark (``benchmarks/cra_coverage.py``: 90 frames, 4 cameras,
cameras 2-4 losing the person for frames 30-59, so both translation paths run) with the ground-truth
stand-in's per-view bodies; the shipped body model, float32, one torch thread. Prints the median time
of ``--repeat`` calls after a warm-up, and frame-sets per second. The network's own time is not included.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    from benchmarks.cra_coverage import CAMERAS, FPS, FRAMES, SEED_OFFSET, lose_the_person, oracle_views
    from mvmocap.evaluate.sequence_methods import calibrated_inputs
    from mvmocap.regressors.cra.multiview import fuse_views
    from mvmocap.synth.dataset import load_body
    from mvmocap.synth.motion import MotionConfig
    from mvmocap.synth.sequence import SequenceConfig, synthetic_capture

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    config = SequenceConfig(cameras=CAMERAS, condition="noisy", motion=MotionConfig(frames=FRAMES, fps=FPS))
    capture = lose_the_person(synthetic_capture(body, config, SEED_OFFSET, 0))
    inputs = calibrated_inputs(capture, body)
    views = oracle_views(capture, inputs.keypoints_2d, 10.0, torch.Generator().manual_seed(0))
    fuse_views(views, inputs)  # warm-up
    times = []
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        fuse_views(views, inputs)
        times.append(time.perf_counter() - start)
    median = sorted(times)[len(times) // 2]
    print(f"fuse_views: {views.num_frames} frame-sets x {views.num_views} views, median {1000 * median:.1f} ms "
          f"= {views.num_frames / median:.0f} frame-sets/s (one thread, float32)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
