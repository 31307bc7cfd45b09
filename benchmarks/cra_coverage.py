"""Coverage when only one camera sees the person for a stretch (issue #23, acceptance 3).

Usage: python benchmarks/cra_coverage.py [--clips 3] [--seed 0] [--condition noisy]
           [--oracle-noise-deg 10] [--cra] [--checkpoint CRA.pt] [--anchors 0 0.03 0.1] [--json OUT.json]

Synthetic sequence benchmark clips (:func:`mvmocap.synth.sequence.synthetic_capture`: 90 frames at
30 fps, 4 cameras of the training rig families, the ``--condition`` detector model), then cameras
2-4 lose the person for frames 30-59 (their detections there set to nothing, as a lost track
gives): only camera 1 sees those 30 frames. Every row runs in this process on the same clips, fed
as ``reconstruct`` feeds them (:func:`mvmocap.evaluate.sequence_methods.calibrated_inputs`):

* ``fit``: the plain fit; it gives nothing on the single-view frames (fewer than two views);
* ``fit, interpolated``: the same run's parameters on the frames it marks invalid, which it fills by
  interpolating across the gap (scored as if valid): what the gap shows without a single-view method;
* ``oracle+fit``: a DEVELOPMENT STAND-IN, NOT A RESULT FOR CRA: per-view bodies (``ViewBodies``)
  made from the ground truth with noise (each view's root and joint rotations turned by
  ``--oracle-noise-deg`` degrees per axis (s.d.), betas +- 0.3, the weak camera's scale +- 5 %,
  random residuals), fused by :func:`mvmocap.regressors.cra.multiview.fuse_views` and refined by
  the fit with its single-view frames (:mod:`mvmocap.fit.single_view`). It exercises the
  multi-view use of a per-view regressor, not a network;
* ``oracle``: the same stand-in's fused bodies alone, without the fit (what ``oracle+fit`` starts from);
* ``oracle+fit, anchor A[/nobridge]`` (``--anchors``, tuning; ``cra+fit, ...`` with ``--cra``): that
  method with the single-view hips' anchor confidence set to ``A`` (:data:`mvmocap.fit.single_view.ANCHOR_CONFIDENCE`), and with
  ``/nobridge`` the starts not bridged to their triangulated neighbours (``BRIDGE_STRETCHES``);
* ``cra`` and ``cra+fit`` (``--cra``): the registry's ``cra`` regressor (views fused, then refined), once
  the CRA network is built and registered (``--checkpoint`` sets ``$MVMOCAP_CRA_CHECKPOINT``); without it
  the row says so. With ``--cra`` the captures carry person masks (the silhouettes CRA-S reads, rendered
  at the sequence benchmark's size), cleared where the person is lost.

Columns: coverage (frames with a body, of 90), PA-MPJPE (mm, COCO-17, per-frame similarity
alignment) on the single-view frames 30-59 and on the multi-view frames (the other 60), and the
ratio single / multi; each row's multi-view error is compared with ``fit``'s on the same frames; and the
position error (mm, the mid-hip's distance to the true one, no alignment: what PA-MPJPE does not see,
the depth a single camera hardly observes).
Acceptance for ``cra+fit``: coverage 100 %, single-view <= 2.5 x its multi-view, multi-view no worse
than ``fit``'s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FRAMES, FPS, CAMERAS = 90, 30.0, 4
LOST = slice(30, 60)  # the frames cameras 2-4 lose the person
LOST_CAMERAS = (1, 2, 3)
SEED_OFFSET = 9_100_000  # apart from the sequence benchmark's and the training seeds
MIN_VIEW_JOINTS = 6  # detections a view needs for the stand-in to "run" on it
INTERPOLATED = "fit, interpolated"
ANCHOR_ROW = "+fit, anchor"  # tuning rows: "<regressor>+fit, anchor A[/nobridge]"
HIPS = (11, 12)  # COCO-17 left and right hip: their midpoint is the body's position


def lose_the_person(capture, frames: slice = LOST, cameras=LOST_CAMERAS):
    """The capture with ``cameras`` seeing nobody in ``frames``: keypoints, boxes and masks cleared."""
    from benchmarks.cra_demo import blank

    visible = capture.visible.clone()
    visible[frames, list(cameras)] = False
    return dataclasses.replace(capture, detections=blank(capture.detections, list(cameras), frames), visible=visible)


def oracle_views(capture, keypoints: torch.Tensor, noise_deg: float, generator: torch.Generator):
    """DEVELOPMENT STAND-IN: the :class:`ViewBodies` a per-view regressor would give if it were the ground
    truth plus noise (see the module docstring); views with fewer than MIN_VIEW_JOINTS detections are invalid."""
    from mvmocap.geometry.rotations import axis_angle_to_matrix
    from mvmocap.regressors.cra.views import ViewBodies

    clip, rig = capture.posed.clip, capture.rig.to(torch.float64)
    T, C = keypoints.shape[:2]
    sigma = math.radians(noise_deg)
    turn = lambda *shape: axis_angle_to_matrix(sigma * torch.randn(*shape, 3, generator=generator,  # noqa: E731
                                                                   dtype=torch.float64))
    world = axis_angle_to_matrix(clip.global_orient.double())  # (T, 3, 3)
    global_orient = rig.R[None] @ world[:, None] @ turn(T, C)
    body_pose = axis_angle_to_matrix(clip.body_pose.double())[:, None] @ turn(T, C, 23)
    betas = clip.betas.double()[None, None] + 0.3 * torch.randn(T, C, clip.betas.shape[-1], generator=generator,
                                                               dtype=torch.float64)
    mid_hip = capture.posed.coco23[:, 11:13].double().mean(-2)  # (T, 3)
    depth = rig.depths(mid_hip[:, None])[..., 0]  # (T, C)
    pixel = rig.project(mid_hip[:, None], distort=False)[..., 0, :]  # (T, C, 2) undistorted pinhole
    seen = keypoints[..., 2] > 0
    valid = seen.sum(-1) >= MIN_VIEW_JOINTS
    big = torch.full_like(keypoints[..., 0], 1e9)
    low = torch.stack([torch.where(seen, keypoints[..., i], big).amin(-1) for i in (0, 1)], -1)
    high = torch.stack([torch.where(seen, keypoints[..., i], -big).amax(-1) for i in (0, 1)], -1)
    centre = torch.where(valid[..., None], (low + high) / 2, pixel)
    side = torch.where(valid, 1.2 * (high - low).amax(-1), torch.full_like(depth, 200.0)).clamp(min=32.0)
    focal = (rig.K[:, 0, 0] + rig.K[:, 1, 1]) / 2
    scale = 2 * focal / (depth.clamp(min=0.1) * side) * (1 + 0.05 * torch.randn(T, C, generator=generator,
                                                                                  dtype=torch.float64))
    shift = (pixel - centre) / (side[..., None] / 2) / scale[..., None]
    weak = torch.cat([scale[..., None], shift], -1)
    residual = 0.02 + 0.18 * torch.rand(T, C, generator=generator, dtype=torch.float64)
    return ViewBodies(global_orient.float(), body_pose.float(), betas.float(), weak.float(),
                      torch.cat([centre, side[..., None]], -1).float(), residual.float(), valid)


def register_oracle(views) -> None:
    """``--method oracle`` for this clip: the fused stand-in views, sliced to the frames the fit asks for."""
    from mvmocap.methods import register_regressor
    from mvmocap.regressors.cra.multiview import regress_with
    from mvmocap.regressors.spec import RegressorSpec

    def predict_views(inputs):
        frames = inputs.extras.get("frames")
        if frames is None:
            return views
        idx = torch.as_tensor(frames, dtype=torch.long)
        return type(views)(*(getattr(views, f.name)[idx] for f in dataclasses.fields(views)))

    register_regressor(RegressorSpec("oracle", regress_with(predict_views),
                                     "DEVELOPMENT STAND-IN: ground truth + noise as per-view bodies"))


def run_with_anchor(method: str, inputs, run_method):
    """``run_method(method, inputs)``; a ``<regressor>+fit, anchor A[/nobridge]`` row runs ``<regressor>+fit``
    with the fit's single-view anchor confidence ``A`` (and no bridging) for this call only (a tuning aid)."""
    import mvmocap.fit.single_view as single_view

    if ANCHOR_ROW not in method:
        return run_method(method, inputs)
    kept = single_view.ANCHOR_CONFIDENCE, single_view.BRIDGE_STRETCHES
    anchor, _, bridge = method.split()[-1].partition("/")
    single_view.ANCHOR_CONFIDENCE, single_view.BRIDGE_STRETCHES = float(anchor), bridge != "nobridge"
    try:
        return run_method(method.split(",")[0], inputs)
    finally:
        single_view.ANCHOR_CONFIDENCE, single_view.BRIDGE_STRETCHES = kept


