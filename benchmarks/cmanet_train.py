"""Train the shipped ``cmanet`` (``models/regressors/cmanet.pt``): CMANet's stage 2 on frozen CRA, without labels.

CMANet's inter-view module (:class:`mvmocap.regressors.cmanet.on_cra.ViewFusion`) is trained through the library's
adapt loop (:func:`mvmocap.adapt.loop.adapt`, the loop ``mvmocap adapt --method cmanet`` runs) on in-memory
synthetic captures of the *training* domain: clips of the default pose families
(:data:`mvmocap.synth.pose_sampler.FAMILIES`, not the opt-in ``leg_raise`` / ``leaning`` / ``gesturing``)
filmed by rigs of the training rig families (:data:`mvmocap.synth.rig_sampler.TRAINING_RIG_FAMILIES`, not
the held-out ``high_wide``), 3, 4 or 5 cameras, detections in the ``noisy`` and ``occluded`` conditions of
:func:`mvmocap.synth.sequence.synthetic_capture` with rendered person masks (CRA-S reads silhouettes: the
real runs' detections carry the segmenter's masks, so the synthetic ones get the body's silhouette,
``mask_side`` px on the longer side). Only the 2D evidence and the cameras go in
(:func:`mvmocap.adapt.captures.capture_from_detections` with ``fit=False``): the loop solves the stage-2
targets (the uncalibrated multi-view SMPLify of CRA's views) itself, once, and never sees the ground truth.
None of the shared real data is used (it is the test set).

Then, on ``--test-captures`` other captures of the same domain (another seed), with the ground truth: MPJPE
and PA-MPJPE (COCO-17, mm) of ``cra`` (CRA's views fused by ``fuse_views``), the untrained module (the
screened start) and the trained one, in the same process. Finally the slim export (``--export``).

    python benchmarks/cmanet_train.py --out /tmp/cmanet_train --export models/regressors/cmanet.pt
    python benchmarks/cmanet_train.py --out /tmp/unused --evaluate models/regressors/cmanet.pt   # + the targets' row
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TRAIN_SEED = 24  # the issue's number: apart from the synthetic adapt benchmarks' seeds (0, 1, 1000, 1001)
TEST_SEED = 2400


def make_captures(body, count: int, seed: int, frames: int, mask_side: int, name: str):
    """``count`` synthetic captures of the training domain (:func:`mvmocap.regressors.cmanet.source.source_sequence`):
    ``(SyntheticCapture, Capture without a fit)`` pairs."""
    from mvmocap.adapt.captures import unfitted_captures
    from mvmocap.regressors.cmanet.source import source_sequence
    from mvmocap.synth.sequence import synthetic_capture

    truths = [synthetic_capture(body, source_sequence(index, frames, mask_side), seed, index) for index in range(count)]
    return unfitted_captures(truths, body, name)


def target_views(inputs, views, body):
    """CRA's ``views`` with the stage-2 targets in place of their bodies: each view's orientation from the
    uncalibrated multi-view SMPLify, its shared pose and shape (what the module is trained towards)."""
    from mvmocap.regressors.cmanet.on_cra import view_keypoints, view_targets
    from mvmocap.regressors.cra.views import ViewBodies

    kp23, _, _ = view_keypoints(inputs, views)
    orient, pose, betas = view_targets(kp23, views, inputs.rig.K.cpu(), body)
    F, C = views.valid.shape
    return ViewBodies(orient, pose[:, None].expand(F, C, 23, 3, 3), betas[:, None].expand(F, C, betas.shape[-1]),
                      views.weak_camera, views.crops, views.residual, views.valid)


def joint_errors(fusion, captures, body, teacher: bool = False) -> dict[str, tuple[float, float, int]]:
    """``{variant: (MPJPE mm, PA-MPJPE mm, frames)}`` of ``cra``, the untrained module (the screened start)
    and ``fusion`` (:func:`variant_errors`)."""
    from mvmocap.regressors.cmanet.on_cra import ViewFusion

    untrained = ViewFusion().eval()  # heads at zero: the screened start, whatever the attention weights
    return variant_errors({"cmanet untrained": untrained, "cmanet": fusion}, captures, body, teacher)


def variant_errors(fusions: dict, captures, body, teacher: bool = False) -> dict[str, tuple[float, float, int]]:
    """``{variant: (MPJPE mm, PA-MPJPE mm, frames)}`` over the frames every variant fused, COCO-17 against the
    truth: ``cra`` (CRA's views fused by ``fuse_views``), then each of ``fusions`` (``{name: inter-view
    module}``, fused the same way); ``teacher``: also the stage-2 targets (:func:`target_views`)."""
    from mvmocap.evaluate.metrics import mpjpe, pa_mpjpe
    from mvmocap.fit.inputs import evaluate_params
    from mvmocap.regressors.cra.inference import predict_views
    from mvmocap.regressors.cra.multiview import fuse_views

    names = ("cra", *fusions) + (("targets (teacher)",) if teacher else ())
    sums = {name: [0.0, 0.0] for name in names}
    count = 0
    for truth, capture in captures:
        inputs = capture.inputs
        views = predict_views(inputs)
        with torch.no_grad():
            bodies = {"cra": fuse_views(views, inputs)[0]}
            for name, module in fusions.items():
                bodies[name] = fuse_views(module(views), inputs)[0]
            if teacher:
                bodies["targets (teacher)"] = fuse_views(target_views(inputs, views, body), inputs)[0]
        valid = torch.stack([b.valid for b in bodies.values()]).all(0)
        gt = truth.joints17.to(torch.float64)[valid]
        for name, params in bodies.items():
            joints = evaluate_params(inputs, params).keypoints3d[:, :17].to(torch.float64)[valid]
            sums[name][0] += float(mpjpe(joints, gt).sum())
            sums[name][1] += float(pa_mpjpe(joints, gt).sum())
        count += int(valid.sum())
    return {name: (s[0] / max(count, 1), s[1] / max(count, 1), count) for name, s in sums.items()}


def adapt_stage2(start, body, captures, out: Path, steps: int, batch_size: int, lr: float, seed: int,
                 synthetic_every: int = 0, synthetic_batch: int = 8):
    """Stage 2 trained on ``captures`` through ``mvmocap adapt``'s loop (targets solved once, no clipping) from
    ``start`` (a cmanet checkpoint; None: a fresh module), with the drift guard every ``synthetic_every`` steps
    (0: off) -> (the trained method, the loop's result: ``seconds``, ``eval_start``, ``eval_end``; a one-line
    loss summary)."""
    from mvmocap.adapt import AdaptConfig, adapt
    from mvmocap.methods import adaptation_methods

    method, train_config, _ = adaptation_methods()["cmanet"](start, body)
    config = AdaptConfig(method="cmanet", steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                         refit_every=steps, grad_clip=0.0, log_every=10, checkpoint_every=0,
                         synthetic_every=synthetic_every, synthetic_batch=synthetic_batch)
    result = adapt(method, train_config, captures, out, config, progress=False)
    losses = [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
              if r["split"] == "train"]
    first, last = result["eval_start"], result["eval_end"]
    summary = (f"self-supervised loss {first['loss']:.4f} -> {last['loss']:.4f} (every training frame), weak-projection "
               f"{first['regressor_px']:.1f} -> {last['regressor_px']:.1f} px median; train lines {losses[0]:.4f} -> "
               f"{losses[-1]:.4f}")
    return method, result, summary


def main(argv: list[str] | None = None) -> int:
    from mvmocap.regressors.cmanet.on_cra import save_fusion
    from mvmocap.regressors.cmanet.source import SOURCE_CAMERAS, SOURCE_CONDITIONS
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the adapt run's folder (checkpoint.pt, metrics.jsonl)")
    parser.add_argument("--export", type=Path, default=None, help="write the slim checkpoint here")
    parser.add_argument("--captures", type=int, default=24)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--test-captures", type=int, default=4)
    parser.add_argument("--mask-side", type=int, default=480)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0, help="the frames of each step")
    parser.add_argument("--evaluate", type=Path, default=None,
                        help="no training: score this cmanet checkpoint on the test captures, with the targets' row")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    began = time.perf_counter()
    body = load_body(None)
    if args.evaluate is not None:
        from mvmocap.regressors.cmanet.on_cra import load_fusion

        test = make_captures(body, args.test_captures, TEST_SEED, args.frames, args.mask_side, "test")
        print(f"{args.evaluate} on the in-domain synthetic test: {len(test)} captures x {args.frames} frames "
              f"(seed {TEST_SEED}), ground truth, COCO-17")
        print(f"{'variant':17} {'MPJPE mm':>9} {'PA-MPJPE mm':>12} {'frames':>7}")
        for name, (e, pa, n) in joint_errors(load_fusion(args.evaluate), test, body, teacher=True).items():
            print(f"{name:17} {e:9.1f} {pa:12.1f} {n:7d}", flush=True)
        return 0
    train = make_captures(body, args.captures, TRAIN_SEED, args.frames, args.mask_side, "train")
    families = sorted({t.rig_family for t, _ in train})
    print(f"{len(train)} training captures x {args.frames} frames (seed {TRAIN_SEED}; cameras {SOURCE_CAMERAS}, conditions "
          f"{SOURCE_CONDITIONS}, rig families {', '.join(families)}; masks {args.mask_side} px) in "
          f"{time.perf_counter() - began:.0f} s", flush=True)
    method, result, summary = adapt_stage2(None, body, [c for _, c in train], args.out, args.steps, args.batch_size,
                                           args.lr, args.seed)
    print(f"stage 2: {args.steps} steps, batch {args.batch_size}, lr {args.lr}, seed {args.seed} in {result['seconds']:.0f} s; "
          f"{summary}", flush=True)
    fusion = method.net.eval()
    if args.test_captures:
        test = make_captures(body, args.test_captures, TEST_SEED, args.frames, args.mask_side, "test")
        print(f"in-domain synthetic test: {len(test)} captures x {args.frames} frames (seed {TEST_SEED}), ground truth, COCO-17")
        print(f"{'variant':17} {'MPJPE mm':>9} {'PA-MPJPE mm':>12} {'frames':>7}")
        for name, (e, pa, n) in joint_errors(fusion, test, body).items():
            print(f"{name:17} {e:9.1f} {pa:12.1f} {n:7d}", flush=True)
    if args.export is not None:
        provenance = {"script": "benchmarks/cmanet_train.py", "captures": args.captures, "frames": args.frames,
                      "train_seed": TRAIN_SEED, "mask_side": args.mask_side, "steps": args.steps,
                      "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                      "eval_loss": [float(result["eval_start"]["loss"]), float(result["eval_end"]["loss"])]}
        save_fusion(fusion, args.export, extra={"training": provenance})
        print(f"wrote {args.export}")
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
