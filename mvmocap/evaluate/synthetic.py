"""The fixed, seeded synthetic benchmark: ground-truth cameras, detector-like 2D noise, known bodies.

``run_benchmark("triangulation", seed=0, n=500, views=4)`` generates the same ``n`` samples for a
given (seed, views, body model) — procedural poses of every family, shapes, rigs of every family
that allows ``views`` cameras, the default :class:`~mvmocap.synth.evidence.DetectorNoise`, no
augmentation — runs a method and returns the metrics of :mod:`mvmocap.evaluate.metrics`
(COCO-17 joints of the body model; PVE when the method gives vertices).

Methods (``method`` argument):

* a built-in estimator (``gt``, the ground truth itself, a sanity check that scores 0;
  ``triangulation``, the reconstruct pipeline's multi-view left/right repair then robust
  triangulation of the noisy 2D joints, joints only; ``triangulation_raw``, the same without the
  repair) or a regressor's (declared in its package, :func:`mvmocap.methods.estimators`);
* a training output folder or checkpoint file written by ``mvmocap train-synthetic``;
* any ``--method`` spec (:mod:`mvmocap.methods`: ``fit``, ``<regressor>``, ``<regressor>+fit``),
  run sample by sample with that sample's rig, on repaired keypoints and triangulated joints as
  ``mvmocap reconstruct`` runs it.

An estimator is ``f(batch, body_model, device) -> {"joints3d": (B, 17, 3) m, world frame,
optionally "vertices": (B, V, 3) m}``, ``batch`` a dict from
:class:`~mvmocap.synth.dataset.SyntheticMultiView`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch

from mvmocap.errors import InputError
from mvmocap.evaluate import metrics
from mvmocap.synth import evidence as ev
from mvmocap.synth.batch_geometry import batch_rig, coco23_with_repaired_sides, triangulate_batch
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
from mvmocap.synth.pose_sampler import FAMILIES

Estimator = Callable[[dict, Any, str], dict]
_ESTIMATORS: dict[str, Estimator] = {}
BENCHMARK_SEED_OFFSET = 9_000_000  # keeps benchmark samples apart from training seeds 0, 1, ...


def register_estimator(name: str) -> Callable[[Estimator], Estimator]:
    """Decorator registering a benchmark method under ``name``."""

    def decorate(function: Estimator) -> Estimator:
        _ESTIMATORS[name] = function
        return function

    return decorate


def available_estimators() -> list[str]:
    """The built-in estimators' names and the regressors' (:func:`mvmocap.methods.estimators`)."""
    from mvmocap.methods import estimators

    return sorted({**_ESTIMATORS, **estimators()})


@register_estimator("gt")
def _ground_truth(batch: dict, body_model, device: str) -> dict:
    out = {"joints3d": batch["joints3d"]}
    if "vertices" in batch:
        out["vertices"] = batch["vertices"]
    return out


@register_estimator("triangulation")
def _triangulation(batch: dict, body_model, device: str) -> dict:
    """The pipeline's geometric joints: left/right repair, then robust triangulation (joints only)."""
    return {"joints3d": triangulate_batch(batch).points.to(torch.float32)}


@register_estimator("triangulation_raw")
def _triangulation_raw(batch: dict, body_model, device: str) -> dict:
    """Robust triangulation of the detections as they are (no left/right repair; joints only)."""
    return {"joints3d": triangulate_batch(batch, repair=False).points.to(torch.float32)}


def benchmark_config(views: int) -> SynthConfig:
    """The benchmark's data: default noise, no augmentation, vertices returned."""
    return SynthConfig(views=views, augment=ev.AugmentConfig.none(), return_vertices=True)


def benchmark_dataset(body_model, seed: int = 0, n: int = 500, views: int = 4) -> SyntheticMultiView:
    """The fixed benchmark set (sample i depends only on seed, i, views and the body model)."""
    if n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    return SyntheticMultiView(body_model, benchmark_config(views), length=n, seed=BENCHMARK_SEED_OFFSET + seed)