def score(estimate, truth: torch.Tensor) -> dict:
    """Coverage and PA-MPJPE (mm) of a method's :class:`SequenceEstimate` on the single- and multi-view frames."""
    from mvmocap.evaluate.sequence_scores import calibrated_frame_errors

    single = torch.zeros(FRAMES, dtype=torch.bool)
    single[LOST] = True
    v = estimate.valid
    errors = torch.full((FRAMES,), float("nan"), dtype=torch.float64)
    root = torch.full((FRAMES,), float("nan"), dtype=torch.float64)
    if bool(v.any()):
        errors[v] = calibrated_frame_errors(estimate.joints[v], truth[v], estimate.known[v])["pa_mpjpe"]
        mid_hip = lambda joints: joints[:, list(HIPS)].double().mean(-2)  # noqa: E731
        root[v] = 1000.0 * (mid_hip(estimate.joints[v]) - mid_hip(truth[v])).norm(dim=-1)
    return {"valid": v.tolist(), "pa_mpjpe": errors.tolist(), "root": root.tolist(), "single": single.tolist(),
            "seconds": estimate.seconds}


def summarise(per_clip: list[dict]) -> dict:
    """Pooled over clips: coverage (all frames, single-view frames) and mean PA-MPJPE on each kind of frame."""
    valid = torch.tensor([c["valid"] for c in per_clip])
    errors = torch.tensor([c["pa_mpjpe"] for c in per_clip], dtype=torch.float64)
    root = torch.tensor([c["root"] for c in per_clip], dtype=torch.float64)
    single = torch.tensor([c["single"] for c in per_clip])

    def mean(mask, values=errors):
        picked = values[mask & valid]
        return float(picked.mean()) if picked.numel() else float("nan")

    return {"coverage": float(valid.double().mean()), "coverage_single": float(valid[single].double().mean()),
            "pa_single": mean(single), "pa_multi": mean(~single),
            "root_single": mean(single, root), "root_multi": mean(~single, root),
            "seconds_per_clip": sum(c["seconds"] for c in per_clip) / len(per_clip)}


