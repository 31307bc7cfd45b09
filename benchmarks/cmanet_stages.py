"""CMANet's two stages in the product path on a real capture, in a held-out camera (#24).

For each held-out camera ``h`` (a fold) of a reconstruct folder (``--run``), on frames ``--train-frames`` of the
other cameras, all through the library's adapt loop (:func:`mvmocap.adapt.run`), without labels:

1. stage 1, ``mvmocap adapt --method cra`` (:mod:`mvmocap.regressors.cmanet.intra_view`): the shipped CRA-S
   fine-tuned per view against each view's SMPLify (re-solved from the network every ``--stage1-refit``
   steps) and its keypoints;
2. stage 2, ``mvmocap adapt --method cmanet --checkpoint models/regressors/cmanet.pt`` twice: on the shipped
   CRA, frozen (``stage 2 only``, what the product did before stage 1 existed), and on the adapted CRA,
   frozen (``two stages``: ``$MVMOCAP_CRA_CHECKPOINT`` names stage 1's result, as a user would set it).

Then, on frames ``--test-frames`` of the same cameras, each variant's bodies are projected into ``h`` and
compared with ``h``'s detections (:func:`benchmarks.cmanet_cra.heldout`, median pixels; ratios with a paired
moving-block bootstrap interval, blocks of 10 frames), all in one process:
``cra`` (shipped) and ``cra stage 1`` (adapted; CRA's views fused by ``fuse_views``), ``cmanet shipped`` (the
shipped module on the shipped CRA), ``stage 2 only`` and ``two stages``.

    python benchmarks/cmanet_stages.py --run /tmp/a2/Trial_1 --out /tmp/stages [--folds cam01 ...]
    python benchmarks/cmanet_stages.py --run /tmp/a2/Trial_1 --test-run /tmp/a3/Trial_2mp --train-frames 0:100 --test-frames 0:100 --out ...

``--test-run``: score another reconstruct folder of the same rig (adaptation to a rig: train on ``Trial_1``, score
``Trial_2``), a multi-person one per person against that person's own detections (as ``cmanet_cra.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PAIRS = (("cra", "cra stage 1"), ("cmanet shipped", "stage 2 only"), ("cmanet shipped", "two stages"),
         ("stage 2 only", "two stages"), ("cra stage 1", "two stages"))


def adapt_fold(run: Path, out: Path, cameras: list[str], args, method: str, steps: int, batch: int, lr: float,
               refit_every: int, checkpoint: Path | None) -> float:
    """One adapt run on ``cameras`` of the train frames -> seconds."""
    from mvmocap.adapt import AdaptConfig
    from mvmocap.adapt import run as adapt_run

    config = AdaptConfig(method=method, checkpoint=None if checkpoint is None else str(checkpoint), steps=steps,
                         batch_size=batch, lr=lr, seed=args.seed, refit_every=refit_every, grad_clip=0.0,
                         frames=args.train_frames, cameras=tuple(cameras), log_every=10, checkpoint_every=0)
    began = time.perf_counter()
    adapt_run([run], out, config, progress=False)
    return time.perf_counter() - began


@contextmanager
def with_cra(checkpoint: Path | None):
    """``$MVMOCAP_CRA_CHECKPOINT`` names ``checkpoint`` inside (None: unset, the shipped CRA-S); restored after."""
    from mvmocap.regressors.cra.inference import CHECKPOINT_ENV

    saved = os.environ.pop(CHECKPOINT_ENV, None)
    if checkpoint is not None:
        os.environ[CHECKPOINT_ENV] = str(checkpoint)
    try:
        yield
    finally:
        os.environ.pop(CHECKPOINT_ENV, None)
        if saved is not None:
            os.environ[CHECKPOINT_ENV] = saved


def main(argv: list[str] | None = None) -> int:
    from benchmarks.cmanet_cra import fold_arguments, heldout, ratio_columns
    from benchmarks.people_runs import person_runs
    from mvmocap.adapt.captures import load_capture, select
    from mvmocap.io.calibration import load_rig
    from mvmocap.regressors.cmanet.on_cra import SHIPPED, load_fusion
    from mvmocap.regressors.cra.inference import predict_views
    from mvmocap.regressors.cra.multiview import fuse_views
    from mvmocap.synth.dataset import load_body

    parser = fold_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--test-run", type=Path, default=None,
                        help="score this reconstruct folder of the same rig, per person (default: --run)")
    parser.add_argument("--stage1-steps", type=int, default=200)
    parser.add_argument("--stage1-batch", type=int, default=4, help="frames per step (every view of them)")
    parser.add_argument("--stage1-lr", type=float, default=3e-5)
    parser.add_argument("--stage1-refit", type=int, default=100, help="re-solve the per-view SMPLify every N steps")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    names = list(load_rig(args.run / "cameras.yaml").names)
    print(f"train on {args.run} frames {args.train_frames[0]}:{args.train_frames[1]}, test frames "
          f"{args.test_frames[0]}:{args.test_frames[1]} in the held-out camera; stage 1: {args.stage1_steps} steps, "
          f"{args.stage1_batch} frames, lr {args.stage1_lr}, refit every {args.stage1_refit}; stage 2: {args.steps} "
          f"steps, batch {args.batch_size}, lr {args.lr}, from {SHIPPED.name}, targets solved once; seed {args.seed}")
    test_runs = person_runs(args.test_run or args.run)
    print(f"{'fold':6} {'test':9} {'base':15} {'variant':13} {'base px':>8} {'variant px':>10} {'ratio':>7} {'95% interval':>15} {'points':>6}")
    shipped_module = load_fusion(SHIPPED)
    for h in args.folds or names:
        cameras = [n for n in names if n != h]
        fold = args.out / h
        s1 = adapt_fold(args.run, fold / "stage1", cameras, args, "cra", args.stage1_steps, args.stage1_batch,
                        args.stage1_lr, args.stage1_refit, None)
        with with_cra(None):
            s2 = adapt_fold(args.run, fold / "stage2_only", cameras, args, "cmanet", args.steps, args.batch_size,
                            args.lr, args.steps, SHIPPED)
        with with_cra(fold / "stage1" / "checkpoint.pt"):
            s12 = adapt_fold(args.run, fold / "two_stages", cameras, args, "cmanet", args.steps, args.batch_size,
                             args.lr, args.steps, SHIPPED)
        for test_run in test_runs:
            test = select(load_capture(test_run, body, cameras=cameras), args.test_frames).inputs
            with torch.no_grad():
                with with_cra(None):
                    views = predict_views(test)
                    bodies = {"cra": fuse_views(views, test)[0],
                              "cmanet shipped": fuse_views(shipped_module(views), test)[0],
                              "stage 2 only": fuse_views(load_fusion(fold / "stage2_only")(views), test)[0]}
                with with_cra(fold / "stage1" / "checkpoint.pt"):
                    adapted = predict_views(test)
                    bodies["cra stage 1"] = fuse_views(adapted, test)[0]
                    bodies["two stages"] = fuse_views(load_fusion(fold / "two_stages")(adapted), test)[0]
            errors = {name: heldout(test_run, test, params, h, args.test_frames) for name, params in bodies.items()}
            label = test_run.name if len(test_runs) > 1 else "-"
            for base, variant in PAIRS:
                print(f"{h:6} {label:9} {base:15} {variant:13} {ratio_columns(errors[base], errors[variant])}", flush=True)
        print(f"{h:6} train seconds: stage 1 {s1:.0f}, stage 2 only {s2:.0f}, stage 2 on stage 1 {s12:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
