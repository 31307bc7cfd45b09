"""``mvmocap adapt`` under a synthetic domain shift (#24 acceptance 1).

Captures (:func:`mvmocap.synth.sequence.synthetic_capture`, realistic ``noisy`` detections) of the
held-out rig family ``high_wide`` and the held-out pose family ``gesturing``, which the shipped
volumetric network never saw: ``--train-clips`` clips are turned into what ``reconstruct --method
fit`` would leave (:func:`mvmocap.adapt.captures.capture_from_detections`: 2D evidence and cameras
only) and adapted on without labels; ``--test-clips`` other clips (other seeds) are scored against
their ground truth (COCO-17 PA-MPJPE and MPJPE of the network alone, ``volumetric-net``, frames
the network sees). Rows, every one from the same shipped start on the same clips in this process:

* ``fit (teacher)``: the captures' own multi-view SMPLify fits (what supervises at first), for reference;
* ``before``: the shipped network;
* ``2D loss only``: eq. 1 alone (``w_3d = w_theta = w_mesh = 0``, no refits used);
* ``full loop``: eq. 6 with the paper's weights, multi-view SMPLify refits from the network (the
  project's calibrated fit, ``--fit calibrated``);
* ``MV uncalibrated``: the same with the paper's uncalibrated MV-SMPLify (``--fit uncalibrated``:
  per-view orientation, shared pose and shape, :mod:`mvmocap.fit.uncalibrated`);
* ``single-view fit``: the same with SMPLify on each view alone (``--fit single-view``).

``adapt-clips``: the same PA-MPJPE on the clips adapted on (what the loop saw, without their labels).
The ``source`` columns: the same network on the fixed source benchmark (``eval --dataset synthetic``,
seed 0, the first ``--source-n`` samples, 4 views: the training domain), to see any drift.

    python benchmarks/adapt_synthetic.py [--train-clips 4] [--test-clips 2] [--frames 30] [--steps 150] [--lr 1e-4] [--synthetic-every N]

The issue's size (2,000 adapt / 500 test frame-sets): ``--train-clips 20 --test-clips 5 --frames 100
--source-n 500``. ``--out DIR`` keeps each row's adapt folder (``metrics.jsonl``: refits, losses, the
self-supervised ``eval`` lines) as ``DIR/<row>``; ``--adapt-score-clips K`` scores the ``adapt-clips``
column and the self-supervised loss (the loop's ``eval`` lines, ``self-sup. loss``) on the first ``K``
adapt clips only (time; the training still draws from all of them); the ``2D loss only`` row skips the
refits (its fit terms weigh 0); progress lines go to stderr.

Ground truth is read only here, to score; the adaptation gets captures without it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TEST_SEED_OFFSET = 1000


def clips(body, count: int, seed: int, frames: int, cameras: int, mask_side: int = 0):
    """``count`` clips of the shifted domain; ``mask_side`` > 0: with rendered person masks (CRA-S reads them)."""
    from mvmocap.evaluate.sequence import HELDOUT_POSE_FAMILY, HELDOUT_RIG_FAMILY
    from mvmocap.synth.motion import MotionConfig
    from mvmocap.synth.sequence import SequenceConfig, synthetic_capture

    config = SequenceConfig(cameras=cameras, condition="noisy", rig_families=(HELDOUT_RIG_FAMILY,), mask_side=mask_side,
                            motion=MotionConfig(frames=frames, pose_families=(HELDOUT_POSE_FAMILY,)))
    return [synthetic_capture(body, config, seed, index) for index in range(count)]


def score(method, captures, truths, fits: bool = False) -> dict[str, float]:
    """Mean PA-MPJPE / MPJPE (mm) over the frames the network sees: of the network alone, or
    (``fits``) of the captures' own fits."""
    from mvmocap.evaluate.metrics import mpjpe, pa_mpjpe

    pa, mp = [], []
    for capture, truth in zip(captures, truths):
        prepared = method.prepare(capture.inputs)
        params = capture.fit if fits else method.sequence_params(capture.inputs, prepared)
        with torch.no_grad():
            out = method.body_model(global_orient=params.global_orient, body_pose=params.body_pose,
                                    betas=params.betas.expand(params.num_frames, -1), transl=params.transl)
        ok = prepared.ok & params.valid
        pred, gt = out.coco23[:, :17][ok].double(), truth.joints17[ok].double()
        pa.append(pa_mpjpe(pred, gt))
        mp.append(mpjpe(pred, gt))
    return {"pa_mpjpe": float(torch.cat(pa).mean()), "mpjpe": float(torch.cat(mp).mean()),
            "frames": int(sum(len(p) for p in pa))}


def source_benchmark(method, name: str, n: int) -> dict[str, float]:
    """The fixed synthetic benchmark (seed 0, 4 views, ``n`` samples) of ``method``'s network alone."""
    from mvmocap.evaluate.synthetic import register_estimator, run_benchmark

    def estimate(batch, body_model, device):
        method.eval()
        return {"joints3d": method(batch)["joints3d"]}

    register_estimator(name)(estimate)
    return run_benchmark(name, seed=0, n=n, views=4, body_model=method.body_model)["metrics"]


