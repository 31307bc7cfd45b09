"""``mvmocap adapt`` on the shared demo, scored in a held-out camera (#24 acceptance 2, first part).

For each held-out camera ``h`` (a fold): adapt the volumetric network on frames ``--adapt-frames``
of the other cameras (the reconstruct folder ``--run``, e.g. ``reconstruct --method fit`` of the
demo; the run's own 4-camera fit never enters the cache: :func:`mvmocap.adapt.captures.load_capture`
with a camera subset), then, on frames ``--test-frames`` seen by the same cameras, run the shipped
and the adapted network (``volumetric-net``: the network alone; ``volumetric``: plus the bone-length
shape and limb IK), project their COCO-17 joints into ``h`` and compare with ``h``'s detections
(:func:`mvmocap.evaluate.heldout.heldout_errors`): median pixels and the ratio adapted / shipped with
a paired moving-block bootstrap interval (:func:`mvmocap.evaluate.bootstrap.median_ratio_interval`,
blocks of 10 frames), all in one process.

``--test-run``: score on another reconstruct folder of the same rig (adaptation to a rig, not to one
clip: adapt on ``Trial_1``, score ``Trial_2`` of ``../shared/data/pose2sim_batch``); default: ``--run``.
A multi-person test run (``reconstruct --max-people N``) is scored per person, each against that
person's own detections in the held-out camera (:func:`benchmarks.people_runs.person_runs`).
``--run`` takes several folders of the same rig (adapt on all of them, e.g. ``Trial_1`` and the demo);
the held-out camera is left out of every one.

    python benchmarks/adapt_demo.py --run /tmp/bench_demo --out /tmp/adapt_demo [--steps 150] [--lr 1e-4] [--synthetic-every N] [--folds cam01 ...]
    python benchmarks/adapt_demo.py --run /tmp/a2/Trial_1 --test-run /tmp/a2/Trial_2 --adapt-frames 0:100 --test-frames 0:100 --out /tmp/a2/trials ...
    python benchmarks/adapt_demo.py --run /tmp/a2/Trial_1 [/tmp/bench_demo] --test-run /tmp/a3/Trial_2mp --adapt-frames 0:100 --test-frames 0:100 --out /tmp/a3/trials ...
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MIN_CONFIDENCE = 0.2  # the triangulation threshold, as eval heldout-camera


def _frames(text: str) -> tuple[int, int]:
    start, _, stop = text.partition(":")
    return int(start), int(stop)


def score(run: Path, body, cameras: list[str], held_out: str, frames: tuple[int, int], checkpoint,
          keypoint_ik: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out errors ``(F, 17)`` px and mask of a checkpoint's regressor on ``frames`` of ``cameras``."""
    from mvmocap.adapt.captures import load_capture, select
    from mvmocap.detect.run import load as load_detections
    from mvmocap.evaluate.heldout import heldout_errors
    from mvmocap.fit.inputs import evaluate_params
    from mvmocap.io.calibration import load_rig
    from mvmocap.regressors.volumetric.inference import regress

    capture = select(load_capture(run, body, cameras=cameras), frames)
    params = regress(capture.inputs, checkpoint=checkpoint, keypoint_ik=keypoint_ik)
    points = evaluate_params(capture.inputs, params).keypoints3d
    rig_h = load_rig(run / "cameras.yaml").subset([held_out])
    det_h = torch.from_numpy(load_detections(run / "work").subset_cameras([held_out]).keypoints[0])
    return heldout_errors(points, params.valid, rig_h, det_h[frames[0]:frames[1]].to(torch.float64), MIN_CONFIDENCE)


def main(argv: list[str] | None = None) -> int:
    from mvmocap.adapt import AdaptConfig, run as adapt_run
    from mvmocap.evaluate.bootstrap import median_ratio_interval
    from mvmocap.io.calibration import load_rig
    from mvmocap.synth.dataset import load_body
    from benchmarks.people_runs import person_runs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, nargs="+", required=True,
                        help="reconstruct output folder(s) of one rig to adapt on (the demo)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--test-run", type=Path, default=None, help="score on this reconstruct folder of the same rig (default: --run)")
    parser.add_argument("--folds", nargs="*", default=None)
    parser.add_argument("--adapt-frames", type=_frames, default=(0, 60))
    parser.add_argument("--test-frames", type=_frames, default=(60, 100))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--refit-every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic-every", type=int, default=0, help="the drift guard (0 = off)")
    parser.add_argument("--betas-weight", type=float, default=0.001, help="the betas' share of L_Theta")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = list(load_rig(args.run[0] / "cameras.yaml").names)
    test_run = args.test_run or args.run[0]
    test_runs = person_runs(test_run)
    for other in [*args.run[1:], *test_runs]:
        other_names = list(load_rig(other / "cameras.yaml").names)
        if sorted(other_names) != sorted(names):
            raise SystemExit(f"{other} has cameras {other_names}, {args.run[0]} {names}: not the same rig")
    body = load_body(None)
    print(f"adapt on {', '.join(map(str, args.run))} frames {args.adapt_frames[0]}:{args.adapt_frames[1]}, test on {test_run} frames "
          f"{args.test_frames[0]}:{args.test_frames[1]} in the held-out camera; {args.steps} steps, lr {args.lr}, batch {args.batch_size}, "
          f"refit every {args.refit_every}, synthetic every {args.synthetic_every or '-'}, betas weight {args.betas_weight}, seed {args.seed}")
    print(f"test runs: {', '.join(str(t) for t in test_runs)}")
    print(f"{'fold':6} {'test':9} {'variant':15} {'shipped px':>10} {'adapted px':>10} {'ratio':>7} {'95% interval':>15} "
          f"{'points':>6}  adapt s  self-sup. loss")
    for h in args.folds or names:
        cameras = [n for n in names if n != h]
        out = args.out / h
        began = time.perf_counter()
        result = adapt_run(list(args.run), out, AdaptConfig(steps=args.steps, lr=args.lr, batch_size=args.batch_size,
                                                         refit_every=args.refit_every, seed=args.seed,
                                                         frames=args.adapt_frames, cameras=tuple(cameras),
                                                         synthetic_every=args.synthetic_every,
                                                         betas_weight=args.betas_weight,
                                                         checkpoint_every=0), progress=False)
        seconds = time.perf_counter() - began
        loss = f"{result['eval_start']['loss']:.3f} -> {result['eval_end']['loss']:.3f}"
        for test in test_runs:
            label = test.name if len(test_runs) > 1 else "-"
            for variant, ik in (("volumetric-net", False), ("volumetric", True)):
                e0, m0 = score(test, body, cameras, h, args.test_frames, None, ik)
                e1, m1 = score(test, body, cameras, h, args.test_frames, out / "checkpoint.pt", ik)
                shared = m0 & m1
                low, high = median_ratio_interval(e0, shared, e1, shared, block=10,
                                                  generator=torch.Generator().manual_seed(0))
                p0, p1 = float(e0[shared].median()), float(e1[shared].median())
                print(f"{h:6} {label:9} {variant:15} {p0:10.2f} {p1:10.2f} {p1 / p0:7.3f} {low:7.3f}-{high:.3f} "
                      f"{int(shared.sum()):6d}  {seconds:7.0f}  {loss}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