def main(argv: list[str] | None = None) -> int:
    from mvmocap.evaluate.sequence import MASK_SIDE
    from mvmocap.evaluate.sequence_methods import MethodFailed, calibrated_inputs, run_method
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.synth.dataset import load_body
    from mvmocap.synth.motion import MotionConfig
    from mvmocap.synth.sequence import SequenceConfig, synthetic_capture

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--condition", default="noisy", choices=["clean", "noisy", "occluded"])
    parser.add_argument("--oracle-noise-deg", type=float, default=10.0)
    parser.add_argument("--cra", action="store_true", help="also run cra+fit (the CRA network, once registered)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="the CRA checkpoint for --cra")
    parser.add_argument("--anchors", nargs="*", default=[],
                        help="tuning: also run oracle+fit with these single-view anchor confidences "
                             "(mvmocap.fit.single_view.ANCHOR_CONFIDENCE, set for that row only); "
                             "A/nobridge also turns BRIDGE_STRETCHES off")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    methods = ["fit", "oracle", "oracle+fit"]
    if args.cra or args.checkpoint:
        if args.checkpoint:
            os.environ["MVMOCAP_CRA_CHECKPOINT"] = str(args.checkpoint)
        methods += ["cra", "cra+fit"]
    body = load_body(None)
    masks = MASK_SIDE if "cra+fit" in methods else 0  # CRA-S reads the person's silhouette, as the sequence benchmark
    config = SequenceConfig(cameras=CAMERAS, condition=args.condition,
                            motion=MotionConfig(frames=FRAMES, fps=FPS), mask_side=masks)
    tuned = "cra" if "cra+fit" in methods else "oracle"
    methods += [f"{tuned}{ANCHOR_ROW} {a}" for a in args.anchors]
    methods.insert(1, INTERPOLATED)  # scored from fit's run, not run itself
    results: dict[str, list[dict]] = {m: [] for m in methods}
    failures: dict[str, list[str]] = {m: [] for m in methods}
    start = time.perf_counter()
    for index in range(args.clips):
        capture = lose_the_person(synthetic_capture(body, config, SEED_OFFSET + args.seed, index))
        inputs = calibrated_inputs(capture, body)
        g = torch.Generator().manual_seed(SEED_OFFSET + 1000 * args.seed + index)
        register_oracle(oracle_views(capture, inputs.keypoints_2d, args.oracle_noise_deg, g))
        truth = capture.joints17.double()
        for method in (m for m in methods if m != INTERPOLATED):
            try:
                estimate = run_with_anchor(method, inputs, run_method)
            except MethodFailed as exc:
                failures[method].append(f"clip {index}: {exc}")
                continue
            results[method].append(score(estimate, truth))
            if method == "fit":
                every = torch.ones_like(estimate.valid)
                filled = dataclasses.replace(estimate, valid=every, known=every[:, None].expand_as(estimate.known))
                results[INTERPOLATED].append(score(filled, truth))
        print(f"clip {index + 1}/{args.clips} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)

    summary = {m: summarise(r) for m, r in results.items() if r}
    fit_multi = summary.get("fit", {}).get("pa_multi", float("nan"))
    print(f"## Coverage with one camera for frames 30-59 ({args.clips} clips x {FRAMES} frames, 4 cameras, "
          f"{args.condition}; cameras 2-4 lose the person for frames 30-59; seed {args.seed})\n")
    print("| method | coverage | coverage 30-59 | PA-MPJPE single-view (mm) | PA-MPJPE multi-view (mm) | "
          "single / multi | multi / fit's multi | position single-view (mm) | position multi-view (mm) | s/clip |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for method in methods:
        if method not in summary:
            print(f"| {method} | failed: {'; '.join(failures[method])} |")
            continue
        s = summary[method]
        label = method + (" (STAND-IN: ground truth + noise, not CRA)" if method.startswith("oracle") else "")
        print(f"| {label} | {100 * s['coverage']:.1f} % | {100 * s['coverage_single']:.1f} % | {s['pa_single']:.1f} | "
              f"{s['pa_multi']:.1f} | {s['pa_single'] / s['pa_multi']:.2f} | {s['pa_multi'] / fit_multi:.3f} | "
              f"{s['root_single']:.0f} | {s['root_multi']:.0f} | {s['seconds_per_clip']:.1f} |")
    print(f"\n(all rows in this process, same clips; {time.perf_counter() - start:.0f} s)")
    if args.json:
        payload = {"settings": vars(args) | {"checkpoint": str(args.checkpoint) if args.checkpoint else None,
                                             "json": str(args.json)},
                   "summary": summary, "failures": failures, "clips": results}
        atomic_write_text(args.json, json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