def _fit_adapter(spec: str) -> Estimator:
    """Run a :mod:`mvmocap.fit` method sample by sample (each sample has its own rig), fed as the
    reconstruct pipeline feeds it: left/right-repaired keypoints and robustly triangulated joints."""
    from mvmocap.fit import MethodInputs
    from mvmocap.methods import resolve_method

    method = resolve_method(spec)

    def estimate(batch: dict, body_model, device: str) -> dict:
        joints, verts = [], []
        for i in range(batch["K"].shape[0]):
            rig = batch_rig(batch, i)
            kp = coco23_with_repaired_sides(batch, i, rig)  # (C, 23, 3)
            tri = rig.triangulate_robust(kp[..., :2], kp[..., 2])
            inputs = MethodInputs(keypoints_2d=kp[None].float(), rig=rig, body_model=body_model,
                                  joints3d=tri.points[None].float(), joints3d_confidence=tri.confidence[None].float(),
                                  progress=False)
            p = method(inputs).params.to(dtype=torch.float32, device="cpu")
            out = body_model(global_orient=p.global_orient, body_pose=p.body_pose, betas=p.betas, transl=p.transl)
            joints.append(out.coco23[:, :17])
            verts.append(out.vertices)
        return {"joints3d": torch.cat(joints), "vertices": torch.cat(verts)}

    return estimate


def resolve_estimator(method: str, device: str = "cpu") -> Estimator:
    """The estimator for ``method`` (see the module docstring); :class:`InputError` if none matches."""
    from mvmocap.methods import estimators

    known = {**_ESTIMATORS, **estimators()}
    if method in known:
        return known[method]
    path = Path(method)
    if path.exists():
        from mvmocap.train.checkpoint import load_estimator

        return load_estimator(path, device=device)
    try:
        return _fit_adapter(method)
    except InputError as exc:
        raise InputError(
            f"unknown benchmark method {method!r}: not one of {', '.join(available_estimators())}, "
            f"not a training run or checkpoint, and not a fit method ({exc})"
        ) from None


def run_benchmark(
    method: str, seed: int = 0, n: int = 500, views: int = 4, device: str = "cpu",
    body_model=None, batch_size: int = 50, progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Evaluate ``method`` on the fixed synthetic benchmark.

    Returns a JSON-ready dict: ``metrics`` (mpjpe, mpjpe_abs, pa_mpjpe, n_mpjpe, pve in mm; pck150,
    auc in [0, 1]), ``per_family`` (mpjpe and pa_mpjpe per pose family), and what was run
    (method, seed, n, views, body model, noise model source, seconds).
    """
    if body_model is None or isinstance(body_model, str):
        body_model = load_body(body_model)
    estimator = resolve_estimator(method, device)
    data = benchmark_dataset(body_model, seed=seed, n=n, views=views)
    preds_j, gts_j, preds_v, gts_v, families = [], [], [], [], []
    start = time.perf_counter()
    for lo in range(0, n, batch_size):
        batch = data.batch(list(range(lo, min(n, lo + batch_size))))
        with torch.no_grad():
            pred = estimator(batch, body_model, device)
        preds_j.append(pred["joints3d"].detach().cpu().float())
        gts_j.append(batch["joints3d"])
        families.append(batch["pose_family"])
        if "vertices" in pred:
            preds_v.append(pred["vertices"].detach().cpu().float())
            gts_v.append(batch["vertices"])
        if progress is not None:
            progress(min(n, lo + batch_size), n)
    seconds = time.perf_counter() - start
    pj, gj = torch.cat(preds_j), torch.cat(gts_j)
    pv = torch.cat(preds_v) if len(preds_v) == len(preds_j) and preds_v else None
    gv = torch.cat(gts_v) if pv is not None else None
    summary = metrics.summarize(pj, gj, pv, gv)
    fam = torch.cat(families)
    per_family = {}
    for i, name in enumerate(FAMILIES):
        sel = fam == i
        if sel.any():
            per_family[name] = {
                "n": int(sel.sum()),
                "mpjpe": float(metrics.mpjpe(pj[sel], gj[sel]).mean()),
                "pa_mpjpe": float(metrics.pa_mpjpe(pj[sel], gj[sel]).mean()),
            }
    return {
        "benchmark": "synthetic",
        "method": method,
        "seed": seed,
        "n": n,
        "views": views,
        "body_model": getattr(body_model, "name", "?"),
        "noise_model": data.config.noise.source,
        "metrics": summary,
        "per_family": per_family,
        "seconds": round(seconds, 2),
    }


def format_table(result: dict) -> str:
    """One Markdown table row block for README: method, MPJPE, PA-MPJPE, N-MPJPE, PVE, PCK@150, AUC."""
    m = result["metrics"]
    pve = f"{m['pve']:.1f}" if "pve" in m else "n/a"
    head = "| method | MPJPE | PA-MPJPE | N-MPJPE | PVE | PCK@150 | AUC |\n|---|---|---|---|---|---|---|\n"
    return head + (
        f"| {result['method']} | {m['mpjpe']:.1f} | {m['pa_mpjpe']:.1f} | {m['n_mpjpe']:.1f} | {pve} | "
        f"{100 * m['pck150']:.1f}% | {100 * m['auc']:.1f}% |"
    )
