"""``--method cmanet`` (CMANet's inter-view module on CRA's views) against ``--method cra``, in a held-out camera.

For each held-out camera ``h`` (a fold) of a reconstruct folder (``--run``, e.g. ``reconstruct --method fit``
of the demo): CRA (the shipped CRA-S, frozen: stage 1) predicts every view of frames ``--train-frames`` of
the other cameras; the uncalibrated multi-view SMPLify of those views gives the stage-2 targets; the
inter-view module trains on them (no 3D label), all through the library's adapt loop (``mvmocap adapt
--method cmanet``: :func:`mvmocap.adapt.run` with :mod:`mvmocap.regressors.cmanet.adaptation`; the targets
solved once, from CRA's views, unless ``--refit-every``), starting from a fresh module (the screened start)
or from ``--checkpoint`` (e.g. the shipped ``models/regressors/cmanet.pt``); then, on frames
``--test-frames`` of the same cameras, ``cra`` (CRA's views fused by ``fuse_views``), the start
(``cmanet untrained``, or ``cmanet shipped`` with ``--checkpoint``) and the trained module (``cmanet``, or
``cmanet adapted``) are projected into ``h`` and compared with ``h``'s detections
(:func:`mvmocap.evaluate.heldout.heldout_errors`): median pixels and the ratio to the base (``cra``; for the
``.../...`` row the start: what the training on this capture adds) with a paired moving-block bootstrap
interval (blocks of 10 frames), all in one process. Each fold's adapt run (``checkpoint.pt``,
``metrics.jsonl``, ``adapt.yaml``) is written to ``--out/h/``.

``--test-run``: score another reconstruct folder of the same rig (adaptation to a rig: train on ``Trial_1``,
score ``Trial_2``); a multi-person run (``reconstruct --max-people N``) is scored per person, each against
that person's own detections in the held-out camera (:func:`benchmarks.people_runs.person_runs`).

    python benchmarks/cmanet_cra.py --run /tmp/bench_demo --out /tmp/cmanet_cra [--steps 300] [--folds cam01 ...]
    python benchmarks/cmanet_cra.py --run /tmp/bench_demo --out /tmp/cmanet_shipped --checkpoint models/regressors/cmanet.pt
    python benchmarks/cmanet_cra.py --run /tmp/a2/Trial_1 --test-run /tmp/a3/Trial_2mp --train-frames 0:100 --test-frames 0:100 --out ...

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


def fold_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The held-out-camera protocol's options (folds, frames) and stage 2's schedule, for this script and
    ``cmanet_stages.py``."""
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folds", nargs="*", default=None)
    parser.add_argument("--train-frames", type=_frames, default=(0, 60))
    parser.add_argument("--test-frames", type=_frames, default=(60, 100))
    parser.add_argument("--steps", type=int, default=300, help="stage 2's steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def ratio_columns(base: tuple, variant: tuple) -> str:
    """``base px, variant px, ratio of medians, 95 % interval, points`` of two ``heldout`` results ``(errors,
    mask)`` on the points both scored (paired moving-block bootstrap, blocks of 10 frames)."""
    from mvmocap.evaluate.bootstrap import median_ratio_interval

    (e0, m0), (e1, m1) = base, variant
    shared = m0 & m1
    if not bool(shared.any()):
        return "no scored point"
    low, high = median_ratio_interval(e0, shared, e1, shared, block=10, generator=torch.Generator().manual_seed(0))
    p0, p1 = float(e0[shared].median()), float(e1[shared].median())
    return f"{p0:8.2f} {p1:10.2f} {p1 / p0:7.3f} {low:7.3f}-{high:.3f} {int(shared.sum()):6d}"


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

    config = AdaptConfig(method="cmanet", checkpoint=None if args.checkpoint is None else str(args.checkpoint),
                         steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         refit_every=args.refit_every or args.steps, grad_clip=0.0, frames=args.train_frames,
                         cameras=tuple(cameras), log_every=1, checkpoint_every=0,
                         synthetic_every=args.synthetic_every, synthetic_batch=args.synthetic_batch)
    began = time.perf_counter()
    run([args.run], out, config, progress=False)
    seconds = time.perf_counter() - began
    losses = [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["split"] == "train"]
    return seconds, sum(losses[:20]) / max(len(losses[:20]), 1), sum(losses[-20:]) / max(len(losses[-20:]), 1)


def main(argv: list[str] | None = None) -> int:
    from mvmocap.adapt.captures import load_capture, select
    from mvmocap.io.calibration import load_rig
    from mvmocap.regressors.cmanet.on_cra import ViewFusion, load_fusion
    from mvmocap.regressors.cra.inference import predict_views
    from mvmocap.regressors.cra.multiview import fuse_views
    from mvmocap.synth.dataset import load_body
    from benchmarks.people_runs import person_runs

    parser = fold_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--refit-every", type=int, default=0, help="re-solve the targets from the module every N steps (0: once)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="start from this cmanet checkpoint (default: a fresh module)")
    parser.add_argument("--synthetic-every", type=int, default=0, help="the drift guard (mvmocap adapt's option; 0: off)")
    parser.add_argument("--synthetic-batch", type=int, default=8, help="the drift guard's labelled frames per step")
    parser.add_argument("--test-run", type=Path, default=None, help="score this reconstruct folder of the same rig (default: --run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    names = list(load_rig(args.run / "cameras.yaml").names)
    test_runs = person_runs(args.test_run or args.run)
    for other in test_runs:
        if sorted(load_rig(other / "cameras.yaml").names) != sorted(names):
            raise SystemExit(f"{other} is not filmed by the rig of {args.run} ({', '.join(names)})")
    start_label, trained_label = ("cmanet shipped", "cmanet adapted") if args.checkpoint else ("cmanet untrained", "cmanet")
    ratio_label = "adapted/shipped" if args.checkpoint else "cmanet/untrained"
    start = load_fusion(args.checkpoint) if args.checkpoint else ViewFusion().eval()  # untrained: the screened start
    targets = f"re-solved every {args.refit_every} steps" if args.refit_every else "solved once"
    print(f"train on {args.run} frames {args.train_frames[0]}:{args.train_frames[1]} from {args.checkpoint or 'a fresh module'}, "
          f"test on {args.test_run or args.run} frames {args.test_frames[0]}:{args.test_frames[1]} in the held-out camera; "
          f"{args.steps} steps, batch {args.batch_size}, lr {args.lr}, seed {args.seed}, targets {targets}")
    print(f"{'fold':6} {'test':9} {'variant':17} {'base px':>8} {'variant px':>10} {'ratio':>7} {'95% interval':>15} "
          f"{'points':>6}  train s  stage-2 loss (first 20 -> last 20 steps)")
    for h in args.folds or names:
        cameras = [n for n in names if n != h]
        seconds, first, last = train_fold(args, cameras, args.out / h)
        model = load_fusion(args.out / h / "checkpoint.pt")
        for test_run in test_runs:
            test = select(load_capture(test_run, body, cameras=cameras), args.test_frames).inputs
            views = predict_views(test)
            with torch.no_grad():
                bodies = {"cra": fuse_views(views, test)[0], start_label: fuse_views(start(views), test)[0],
                          trained_label: fuse_views(model(views), test)[0]}
            errors = {name: heldout(test_run, test, params, h, args.test_frames) for name, params in bodies.items()}
            label = test_run.name if len(test_runs) > 1 else "-"
            for base, variant in (("cra", start_label), ("cra", trained_label), (start_label, trained_label)):
                row = variant if base == "cra" else ratio_label
                print(f"{h:6} {label:9} {row:17} {ratio_columns(errors[base], errors[variant])}  {seconds:7.0f}  "
                      f"{first:.4f} -> {last:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
