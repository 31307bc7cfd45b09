"""The paper's training loss (eq. 14), applied to every IEF iteration (deep supervision).

``L = w_theta MSE(R(theta_j)) + w_beta MSE(beta) + w_R sum_n MSE(R_h->cn)
    + w_v MSE(v^n) + w_j2d MSE(j2d^n) + w_j3d MSE(j3d^n)``

* rotations compared as matrices; the per-view orientations ``R_n @ R_go`` give the same
  Frobenius error in every view, so ``sum_n`` becomes ``C x`` the world orientation's (and the
  canonical rotation ``R_wh`` is supervised against ``R_go^T`` the same way);
* 3D joints (COCO-17) and vertices are compared root-relative (mid-hip), metres, in the world's
  axes (a rotation of both sides changes nothing);
* 2D joints: the root-relative 3D joints rotated into camera n and projected by the view's
  weak-perspective camera ``s * xy + (tx, ty)``, against the true projections in normalised
  crop coordinates ([-1, 1] across the crop).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.synth.evidence import to_crop

HIPS = (11, 12)

DEFAULT_WEIGHTS = {
    "w_theta": 1.0, "w_beta": 0.01, "w_R": 1.0, "w_v": 50.0, "w_j2d": 1.0, "w_j3d": 50.0,
    "iteration_weights": (0.25, 0.5, 1.0), "vertex_stride": 8,
}


def _root_relative(points: Tensor, joints: Tensor) -> Tensor:
    return points - joints[:, list(HIPS)].mean(-2, keepdim=True)


def weak_perspective(joints_rel: Tensor, R: Tensor, cams: Tensor) -> Tensor:
    """``(B, C, J, 2)`` normalised crop coordinates of root-relative world joints ``(B, J, 3)``
    seen by cameras ``R (B, C, 3, 3)`` through weak-perspective ``cams (B, C, 3)`` = (s, tx, ty)."""
    # cam[b, c, j, i] = sum_k R[b, c, i, k] * joints_rel[b, j, k]
    cam = torch.einsum("bcik,bjk->bcji", R, joints_rel)
    return cams[..., None, :1] * cam[..., :2] + cams[..., None, 1:]


def normalised_crop(points: Tensor, crops: Tensor, size: int = 2) -> Tensor:
    """Full-image pixels ``(..., J, 2)`` -> normalised crop coordinates in [-1, 1]."""
    return (to_crop(points, crops, size) + 0.5) / size * 2.0 - 1.0


def volumetric_loss(decoded: list[dict], R_wh: Tensor, cams: Tensor, batch: dict, weights: dict | None = None) -> tuple[Tensor, dict[str, float]]:
    """Total loss and its parts (of the last iteration) for the per-iteration ``decoded`` outputs
    of :func:`mvmocap.regressors.volumetric.model.decode` against a synthetic ``batch``."""
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    gt_go = axis_angle_to_matrix(batch["global_orient"])
    gt_pose = axis_angle_to_matrix(batch["body_pose"])
    valid = batch["view_valid"].to(cams.dtype)  # (B, C)
    C = valid.shape[1]
    gt_joints = _root_relative(batch["joints3d"], batch["joints3d"])
    stride = int(w["vertex_stride"])
    gt_verts = _root_relative(batch["vertices"][:, ::stride], batch["joints3d"]) if "vertices" in batch else None
    gt_2d = normalised_crop(batch["keypoints2d_gt"], batch["crop"])  # (B, C, J, 2)
    canonical = ((R_wh - gt_go.transpose(-1, -2)) ** 2).mean() * C
    total = w["w_R"] * canonical
    parts: dict[str, float] = {"loss_canonical": float(canonical.detach())}
    for k, (pred, it_w) in enumerate(zip(decoded, w["iteration_weights"])):
        pose = ((pred["body_pose"] - gt_pose) ** 2).mean()
        betas = ((pred["betas"] - batch["betas"]) ** 2).mean()
        orient = ((pred["global_orient"] - gt_go) ** 2).mean() * C
        joints_rel = _root_relative(pred["joints3d"], pred["joints3d"])
        j3d = ((joints_rel - gt_joints) ** 2).mean()
        j2d_err = ((weak_perspective(joints_rel, batch["R"], cams) - gt_2d) ** 2).mean((-1, -2))  # (B, C)
        j2d = (j2d_err * valid).sum() / valid.sum().clamp(min=1)
        term = w["w_theta"] * pose + w["w_beta"] * betas + w["w_R"] * orient + w["w_j3d"] * j3d + w["w_j2d"] * j2d
        if gt_verts is not None:
            v = ((_root_relative(pred["vertices"][:, ::stride], pred["joints3d"]) - gt_verts) ** 2).mean()
            term = term + w["w_v"] * v
        total = total + it_w * term
        if k == len(decoded) - 1:
            parts.update({
                "loss_pose": float(pose.detach()), "loss_betas": float(betas.detach()), "loss_orient": float(orient.detach()),
                "loss_j3d": float(j3d.detach()), "loss_j2d": float(j2d.detach()),
                "mpjpe_mm": float((joints_rel - gt_joints).norm(dim=-1).mean().detach() * 1000),
            })
            if gt_verts is not None:
                parts["loss_v"] = float(v.detach())
    return total, parts
