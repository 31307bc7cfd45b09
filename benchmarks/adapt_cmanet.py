"""CMANet's training regimes under the synthetic domain shift (#24 acceptance 1's CMANet rows).

The clips of ``benchmarks/adapt_synthetic.py`` (held-out rig family ``high_wide``, pose family
``gesturing``, noisy detections): CMANet (:mod:`mvmocap.regressors.cmanet`, a library module, trained
from scratch here: there is no shipped CMANet) learns from the detections of ``--train-clips`` clips
only, with each regime, and is scored on ``--test-clips`` other clips against their ground truth:
COCO-17 PA-MPJPE of the canonical body (the shared pose and shape; the similarity alignment takes
the place of the unknown cameras). Rows, each from the same initial weights in this process:

* ``untrained``: the mean pose (the start of every regime);
* ``two-stage``: ``--steps`` of stage 1 (IRV, eq. 3), then ``--steps`` of stage 2 (IEV, eq. 6, IRV frozen);
* ``joint``: ``2 x --steps`` of both at once (eq. 3 + eq. 6);
* ``inter-view only``: ``2 x --steps`` of the IEV and the encoder from the mean parameters (eq. 6).

    python benchmarks/adapt_cmanet.py [--train-clips 4] [--test-clips 2] [--frames 30] [--steps 150] [--lr 1e-3]

The issue's size: ``--train-clips 20 --test-clips 5 --frames 100`` (the clips of ``adapt_synthetic.py``
with the same ``--seed``); progress lines go to stderr.

Ground truth is read only here, to score. ``--lr``: the paper's 1e-5 fine-tunes a pretrained
Swin encoder; from scratch on CPU, 1e-3.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def detections_of(captures) -> torch.Tensor:
    """``(F, C, 23, 3)`` of every clip, concatenated over the clips."""
    return torch.cat([torch.from_numpy(sc.detections.keypoints).float().transpose(0, 1) for sc in captures])


def score(model, body, captures) -> float:
    """Mean COCO-17 PA-MPJPE (mm) of the canonical body over the frames seen by at least two cameras."""
    from mvmocap.evaluate.metrics import pa_mpjpe
    from mvmocap.regressors.cmanet.inputs import crop_keypoints, network_input
    from mvmocap.regressors.cmanet.model import decode

    model.eval()
    errors = []
    with torch.no_grad():
        for sc in captures:
            kp = torch.from_numpy(sc.detections.keypoints).float().transpose(0, 1)
            uv, conf, _ = crop_keypoints(kp)
            canonical = model(network_input(uv, conf), uv, conf, body)["canonical"]
            rot = decode(canonical.params(), body)["rotations"][:, 0]
            betas = canonical.body[:, -10:]
            joints = body(global_orient=torch.eye(3).expand(len(rot), 3, 3), body_pose=rot[:, 1:], betas=betas).coco23[:, :17]
            seen = (conf.sum(-1) > 0).sum(-1) >= 2
            errors.append(pa_mpjpe(joints[seen].double(), sc.posed.coco23[:, :17][seen].double()))
    model.train()
    return float(torch.cat(errors).mean())


def main(argv: list[str] | None = None) -> int:
    from benchmarks.adapt_synthetic import TEST_SEED_OFFSET, clips, progress
    from mvmocap.fit.uncalibrated import ViewFitConfig
    from mvmocap.regressors.cmanet.model import CMANet
    from mvmocap.regressors.cmanet.training import TrainConfig, train
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-clips", type=int, default=4)
    parser.add_argument("--test-clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--steps", type=int, default=150, help="per stage; the one-stage regimes get twice as many")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smplify-iterations", type=int, default=100, help="the SMPLify targets' Adam iterations (the paper: 100)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    train_clips = clips(body, args.train_clips, args.seed, args.frames, args.cameras)
    test_clips = clips(body, args.test_clips, args.seed + TEST_SEED_OFFSET, args.frames, args.cameras)
    detections = detections_of(train_clips)
    order = torch.randperm(len(detections), generator=torch.Generator().manual_seed(args.seed))
    batches = [detections[order[i:i + args.batch_size]] for i in range(0, len(order), args.batch_size)]
    config = TrainConfig(lr=args.lr, smplify=ViewFitConfig(sigma_px=10.0, iterations=args.smplify_iterations))
    print(f"{args.train_clips} train clips x {args.frames} frames ({len(detections)} frame-sets, {len(batches)} "
          f"batches of {args.batch_size}), {args.test_clips} test clips, {args.cameras} cameras, high_wide / gesturing, "
          f"noisy detections; {args.steps} steps per stage, lr {args.lr}, SMPLify {args.smplify_iterations} iterations, seed {args.seed}")
    print(f"{'row':16} {'PA-MPJPE mm':>11} {'train s':>8}  last losses")
    torch.manual_seed(args.seed)
    initial = CMANet().state_dict()
    regimes = {"untrained": [], "two-stage": [("intra", args.steps), ("inter", args.steps)],
               "joint": [("joint", 2 * args.steps)], "inter-view only": [("inter-only", 2 * args.steps)]}
    for name, schedule in regimes.items():
        progress(f"row {name!r}: start")
        model = CMANet()
        model.load_state_dict(initial)
        began = time.perf_counter()
        last = {}
        for stage, steps in schedule:
            records = train(model, batches, stage, steps, body, config)
            last[stage] = records[-1]["loss"]
        seconds = time.perf_counter() - began
        losses = ", ".join(f"{k} {v:.3f}" for k, v in last.items())
        print(f"{name:16} {score(model, body, test_clips):11.1f} {seconds:8.0f}  {losses}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
