"""The product ``--method cmanet`` under the synthetic domain shift of ``benchmarks/adapt_synthetic.py`` (#24 acceptance 1).

CMANet's inter-view module on frozen CRA-S (:mod:`mvmocap.regressors.cmanet.on_cra`), on the shifted clips of
``adapt_synthetic.py`` (:func:`benchmarks.adapt_synthetic.clips`: held-out rig family ``high_wide``, held-out pose
family ``gesturing``, ``noisy`` detections, ``--cameras`` cameras) with rendered person masks (``--mask-side``
px, as ``benchmarks/cmanet_train.py`` gives its training captures: CRA-S reads silhouettes). ``--train-clips``
clips go in as captures without labels and without a fit (:func:`mvmocap.adapt.captures.capture_from_detections`,
``fit=False``: 2D evidence and cameras only); ``--test-clips`` other clips (seeds ``seed + 1000``, as
``adapt_synthetic.py``) are scored against their ground truth exactly as ``cmanet_train.py`` scores its
in-domain test (:func:`benchmarks.cmanet_train.variant_errors`: MPJPE and PA-MPJPE, COCO-17, mm, over the frames
every row fused). Rows, all in this process, on the same frames:

* ``cra``: CRA's views fused by ``fuse_views`` (no inter-view module);
* ``cmanet shipped``: ``models/regressors/cmanet.pt`` (trained on the training domain);
* ``cmanet adapted``: the shipped module adapted without labels on the train clips through
  :func:`mvmocap.adapt.loop.adapt` (what ``mvmocap adapt --method cmanet --checkpoint models/regressors/cmanet.pt``
  runs; the README's example setting: ``--steps 300 --batch-size 16 --lr 1e-4``, targets solved once);
* with ``--synthetic-every N``, ``cmanet adapted`` has the drift guard (``mvmocap adapt --synthetic-every N``:
  stage 2's loss against the true parameters of captures of the module's training domain,
  :mod:`mvmocap.regressors.cmanet.source`); ``--also-unguarded`` adds ``adapted, no guard``, the same run
  without it;
* ``targets (teacher)``: the stage-2 targets of the test clips (the uncalibrated multi-view SMPLify of CRA's views),
  fused the same way: what the adaptation trains towards.

Then the source benchmark, to see any drift: ``cra``, the shipped and the adapted module on ``cmanet_train.py``'s
in-domain test (:func:`benchmarks.cmanet_train.make_captures`, its ``TEST_SEED``, ``--source-captures`` captures x
``--source-frames`` frames: the training domain), scored the same way (0 captures: skipped).

    python benchmarks/cmanet_shift.py --train-clips 20 --test-clips 5 --frames 100 --seed 0 --out DIR

Ground truth is read only here, to score; the adaptation gets captures without it. Progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def shifted_captures(body, count: int, seed: int, frames: int, cameras: int, mask_side: int, name: str):
    """``(SyntheticCapture, Capture without a fit)`` pairs of the shifted domain, with rendered masks."""
    from benchmarks.adapt_synthetic import clips
    from mvmocap.adapt.captures import unfitted_captures

    return unfitted_captures(clips(body, count, seed, frames, cameras, mask_side=mask_side), body, name)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.adapt_synthetic import TEST_SEED_OFFSET, progress
    from benchmarks.cmanet_train import TEST_SEED, adapt_stage2, make_captures, variant_errors
    from mvmocap.regressors.cmanet.on_cra import SHIPPED, load_fusion
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the adapt run's folder (checkpoint.pt, metrics.jsonl)")
    parser.add_argument("--train-clips", type=int, default=4)
    parser.add_argument("--test-clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--mask-side", type=int, default=480, help="the rendered masks' longer side (cmanet_train.py's)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0, help="the clips (as adapt_synthetic.py) and the frames of each step")
    parser.add_argument("--source-captures", type=int, default=4, help="cmanet_train.py's in-domain test (0 = skip)")
    parser.add_argument("--source-frames", type=int, default=60)
    parser.add_argument("--checkpoint", type=Path, default=SHIPPED, help="the cmanet module to start from")
    parser.add_argument("--synthetic-every", type=int, default=0,
                        help="the drift guard every N steps (mvmocap adapt's option; 0: off)")
    parser.add_argument("--synthetic-batch", type=int, default=8, help="the drift guard's labelled frames per step")
    parser.add_argument("--also-unguarded", action="store_true",
                        help="with --synthetic-every: also adapt without the guard (row 'adapted, no guard', same process)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    began = time.perf_counter()
    body = load_body(None)
    train = shifted_captures(body, args.train_clips, args.seed, args.frames, args.cameras, args.mask_side, "train")
    test = shifted_captures(body, args.test_clips, args.seed + TEST_SEED_OFFSET, args.frames, args.cameras,
                            args.mask_side, "test")
    print(f"{len(train)} train clips x {args.frames} frames (seed {args.seed}), {len(test)} test clips (seed "
          f"{args.seed + TEST_SEED_OFFSET}), {args.cameras} cameras, rig family high_wide, pose family gesturing, noisy "
          f"detections, masks {args.mask_side} px; captures made in {time.perf_counter() - began:.0f} s; start "
          f"{args.checkpoint}; {args.steps} steps, batch {args.batch_size}, lr {args.lr}, targets solved once; drift guard "
          f"{f'every {args.synthetic_every} steps, {args.synthetic_batch} frames' if args.synthetic_every else 'off'}",
          flush=True)

    progress("adapting the shipped module on the train clips")
    method, result, summary = adapt_stage2(args.checkpoint, body, [c for _, c in train], args.out, args.steps,
                                           args.batch_size, args.lr, args.seed, args.synthetic_every,
                                           args.synthetic_batch)
    print(f"adapted in {result['seconds']:.0f} s; {summary}", flush=True)
    fusions = {"cmanet shipped": load_fusion(args.checkpoint).eval(), "cmanet adapted": method.net.eval()}
    if args.also_unguarded and args.synthetic_every:
        progress("adapting the shipped module without the drift guard")
        plain, result, summary = adapt_stage2(args.checkpoint, body, [c for _, c in train], args.out / "unguarded",
                                              args.steps, args.batch_size, args.lr, args.seed)
        print(f"adapted without the guard in {result['seconds']:.0f} s; {summary}", flush=True)
        fusions["adapted, no guard"] = plain.net.eval()

    progress("scoring the test clips")
    print(f"shifted synthetic test: {len(test)} clips x {args.frames} frames, ground truth, COCO-17, the same frames "
          "for every row")
    print(f"{'variant':17} {'MPJPE mm':>9} {'PA-MPJPE mm':>12} {'frames':>7}")
    for name, (e, pa, n) in variant_errors(fusions, test, body, teacher=True).items():
        print(f"{name:17} {e:9.1f} {pa:12.1f} {n:7d}", flush=True)
    if args.source_captures:
        progress("scoring the source benchmark")
        source = make_captures(body, args.source_captures, TEST_SEED, args.source_frames, args.mask_side, "source")
        print(f"source benchmark (cmanet_train.py's in-domain test): {len(source)} captures x {args.source_frames} "
              f"frames (seed {TEST_SEED}), ground truth, COCO-17")
        print(f"{'variant':17} {'MPJPE mm':>9} {'PA-MPJPE mm':>12} {'frames':>7}")
        for name, (e, pa, n) in variant_errors(fusions, source, body).items():
            print(f"{name:17} {e:9.1f} {pa:12.1f} {n:7d}", flush=True)
    print(f"total {time.perf_counter() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
