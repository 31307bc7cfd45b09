"""3D pose and mesh error metrics, in millimetres for inputs in metres.

Every function takes ``pred`` and ``gt`` of shape ``(..., N, 3)`` metres (N joints or vertices)
and returns per-sample errors ``(...)`` unless said otherwise. Alignments:

* MPJPE: after subtracting each skeleton's root (mean of the ``root`` joints; default: the
  two hips of COCO-17, i.e. the pelvis). ``root=None`` gives the absolute error.
* N-MPJPE (Rhodin et al. 2018): root-aligned, then ``pred`` scaled by the least-squares optimal
  factor ``s = <pred, gt> / <pred, pred>``.
* PA-MPJPE: after the optimal similarity transform (Procrustes: scale, rotation, translation).
* PVE: mean vertex error after subtracting the root of the *joints* (pass the joints' roots).
* PCK@t: share of joints with root-aligned error below ``t`` mm; AUC: mean over the thresholds
  0, 5, ..., 150 mm (Mehta et al. 2017) of the share of joints with error <= the threshold.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.procrustes import apply_similarity, similarity_procrustes

COCO17_HIPS = (11, 12)
AUC_THRESHOLDS_MM = tuple(float(t) for t in range(0, 151, 5))


def _check(pred: Tensor, gt: Tensor) -> None:
    if pred.shape != gt.shape or pred.shape[-1] != 3 or pred.dim() < 2:
        raise InputError(f"pred and gt must both have shape (..., N, 3); got {tuple(pred.shape)} and {tuple(gt.shape)}")


def root_align(points: Tensor, root: tuple[int, ...] | None = COCO17_HIPS, reference: Tensor | None = None) -> Tensor:
    """``points (..., N, 3)`` minus the mean of ``reference[..., root, :]`` (``reference`` = ``points`` if None)."""
    if root is None:
        return points
    ref = points if reference is None else reference
    return points - ref[..., list(root), :].mean(-2, keepdim=True)


def per_joint_errors(pred: Tensor, gt: Tensor, root: tuple[int, ...] | None = COCO17_HIPS) -> Tensor:
    """Euclidean errors ``(..., N)`` mm after root alignment."""
    _check(pred, gt)
    return (root_align(pred, root) - root_align(gt, root)).norm(dim=-1) * 1000.0


def mpjpe(pred: Tensor, gt: Tensor, root: tuple[int, ...] | None = COCO17_HIPS) -> Tensor:
    """Mean per-joint position error ``(...)`` mm (root-aligned; ``root=None``: absolute)."""
    return per_joint_errors(pred, gt, root).mean(-1)


def n_mpjpe(pred: Tensor, gt: Tensor, root: tuple[int, ...] | None = COCO17_HIPS) -> Tensor:
    """Scale-normalised MPJPE ``(...)`` mm: root-aligned, ``pred`` scaled optimally onto ``gt``."""
    _check(pred, gt)
    p, g = root_align(pred, root), root_align(gt, root)
    scale = (p * g).sum((-1, -2), keepdim=True) / (p * p).sum((-1, -2), keepdim=True).clamp(min=1e-12)
    return ((scale * p - g).norm(dim=-1) * 1000.0).mean(-1)


def pa_mpjpe(pred: Tensor, gt: Tensor) -> Tensor:
    """Procrustes-aligned MPJPE ``(...)`` mm (similarity transform of ``pred`` onto ``gt``)."""
    _check(pred, gt)
    p64, g64 = pred.to(torch.float64), gt.to(torch.float64)
    s, R, t = similarity_procrustes(p64, g64)
    aligned = apply_similarity(p64, s, R, t)
    return ((aligned - g64).norm(dim=-1) * 1000.0).mean(-1).to(pred.dtype)


def pve(
    pred_vertices: Tensor, gt_vertices: Tensor, pred_joints: Tensor | None = None, gt_joints: Tensor | None = None,
    root: tuple[int, ...] | None = COCO17_HIPS,
) -> Tensor:
    """Per-vertex error ``(...)`` mm; each mesh shifted by its own joints' root when joints are given."""
    _check(pred_vertices, gt_vertices)
    if pred_joints is not None and gt_joints is not None and root is not None:
        pred_vertices = root_align(pred_vertices, root, pred_joints)
        gt_vertices = root_align(gt_vertices, root, gt_joints)
    return ((pred_vertices - gt_vertices).norm(dim=-1) * 1000.0).mean(-1)


def pck(pred: Tensor, gt: Tensor, threshold_mm: float = 150.0, root: tuple[int, ...] | None = COCO17_HIPS) -> Tensor:
    """Share ``(...)`` in [0, 1] of joints closer than ``threshold_mm`` after root alignment."""
    return (per_joint_errors(pred, gt, root) < threshold_mm).to(pred.dtype).mean(-1)


def auc(
    pred: Tensor, gt: Tensor, thresholds_mm: tuple[float, ...] = AUC_THRESHOLDS_MM,
    root: tuple[int, ...] | None = COCO17_HIPS,
) -> Tensor:
    """Area under the PCK curve ``(...)`` in [0, 1]: mean PCK over ``thresholds_mm``."""
    err = per_joint_errors(pred, gt, root)
    th = torch.as_tensor(thresholds_mm, dtype=err.dtype, device=err.device)
    return (err.unsqueeze(-1) <= th).to(pred.dtype).mean((-1, -2))


def summarize(
    pred_joints: Tensor, gt_joints: Tensor, pred_vertices: Tensor | None = None, gt_vertices: Tensor | None = None,
) -> dict[str, float]:
    """All metrics averaged over the batch ``(B, N, 3)``: mpjpe, mpjpe_abs, pa_mpjpe, n_mpjpe (mm),
    pck150, auc (0..1), and pve (mm) when vertices are given."""
    out = {
        "mpjpe": float(mpjpe(pred_joints, gt_joints).mean()),
        "mpjpe_abs": float(mpjpe(pred_joints, gt_joints, root=None).mean()),
        "pa_mpjpe": float(pa_mpjpe(pred_joints, gt_joints).mean()),
        "n_mpjpe": float(n_mpjpe(pred_joints, gt_joints).mean()),
        "pck150": float(pck(pred_joints, gt_joints).mean()),
        "auc": float(auc(pred_joints, gt_joints).mean()),
    }
    if pred_vertices is not None and gt_vertices is not None:
        out["pve"] = float(pve(pred_vertices, gt_vertices, pred_joints, gt_joints).mean())
    return out
