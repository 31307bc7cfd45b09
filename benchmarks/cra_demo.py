"""Real capture with one camera for a stretch (issue #23, acceptance 4): held-out-camera error on the frames
where three of the four cameras lost the person.

Usage: python benchmarks/cra_demo.py [--work /tmp/cra_demo] [--kept cam01 cam02 cam03 cam04]
           [--methods fit volumetric+fit] [--cra] [--checkpoint CRA.pt] [--demo DIR] [--json OUT.json]

``../shared/data/pose2sim_demo`` (4 cameras, 100 frames at 60 fps, Qualisys calibration): the
BlazePose detections (detected once into ``--work``, then reused), then for each camera ``k`` of
``--kept`` (a *fold*) the other three cameras' detections are blanked for frames 30-59 (keypoints,
boxes, masks: a detector that lost the person). The inputs are built as ``reconstruct`` builds them
(left/right repair, the confidence threshold, robust triangulation, the default fit settings) and
every method runs in this process on the same inputs.

Score (the ``eval heldout-camera`` protocol, :func:`mvmocap.evaluate.heldout.heldout_errors`): on
frames 30-59, each method's fitted COCO-17 joints projected into the three blanked cameras, pixel
distance to their own (withheld) detections; median px over the points, per fold and pooled.
Rows:

* every ``--method`` (``fit`` gives no body on those frames: fewer than two views; its coverage says so);
* ``fit, interpolated``: the plain fit's parameters on those frames, which it marks invalid
  (``valid = False``) and fills by interpolating across the gap: what the gap would show without a
  single-view method;
* ``fit, all cameras``: the plain fit on the unblanked detections, NOT held out (it saw the
  detections it is scored on): the floor a method seeing one camera can approach, for scale;
* ``cra`` and ``cra+fit`` (``--cra``): the registry's ``cra`` regressor (views fused; then refined) once
  it is registered (``--checkpoint`` sets ``$MVMOCAP_CRA_CHECKPOINT``).

No oracle row: real data has no ground truth to build one from.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared" / "data" / "pose2sim_demo"
LOST = slice(30, 60)


def blank(detections, cameras: list[int], frames: slice = LOST):
    """``detections`` with ``cameras`` seeing nobody in ``frames`` (keypoints, boxes and masks cleared)."""
    keypoints, boxes = detections.keypoints.copy(), detections.boxes.copy()
    for c in cameras:
        keypoints[c, frames] = 0.0
        boxes[c, frames] = 0.0
    masks = detections.masks
    if masks is not None:
        masks = [[None if (c in cameras and frames.start <= t < frames.stop) else m for t, m in enumerate(row)]
                 for c, row in enumerate(masks)]
    return dataclasses.replace(detections, keypoints=keypoints, boxes=boxes, masks=masks)


def method_inputs(detections, rig, body_model):
    """:class:`MethodInputs` as ``reconstruct`` builds them from detections and cameras."""
    from mvmocap.detect.left_right import fix_left_right
    from mvmocap.fit.inputs import MethodInputs
    from mvmocap.reconstruct.config import ReconstructConfig
    from mvmocap.reconstruct.pipeline import keypoints_tensor

    settings = ReconstructConfig()
    repaired, _ = fix_left_right(detections, rig)
    keypoints = keypoints_tensor(repaired, settings.triangulation.min_confidence)
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2],
                                 threshold_px=settings.triangulation.threshold_px)
    return MethodInputs(keypoints_2d=keypoints, rig=rig, body_model=body_model, joints3d=tri.points,
                        joints3d_confidence=tri.confidence, config=settings.fit_config(),
                        extras={"detections": repaired}, progress=False)


def body_joints(method: str, inputs) -> tuple[torch.Tensor, torch.Tensor, float]:
    """A registry method's COCO-23 joints ``(F, 23, 3)`` (every frame, interpolated where invalid), its
    ``valid (F,)`` and its seconds."""
    from mvmocap.methods import resolve_method

    start = time.perf_counter()
    params = resolve_method(method)(inputs).params.detach().to(torch.float32)
    seconds = time.perf_counter() - start
    F = params.num_frames
    with torch.no_grad():
        out = inputs.body_model(global_orient=params.global_orient, body_pose=params.body_pose,
                                betas=params.betas.expand(F, -1), transl=params.transl)
    return out.coco23.to(torch.float64), params.valid.clone(), seconds


def heldout(points: torch.Tensor, valid: torch.Tensor, rig, original, cameras: list[int],
            min_confidence: float) -> torch.Tensor:
    """Pixel errors (1D, the scored points) of ``points (F, 23, 3)`` on frames LOST in the blanked
    ``cameras`` against their original detections (``original.keypoints (C, F, 23, 3)``)."""
    from mvmocap.evaluate.heldout import heldout_errors

    errors = []
    for c in cameras:
        observed = torch.from_numpy(original.keypoints[c][LOST]).to(torch.float64)
        e, mask = heldout_errors(points[LOST], valid[LOST], rig.subset([rig.names[c]]), observed, min_confidence)
        errors.append(e[mask])
    return torch.cat(errors)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.demo_inputs import demo_detections_and_rig
    from mvmocap.body import load_body_model
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.reconstruct.config import ReconstructConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/cra_demo"))
    parser.add_argument("--kept", nargs="+", default=None, help="the cameras kept in turn (default: all four)")
    parser.add_argument("--methods", nargs="+", default=["fit", "volumetric+fit"])
    parser.add_argument("--cra", action="store_true")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--demo", type=Path, default=SHARED, help="the capture (default: ../shared's pose2sim_demo)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.demo.is_dir():
        print(f"error: {args.demo}: the shared demo is missing", file=sys.stderr)
        return 2

    methods = list(args.methods)
    if args.cra or args.checkpoint:
        if args.checkpoint:
            os.environ["MVMOCAP_CRA_CHECKPOINT"] = str(args.checkpoint)
        methods += ["cra", "cra+fit"]
    detections, rig = demo_detections_and_rig(args.demo, args.work / "work")
    rig = rig.to(torch.float64)
    body = load_body_model()
    min_confidence = ReconstructConfig().triangulation.min_confidence
    names = list(rig.names)
    kept = args.kept or names
    rows = methods + ["fit, interpolated", "fit, all cameras"]
    pooled: dict[str, list[torch.Tensor]] = {r: [] for r in rows}
    coverage: dict[str, list[float]] = {r: [] for r in rows}
    seconds: dict[str, list[float]] = {r: [] for r in rows}
    folds = []
    start = time.perf_counter()
    full = body_joints("fit", method_inputs(detections, rig, body))
    for keep in kept:
        lost = [i for i, n in enumerate(names) if n != keep]
        inputs = method_inputs(blank(detections, lost), rig, body)
        fold = {"kept": keep, "rows": {}}
        runs = {m: body_joints(m, inputs) for m in methods}
        runs["fit, interpolated"] = (runs["fit"][0], torch.ones_like(runs["fit"][1]), runs["fit"][2]) if "fit" in runs \
            else None
        runs["fit, all cameras"] = (full[0], full[1], full[2])
        for row in rows:
            if runs.get(row) is None:
                continue
            points, valid, secs = runs[row]
            errors = heldout(points, valid, rig, detections, lost, min_confidence)
            covered = float(valid[LOST].double().mean())
            fold["rows"][row] = {"median_px": float(errors.median()) if errors.numel() else float("nan"),
                                 "points": int(errors.numel()), "coverage_30_59": covered, "seconds": secs}
            pooled[row].append(errors)
            coverage[row].append(covered)
            seconds[row].append(secs)
        folds.append(fold)
        print(f"fold {keep} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)

    print(f"## pose2sim_demo, three cameras blanked for frames 30-59 (each of {', '.join(kept)} kept in turn): "
          "held-out-camera error on those frames\n")
    print("| method | coverage 30-59 | median px (pooled) | points | " + " | ".join(f"kept {k}" for k in kept) + " |")
    print("|---|---|---|---|" + "---|" * len(kept))
    for row in rows:
        if not pooled[row]:
            continue
        errors = torch.cat(pooled[row])
        median = f"{float(errors.median()):.2f}" if errors.numel() else "no body"
        per_fold = [f["rows"][row]["median_px"] for f in folds]
        cells = " | ".join("no body" if v != v else f"{v:.2f}" for v in per_fold)
        covered = 100 * sum(coverage[row]) / len(coverage[row])
        print(f"| {row} | {covered:.0f} % | {median} | {errors.numel()} | {cells} |")
    print("\n(`fit, interpolated`: the plain fit's invalid frames as it fills them; `fit, all cameras`: not held out, "
          f"it saw these detections. All rows in this process; {time.perf_counter() - start:.0f} s)")
    if args.json:
        atomic_write_text(args.json, json.dumps({"methods": methods, "folds": folds}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
