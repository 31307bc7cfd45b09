"""Shared pieces of the CRA benchmarks (Table 4, Table 5, speed): loading runs, the synthetic test
views, and per-view scores.

Test views: ``--samples`` samples of :class:`mvmocap.synth.dataset.SyntheticMultiView` with the
run's own data options (``render_size``, noise, pose and rig families), no augmentation, seed
``SEED_OFFSET + seed``; every view of every sample is one single-view test example. Scores per view:
PA-MPJPE (COCO-17, mm) and PVE (every ``render_stride``-th vertex, root-aligned, mm) of the final
prediction in the camera's axes against the truth in the same axes.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED_OFFSET = 9_000_000


def load_run(spec: str):
    """``(net, meta)`` of a ``train-synthetic`` run folder, its ``checkpoint.pt`` or a slim export."""
    from mvmocap.regressors.cra.inference import load_network
    from mvmocap.train.checkpoint import checkpoint_path

    return load_network(checkpoint_path(spec))


def parse_rows(specs: list[str]) -> list[tuple[str, list[str]]]:
    """``NAME=RUN[,RUN...]`` -> ``[(NAME, [RUN, ...])]`` (several runs = training seeds of one row)."""
    rows = []
    for spec in specs:
        name, _, runs = spec.partition("=")
        if not runs:
            raise SystemExit(f"error: --row {spec!r}: expected NAME=RUN[,RUN...]")
        rows.append((name, [r for r in runs.split(",") if r]))
    return rows


def test_batches(meta: dict, samples: int, seed: int, body, chunk: int = 16) -> list[dict]:
    """The test samples (see the module docstring) in chunks of ``chunk``."""
    from mvmocap.regressors.cra.training import CRAMethod
    from mvmocap.synth import evidence as ev
    from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView

    data = dict(meta["train_config"]["data"])
    cfg = replace(SynthConfig.from_dict({**data, **CRAMethod.data_overrides}), augment=ev.AugmentConfig.none())
    ds = SyntheticMultiView(body, cfg, length=samples, seed=SEED_OFFSET + seed)
    return [ds.batch(list(range(i, min(samples, i + chunk)))) for i in range(0, samples, chunk)]


def score_views(net, body, batches: list[dict], part_drop: float = 0.0, limb_drop: float = 0.0,
                seed: int = 0, multiview: bool = False) -> dict[str, float]:
    """Mean PA-MPJPE and PVE (mm) over every valid view of ``batches``, the dense evidence's coarse
    parts masked with ``part_drop`` and the limb keypoints removed with ``limb_drop`` (the paper's
    Table 5 damage; drawn from a generator seeded with ``seed``, the same draws for every network).

    ``multiview``: also ``mv_pa_mpjpe`` / ``mv_pve``, one body per sample from its views, fused as
    ``reconstruct --method cra`` fuses them (:func:`fused_sample_bodies`)."""
    from mvmocap.evaluate import metrics
    from mvmocap.regressors.cra.inference import alignment_residual
    from mvmocap.regressors.cra.inputs import drop_coarse_part, remove_limb_joints, view_evidence
    from mvmocap.regressors.cra.model import BodyDecoder
    from mvmocap.regressors.cra.training import flat_views, view_targets

    options = net.options
    decoder = BodyDecoder.for_body(body, int(options["parts"]), int(options["render_stride"]))
    gen = torch.Generator().manual_seed(seed)
    pa, pve, mv_pa, mv_pve = [], [], [], []
    with torch.no_grad():
        for batch in batches:
            labels = drop_coarse_part(flat_views(batch["iuv"]), part_drop, gen)
            keypoints = remove_limb_joints(flat_views(batch["keypoints_crop"]), limb_drop, gen)
            evidence = view_evidence(keypoints, labels, int(options["parts"]), float(options["sigma"]))
            decoded = decoder.decode(net(evidence, decoder)["theta"])
            target = view_targets(batch, int(options["crop"]), int(options["render_stride"]))
            ok = flat_views(batch["view_valid"]).bool()
            pa.append(metrics.pa_mpjpe(decoded["joints"][ok], target["joints"][ok]))
            pve.append(metrics.pve(decoded["vertices"][ok], target["vertices"][ok],
                                   decoded["joints"][ok], target["joints"][ok]))
            if multiview:
                residual = alignment_residual(decoded, evidence, decoder)
                fused, first = fused_sample_bodies(decoder, decoded, residual, batch["view_valid"].bool())
                B, C = batch["view_valid"].shape
                rows = torch.arange(B) * C + first
                mv_pa.append(metrics.pa_mpjpe(fused["joints"], target["joints"][rows]))
                mv_pve.append(metrics.pve(fused["vertices"], target["vertices"][rows],
                                          fused["joints"], target["joints"][rows]))
    scores = {"pa_mpjpe": float(torch.cat(pa).mean()), "pve": float(torch.cat(pve).mean()),
              "views": int(sum(len(p) for p in pa))}
    if multiview:
        scores.update(mv_pa_mpjpe=float(torch.cat(mv_pa).mean()), mv_pve=float(torch.cat(mv_pve).mean()),
                      samples=int(sum(len(p) for p in mv_pa)))
    return scores


def fused_sample_bodies(decoder, decoded: dict, residual, valid) -> tuple[dict, "torch.Tensor"]:
    """One body per sample from its ``C`` views' predictions (``decoded``: ``(B * C, ...)``), with
    :mod:`mvmocap.regressors.cra.multiview`'s weights (``view_weights`` of the alignment
    ``residual (B * C,)``, 0 for invalid views) and rotation average of the body pose; betas the
    weighted mean. The root rotation is the first valid view's (PA-MPJPE does not see it).
    Returns ``({"joints": (B, 17, 3), "vertices": (B, V', 3)}`` root-relative, that view's axes,
    ``first (B,)``)."""
    from mvmocap.regressors.cra.alignment import root_of
    from mvmocap.regressors.cra.inputs import NUM_JOINTS
    from mvmocap.regressors.cra.multiview import average_rotations, view_weights

    B, C = valid.shape
    weights = view_weights(residual.reshape(B, C), valid)  # (B, C)
    pose = average_rotations(decoded["body_pose"].reshape(B, C, -1, 3, 3).transpose(1, 2), weights[:, None, :])
    betas = (decoded["betas"].reshape(B, C, -1) * weights[..., None]).sum(1)
    first = torch.argmax(valid.to(torch.int8), dim=1)
    root = decoded["global_orient"].reshape(B, C, 3, 3)[torch.arange(B), first]
    out = decoder.body_model(global_orient=root, body_pose=pose, betas=betas)
    joints = out.coco23[:, :NUM_JOINTS]
    origin = root_of(joints)
    vertices = out.vertices[:, : decoder.body_model.num_vertices: decoder.stride] - origin
    return {"joints": joints - origin, "vertices": vertices}, first


def mean_and_spread(values: list[float]) -> tuple[float, float]:
    """Mean and spread (largest minus smallest) of per-seed values."""
    return sum(values) / len(values), (max(values) - min(values)) if len(values) > 1 else 0.0