def benchmark_steps(eval_captures: int, refits: bool):
    """The collaborative loop's steps with two savings for time, neither touching the training: the
    self-supervised ``eval`` lines over the first ``eval_captures`` captures only (0 = all), and,
    with ``refits`` False (the ``2D loss only`` row, whose fit terms weigh 0), no refit at all."""
    from mvmocap.adapt.steps import CollaborativeSteps

    class BenchmarkSteps(CollaborativeSteps):
        def refit(self, capture, prepared, cache, config):
            return super().refit(capture, prepared, cache, config) if refits else {"skipped": True}

        def evaluate(self, captures, prepared, caches, config):
            k = eval_captures or len(captures)
            return super().evaluate(captures[:k], prepared[:k], caches[:k], config)

    return BenchmarkSteps


def progress(message: str) -> None:
    """A timestamped progress line on stderr (the table stays on stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    from mvmocap.adapt import AdaptConfig, adapt
    from mvmocap.adapt.captures import capture_from_detections
    from mvmocap.methods import adaptation_methods
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-clips", type=int, default=4)
    parser.add_argument("--test-clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--refit-every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source-n", type=int, default=200)
    parser.add_argument("--synthetic-every", type=int, default=0, help="the drift guard (0 = off)")
    parser.add_argument("--betas-weight", type=float, default=0.001, help="the betas' share of L_Theta")
    parser.add_argument("--rows", nargs="*", default=None, help="only these rows (default: all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="keep each row's adapt folder as OUT/<row> (default: a temporary one)")
    parser.add_argument("--adapt-score-clips", type=int, default=0,
                        help="score the adapt-clips column on the first K adapt clips (0 = all)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    began = time.perf_counter()
    train_truth = clips(body, args.train_clips, args.seed, args.frames, args.cameras)
    train = [capture_from_detections(f"train{i}", sc.detections, sc.rig, body) for i, sc in enumerate(train_truth)]
    test_truth = clips(body, args.test_clips, args.seed + TEST_SEED_OFFSET, args.frames, args.cameras)
    test = [capture_from_detections(f"test{i}", sc.detections, sc.rig, body) for i, sc in enumerate(test_truth)]
    print(f"{len(train)} train clips x {args.frames} frames, {len(test)} test clips (other seeds), {args.cameras} "
          f"cameras, rig family high_wide, pose family gesturing, noisy detections; captures made in "
          f"{time.perf_counter() - began:.0f} s; {args.steps} steps, lr {args.lr}, batch 8, refit every "
          f"{args.refit_every}, synthetic every {args.synthetic_every or '-'}, betas weight {args.betas_weight}, seed {args.seed}; "
          f"adapt-clips column on {args.adapt_score_clips or len(train)} of the {len(train)} adapt clips", flush=True)
    load = adaptation_methods()["volumetric"]
    teacher = score(load(None, body)[0], test, test_truth, fits=True)
    base = AdaptConfig(steps=args.steps, lr=args.lr, refit_every=args.refit_every, seed=args.seed, checkpoint_every=0,
                       synthetic_every=args.synthetic_every, betas_weight=args.betas_weight)
    rows = {"before": None, "2D loss only": replace(base, weights={"w_2d": 5.0, "w_3d": 0.0, "w_theta": 0.0, "w_mesh": 0.0},
                                                     refit_every=args.steps),
            "full loop": base, "MV uncalibrated": replace(base, fit_mode="uncalibrated"),
            "single-view fit": replace(base, fit_mode="single-view")}
    seen_count = args.adapt_score_clips or len(train)
    print(f"{'row':16} {'PA-MPJPE mm':>11} {'MPJPE mm':>9} {'frames':>6} {'adapt s':>8} "
          f"{'source PA-MPJPE':>15} {'source MPJPE':>12} {'adapt-clips PA-MPJPE':>20} {'self-sup. loss':>16}",
          flush=True)
    train_teacher = score(load(None, body)[0], train[:seen_count], train_truth[:seen_count], fits=True)
    print(f"{'fit (teacher)':16} {teacher['pa_mpjpe']:11.1f} {teacher['mpjpe']:9.1f} {teacher['frames']:6d} "
          f"{'':8} {'':15} {'':12} {train_teacher['pa_mpjpe']:20.1f}", flush=True)
    for name, config in rows.items():
        if args.rows and name not in args.rows:
            continue
        progress(f"row {name!r}: start")
        method, train_config, _ = load(None, body)
        seconds, losses = 0.0, ""
        if config is not None:
            steps_class = benchmark_steps(args.adapt_score_clips, refits=name != "2D loss only")
            method.adaptation_steps = lambda: steps_class(method)
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) if args.out is None else args.out / name.replace(" ", "_")
                ran = adapt(method, train_config, train, out, config, progress=False)
            seconds = time.perf_counter() - t0
            losses = f"{ran['eval_start']['loss']:.4f} -> {ran['eval_end']['loss']:.4f}"
            progress(f"row {name!r}: adapted in {seconds:.0f} s")
        result = score(method, test, test_truth)
        source = source_benchmark(method, f"adapt-row-{len(name)}-{name}", args.source_n)
        seen = score(method, train[:seen_count], train_truth[:seen_count])
        print(f"{name:16} {result['pa_mpjpe']:11.1f} {result['mpjpe']:9.1f} {result['frames']:6d} {seconds:8.0f} "
              f"{source['pa_mpjpe']:15.1f} {source['mpjpe']:12.1f} {seen['pa_mpjpe']:20.1f} {losses:>16}", flush=True)
    print(f"total {time.perf_counter() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
