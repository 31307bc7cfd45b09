"""Scores of the sequence benchmark: per-frame errors of one method on one clip, pooled over clips.

Calibrated (the method had the true cameras; everything in the true world frame, metres in,
millimetres out; COCO-17 joints; frames without an output are left out and counted by coverage):

* ``mpjpe``: root-aligned (pelvis = mean of the hips) mean joint error;
* ``pa_mpjpe``: after each frame's similarity (Procrustes with scale) alignment;
* ``pve``: mean vertex error, each mesh shifted by its own joints' root (methods with a mesh);
* ``pck50``: share of joints within 50 mm after root alignment;
* ``coverage``: share of the frames with an output; ``joint_share``: share of the 17 joints given
  in those frames (below 1 for joints-only methods that miss some; errors are means over the
  joints given, the similarity fitted on them).

Uncalibrated (the method had no cameras; :func:`uncalibrated_frame_errors`): the truth is taken
into camera 0's frame with the true camera 0, the estimate into its own camera 0's frame (its
world when it returns no cameras), and each frame's joints are aligned by a similarity transform
onto the truth; ``mpjpe`` and ``pa_mpjpe`` are then the same number, ``pck50`` is taken after that
alignment, ``pve`` moves the vertices with the joints' alignment, and ``rotation_error_deg`` is the
mean over cameras c >= 1 of the angle between the estimated and the true relative rotation
``R_c R_0^T`` (invariant to the estimate's choice of world).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mvmocap.evaluate import metrics
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.procrustes import apply_similarity, similarity_procrustes
from mvmocap.geometry.rotations import rotation_angle_between

PCK_MM = 50.0
FRAME_METRICS = ("mpjpe", "pa_mpjpe", "pve", "pck50")


def _masked_mean(values: Tensor, known: Tensor) -> Tensor:
    """Mean ``(...)`` of ``values (..., N)`` over the ``known (..., N)`` entries."""
    k = known.to(values.dtype)
    return (values * k).sum(-1) / k.sum(-1).clamp(min=1)


def calibrated_frame_errors(pred_joints: Tensor, gt_joints: Tensor, known: Tensor | None = None,
                            pred_vertices: Tensor | None = None, gt_vertices: Tensor | None = None) -> dict[str, Tensor]:
    """Per-frame scores ``{name: (N,)}`` for ``(N, 17, 3)`` joints, world metres, over the ``known (N, 17)``
    joints (all if None; both hips must be known), and ``(N, V, 3)`` vertices."""
    pred, gt = pred_joints.double(), gt_joints.double()
    known = torch.ones(pred.shape[:-1], dtype=torch.bool) if known is None else known
    root_error = (metrics.root_align(pred) - metrics.root_align(gt)).norm(dim=-1) * 1000.0
    s, R, t = similarity_procrustes(pred, gt, known.to(pred.dtype))
    aligned_error = (apply_similarity(pred, s, R, t) - gt).norm(dim=-1) * 1000.0
    out = {
        "mpjpe": _masked_mean(root_error, known),
        "pa_mpjpe": _masked_mean(aligned_error, known),
        "pck50": _masked_mean((root_error < PCK_MM).double(), known),
    }
    if pred_vertices is not None and gt_vertices is not None:
        out["pve"] = metrics.pve(pred_vertices.double(), gt_vertices.double(), pred, gt)
    return out


def to_camera0(points: Tensor, rig: CameraRig | None) -> Tensor:
    """``points (..., N, 3)`` world -> camera 0's frame of ``rig`` (unchanged when ``rig`` is None)."""
    if rig is None:
        return points
    R, t = rig.R[0].to(points.dtype), rig.t[0].to(points.dtype)
    return points @ R.T + t


def uncalibrated_frame_errors(pred_joints: Tensor, gt_joints: Tensor, pred_rig: CameraRig | None, gt_rig: CameraRig,
                              known: Tensor | None = None, pred_vertices: Tensor | None = None,
                              gt_vertices: Tensor | None = None) -> dict[str, Tensor]:
    """Per-frame scores ``{name: (N,)}`` in camera 0's frame after each frame's similarity alignment
    (fitted on the ``known (N, 17)`` joints, all if None)."""
    pred_rig = None if pred_rig is None else pred_rig.to(torch.float64)
    pred = to_camera0(pred_joints.double(), pred_rig)
    gt = to_camera0(gt_joints.double(), gt_rig.to(torch.float64))
    known = torch.ones(pred.shape[:-1], dtype=torch.bool) if known is None else known
    s, R, t = similarity_procrustes(pred, gt, known.to(pred.dtype))
    error = (apply_similarity(pred, s, R, t) - gt).norm(dim=-1) * 1000.0  # (N, 17) mm
    out = {"mpjpe": _masked_mean(error, known), "pa_mpjpe": _masked_mean(error, known),
           "pck50": _masked_mean((error < PCK_MM).double(), known)}
    if pred_vertices is not None and gt_vertices is not None:
        pv = apply_similarity(to_camera0(pred_vertices.double(), pred_rig), s, R, t)
        gv = to_camera0(gt_vertices.double(), gt_rig.to(torch.float64))
        out["pve"] = ((pv - gv).norm(dim=-1) * 1000.0).mean(-1)
    return out


def relative_rotation_errors_deg(estimate: CameraRig, truth: CameraRig) -> Tensor:
    """``(C - 1,)`` degrees: angle between the estimated and the true ``R_c R_0^T`` for c = 1..C-1."""
    Re, Rt = estimate.R.to(torch.float64), truth.R.to(torch.float64)
    rel_e = Re[1:] @ Re[0].T
    rel_t = Rt[1:] @ Rt[0].T
    return torch.rad2deg(rotation_angle_between(rel_t, rel_e))


class Pool:
    """Per-frame scores and coverage of one (cell, method), pooled over clips."""

    def __init__(self) -> None:
        self.frames = 0
        self.covered = 0
        self.scores: dict[str, list[Tensor]] = {}
        self.rotation_errors: list[Tensor] = []
        self.joints_scored = 0
        self.seconds = 0.0
        self.failures: list[str] = []

    def add(self, frames: int, scores: dict[str, Tensor] | None, seconds: float = 0.0,
            rotation_errors: Tensor | None = None, joints_scored: int = 0) -> None:
        """One clip: ``frames`` in it, the covered frames' ``scores`` (None: no output), the number
        of joints scored in them."""
        self.frames += frames
        self.seconds += seconds
        self.joints_scored += joints_scored
        if scores:
            self.covered += int(next(iter(scores.values())).numel())
            for name, values in scores.items():
                self.scores.setdefault(name, []).append(values.detach().double().reshape(-1))
        if rotation_errors is not None:
            self.rotation_errors.append(rotation_errors.double().reshape(-1))

    def summary(self) -> dict:
        """Means over the covered frames (mm; pck50 and coverage in [0, 1]); None where nothing was measured."""
        out: dict = {name: None for name in FRAME_METRICS}
        for name, parts in self.scores.items():
            values = torch.cat(parts)
            out[name] = float(values.mean()) if values.numel() else None
        out["coverage"] = self.covered / self.frames if self.frames else 0.0
        out["joint_share"] = self.joints_scored / (17 * self.covered) if self.covered else 0.0
        out["frames"] = self.frames
        if self.rotation_errors:
            out["rotation_error_deg"] = float(torch.cat(self.rotation_errors).mean())
        out["seconds"] = round(self.seconds, 2)
        if self.failures:
            out["failures"] = list(self.failures)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
