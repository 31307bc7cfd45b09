"""``--method cmanet`` (CMANet's inter-view module on CRA's views) against ``--method cra``, in a held-out camera.

For each held-out camera ``h`` (a fold) of a reconstruct folder (``--run``, e.g. ``reconstruct --method fit``
of the demo): CRA (the shipped CRA-S, frozen: stage 1) predicts every view of frames ``--train-frames`` of
the other cameras; the uncalibrated multi-view SMPLify of those views gives the stage-2 targets; the
inter-view module trains on them (no 3D label), all through the library's adapt loop (``mvmocap adapt
--method cmanet``: :func:`mvmocap.adapt.run` with :mod:`mvmocap.regressors.cmanet.adaptation`; the targets
solved once, from CRA's views, unless ``--refit-every``); then, on frames
``--test-frames`` of the same cameras, ``cra`` (CRA's views fused by ``fuse_views``), ``cmanet untrained``
(the screened start: CRA's orientations, the least-residual view's body) and ``cmanet`` are projected into
``h`` and compared with ``h``'s detections (:func:`mvmocap.evaluate.heldout.heldout_errors`): median
pixels and the ratio to the base (``cra``; for the ``cmanet/untrained`` row the untrained module: what
stage 2's training adds) with a paired moving-block bootstrap interval (blocks of 10 frames), all in one process.
Each fold's adapt run (``checkpoint.pt``, ``metrics.jsonl``, ``adapt.yaml``) is written to ``--out/h/``.

    python benchmarks/cmanet_cra.py --run /tmp/bench_demo --out /tmp/cmanet_cra [--steps 300] [--folds cam01 ...]

To train on every camera of one or more runs (no scoring) use the CLI: ``mvmocap adapt RUN... --method cmanet
--out DIR`` (``DIR/checkpoint.pt`` is what ``reconstruct --method cmanet --checkpoint`` takes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MIN_CONFIDENCE = 0.2


def _frames(text: str) -> tuple[int, int]:
    start, _, stop = text.partition(":")
    return int(start), int(stop)


def heldout(run: Path, inputs, params, held_out: str, frames: tuple[int, int]):
    from mvmocap.detect.run import load as load_detections
    from mvmocap.evaluate.heldout import heldout_errors
    from mvmocap.fit.inputs import evaluate_params
    from mvmocap.io.calibration import load_rig

    points = evaluate_params(inputs, params).keypoints3d
    rig_h = load_rig(run / "cameras.yaml").subset([held_out])
    det_h = torch.from_numpy(load_detections(run / "work").subset_cameras([held_out]).keypoints[0])
    return heldout_errors(points, params.valid, rig_h, det_h[frames[0]:frames[1]].to(torch.float64), MIN_CONFIDENCE)


def train_fold(args, cameras: list[str], out: Path) -> tuple[float, float, float]:
    """Stage 2 on ``cameras`` of frames ``--train-frames`` through the adapt loop -> (seconds, mean loss of the
    first 20 steps, of the last 20)."""
    import json

    from mvmocap.adapt import AdaptConfig, run

    config = AdaptConfig(method="cmanet", steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         refit_every=args.refit_every or args.steps, grad_clip=0.0, frames=args.train_frames,
                         cameras=tuple(cameras), log_every=1, checkpoint_every=0)
    began = time.perf_counter()
    run([args.run], out, config, progress=False)
    seconds = time.perf_counter() - began
    losses = [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["split"] == "train"]
    return seconds, sum(losses[:20]) / max(len(losses[:20]), 1), sum(losses[-20:]) / max(len(losses[-20:]), 1)


def main(argv: list[str] | None = None) -> int:
    from mvmocap.adapt.captures import load_capture, select
    from mvmocap.evaluate.bootstrap import median_ratio_interval
    from mvmocap.io.calibration import load_rig
    from mvmocap.regressors.cmanet.on_cra import ViewFusion, load_fusion
    from mvmocap.regressors.cra.inference import predict_views
    from mvmocap.regressors.cra.multiview import fuse_views
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folds", nargs="*", default=None)
    parser.add_argument("--train-frames", type=_frames, default=(0, 60))
    parser.add_argument("--test-frames", type=_frames, default=(60, 100))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--refit-every", type=int, default=0, help="re-solve the targets from the module every N steps (0: once)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    names = list(load_rig(args.run / "cameras.yaml").names)
    print(f"train on {args.run} frames {args.train_frames[0]}:{args.train_frames[1]}, test frames "
          f"{args.test_frames[0]}:{args.test_frames[1]} in the held-out camera; {args.steps} steps, batch "
          f"{args.batch_size}, lr {args.lr}, seed {args.seed}")
    print(f"{'fold':6} {'variant':17} {'base px':>8} {'variant px':>10} {'ratio':>7} {'95% interval':>15} {'points':>6}"
          f"  train s  stage-2 loss (first 20 -> last 20 steps)")
    for h in args.folds or names:
        cameras = [n for n in names if n != h]
        seconds, first, last = train_fold(args, cameras, args.out / h)
        model = load_fusion(args.out / h / "checkpoint.pt")
        test = select(load_capture(args.run, body, cameras=cameras), args.test_frames).inputs
        views = predict_views(test)
        with torch.no_grad():
            bodies = {"cra": fuse_views(views, test)[0],
                      "cmanet untrained": fuse_views(ViewFusion().eval()(views), test)[0],
                      "cmanet": fuse_views(model(views), test)[0]}
        errors = {name: heldout(args.run, test, params, h, args.test_frames) for name, params in bodies.items()}
        for base, variant in (("cra", "cmanet untrained"), ("cra", "cmanet"), ("cmanet untrained", "cmanet")):
            (e0, m0), (e1, m1) = errors[base], errors[variant]
            shared = m0 & m1
            low, high = median_ratio_interval(e0, shared, e1, shared, block=10, generator=torch.Generator().manual_seed(0))
            p0, p1 = float(e0[shared].median()), float(e1[shared].median())
            label = variant if base == "cra" else "cmanet/untrained"
            print(f"{h:6} {label:17} {p0:8.2f} {p1:10.2f} {p1 / p0:7.3f} {low:7.3f}-{high:.3f} {int(shared.sum()):6d}"
                  f"  {seconds:7.0f}  {first:.4f} -> {last:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
