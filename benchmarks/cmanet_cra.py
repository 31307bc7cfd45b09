"""``--method cmanet`` (CMANet's inter-view module on CRA's views) against ``--method cra``, in a held-out camera.

For each held-out camera ``h`` (a fold) of a reconstruct folder (``--run``, e.g. ``reconstruct --method fit``
of the demo): CRA (the shipped CRA-S, frozen: stage 1) predicts every view of frames ``--train-frames`` of
the other cameras; the uncalibrated multi-view SMPLify of those views gives the stage-2 targets; the
inter-view module trains on them (no 3D label; :mod:`mvmocap.regressors.cmanet.on_cra`); then, on frames
``--test-frames`` of the same cameras, ``cra`` (CRA's views fused by ``fuse_views``), ``cmanet untrained``
(the screened start: CRA's orientations, the least-residual view's body) and ``cmanet`` are projected into
``h`` and compared with ``h``'s detections (:func:`mvmocap.evaluate.heldout.heldout_errors`): median
pixels and the ratio to the base (``cra``; for the ``cmanet/untrained`` row the untrained module: what
stage 2's training adds) with a paired moving-block bootstrap interval (blocks of 10 frames), all in one process. The checkpoint of each fold is written to ``--out/h/cmanet.pt``.

    python benchmarks/cmanet_cra.py --run /tmp/bench_demo --out /tmp/cmanet_cra [--steps 300] [--folds cam01 ...]

``--all-cameras``: no scoring; train on every camera of ``--train-frames`` of one or more ``--run`` folders
and write ``--out/cmanet.pt`` (the checkpoint ``reconstruct --method cmanet --checkpoint`` takes).
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


def train_all(args, body) -> int:
    """Stage 2 on every camera of ``--train-frames`` of every ``--run``; writes ``--out/cmanet.pt``."""
    from mvmocap.adapt.captures import load_capture, select
    from mvmocap.regressors.cmanet.on_cra import ViewFusion, capture_views, save_fusion, train_stage2
    from mvmocap.regressors.cra.inference import predict_views

    began = time.perf_counter()
    data = []
    for run in args.run:
        inputs = select(load_capture(run, body), args.train_frames).inputs
        data.append(capture_views(inputs, predict_views(inputs), body))
    torch.manual_seed(args.seed)
    model = ViewFusion()
    records = train_stage2(model, data, body, args.steps, args.batch_size, args.lr, args.seed)
    path = save_fusion(model, args.out / "cmanet.pt")
    first = sum(r["loss"] for r in records[:20]) / max(len(records[:20]), 1)
    last = sum(r["loss"] for r in records[-20:]) / max(len(records[-20:]), 1)
    print(f"{path}: stage-2 loss {first:.4f} -> {last:.4f} (first / last 20 steps) in {time.perf_counter() - began:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    from mvmocap.adapt.captures import load_capture, select
    from mvmocap.evaluate.bootstrap import median_ratio_interval
    from mvmocap.io.calibration import load_rig
    from mvmocap.regressors.cmanet.on_cra import ViewFusion, capture_views, save_fusion, train_stage2
    from mvmocap.regressors.cra.inference import predict_views
    from mvmocap.regressors.cra.multiview import fuse_views
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folds", nargs="*", default=None)
    parser.add_argument("--train-frames", type=_frames, default=(0, 60))
    parser.add_argument("--test-frames", type=_frames, default=(60, 100))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all-cameras", action="store_true", help="train on every camera, write OUT/cmanet.pt, no scoring")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    if args.all_cameras:
        return train_all(args, body)
    args.run = args.run[0]
    names = list(load_rig(args.run / "cameras.yaml").names)
    print(f"train on {args.run} frames {args.train_frames[0]}:{args.train_frames[1]}, test frames "
          f"{args.test_frames[0]}:{args.test_frames[1]} in the held-out camera; {args.steps} steps, batch "
          f"{args.batch_size}, lr {args.lr}, seed {args.seed}")
    print(f"{'fold':6} {'variant':17} {'base px':>8} {'variant px':>10} {'ratio':>7} {'95% interval':>15} {'points':>6}"
          f"  train s  stage-2 loss (first 20 -> last 20 steps)")
    for h in args.folds or names:
        cameras = [n for n in names if n != h]
        began = time.perf_counter()
        train = select(load_capture(args.run, body, cameras=cameras), args.train_frames).inputs
        data = capture_views(train, predict_views(train), body)
        torch.manual_seed(args.seed)
        model = ViewFusion()
        records = train_stage2(model, [data], body, args.steps, args.batch_size, args.lr, args.seed)
        seconds = time.perf_counter() - began
        (args.out / h).mkdir(parents=True, exist_ok=True)
        save_fusion(model, args.out / h / "cmanet.pt")
        first = sum(r["loss"] for r in records[:20]) / max(len(records[:20]), 1)
        last = sum(r["loss"] for r in records[-20:]) / max(len(records[-20:]), 1)
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
