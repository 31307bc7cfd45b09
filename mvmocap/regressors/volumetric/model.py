"""The volumetric progressive-aggregation network and its ``train-synthetic`` method ``volumetric``.

Pipeline (paper sections "Learnable volumetric calibration" and "Progressive multi-view
aggregation"), for B frame-sets of C calibrated views:

1. ``ViewEncoder``: per view, ``J`` joint heatmaps + a silhouette (``S x S`` crop) -> features
   ``F^n (Ch, S/4, S/4)``; ``WeakPerspectiveHead``: ``pi_n = (s, tx, ty)``.
2. Canonical rotation: ``F^n`` unprojected into a world-aligned cube around the triangulated
   pelvis, averaged over views -> ``CanonicalRotationHead`` -> ``R_wh`` (world -> human).
3. ``F^n`` unprojected into the human-aligned cube (``x_w = R_wh^T x_h + pelvis``) -> ``V_F^n``;
   the 2D occupancy ``O^n`` -> ``V_O^n``.
4. IEF: ``Theta_1`` from the consensus volume, ``Theta_2`` from the diversity volume, ``Theta_3``
   from the balance volume (views weighted by the consistency between the ``Theta_2`` mesh,
   rendered into each view, and the evidence).

World orientation of the body: ``R_wh^T @ R_res`` (``R_res`` the IEF's global residual);
translation: the predicted mid-hip placed on the triangulated pelvis.

Skeleton feedback (option ``joint_feedback``, an addition to the paper): the triangulated COCO-17
joints, pelvis-relative, also enter the canonical-rotation head (world axes) and every IEF
iteration (human-aligned axes), together with the residual between them and the joints of the
current estimate ``Theta_k`` -- the error that the iteration is to feed back. The 16^3 volume
(14 cm voxels) alone locates joints too coarsely for centimetre-level poses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_6d_to_matrix
from mvmocap.regressors.volumetric import aggregation as agg
from mvmocap.regressors.volumetric.encoder import ViewEncoder, WeakPerspectiveHead
from mvmocap.regressors.volumetric.evidence import (
    NUM_JOINTS, joint_heatmaps, occupancy, project, splat_silhouette,
)
from mvmocap.regressors.volumetric.ief import CanonicalRotationHead, IEFRegressor, initial_theta, split_theta
from mvmocap.regressors.volumetric.volume import cube_points, cube_to_world, unproject_crop

HIPS = (11, 12)

DEFAULT_OPTIONS: dict[str, Any] = {
    "grid": 16, "side": 2.2, "crop": 64, "sigma": 1.5, "features": 16, "width": 32, "hidden": 512,
    "consensus": True, "diversity": True, "balance": True, "occupancy_threshold": 0.1, "eps": 0.1,
    "balance_stride": 2, "joint_feedback": False,
}
JOINT_FEATURE_SCALE = 4.0  # metres -> the unit of the skeleton-feedback inputs (about +-1)


@dataclass
class ViewBatch:
    """The network's input for B frame-sets of C views (crop size S).

    Attributes:
        heatmaps: ``(B, C, 17, S, S)`` COCO-17 joint heatmaps in the crop.
        mask: ``(B, C, S, S)`` silhouette in [0, 1] (zeros when unknown).
        projection: ``(B, C, 3, 4)`` world metres -> crop pixels.
        pelvis: ``(B, 3)`` world metres, the triangulated mid-hip.
        valid: ``(B, C)`` bool, False = a missing view.
        joints3d: ``(B, 17, 3)`` world metres, the triangulated COCO-17 joints (for the skeleton
            feedback; None = unknown).
        joints_seen: ``(B, 17)`` in [0, 1], 0 where a joint was not triangulated.
    """

    heatmaps: Tensor
    mask: Tensor
    projection: Tensor
    pelvis: Tensor
    valid: Tensor
    joints3d: Tensor | None = None
    joints_seen: Tensor | None = None

    def rows(self, index) -> "ViewBatch":
        """The frame-sets ``index`` (a slice or an index tensor) of every field."""
        pick = lambda t: None if t is None else t[index]  # noqa: E731
        return ViewBatch(*(pick(getattr(self, f)) for f in
                           ("heatmaps", "mask", "projection", "pelvis", "valid", "joints3d", "joints_seen")))

    def skeleton(self) -> tuple[Tensor, Tensor]:
        """``(joints3d (B, 17, 3), joints_seen (B, 17))``, zeros when unknown."""
        B = self.valid.shape[0]
        if self.joints3d is None:
            zeros = self.pelvis.new_zeros(B, NUM_JOINTS)
            return self.pelvis[:, None].expand(B, NUM_JOINTS, 3), zeros
        seen = self.joints_seen if self.joints_seen is not None else self.pelvis.new_ones(B, NUM_JOINTS)
        return self.joints3d, seen.to(self.pelvis.dtype)


def upright_world_to_human(dtype=torch.float32) -> Tensor:
    """World (+Z up) -> human rest frame (+Y up) of a body facing the world's -Y axis."""
    # Rest -> world: x -> x, y (up) -> z, z (front) -> -y; the inverse is its transpose.
    rest_to_world = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=dtype)
    return rest_to_world.T


class VolumetricNet(nn.Module):
    """The network; ``forward(views, body_model) -> {"R_wh", "thetas", "cams"[, "bodies"]}`` (see
    the module doc; ``bodies``: :func:`decode` of every ``thetas`` entry, with the skeleton feedback)."""

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__()
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        o = self.options
        G, Ch = int(o["grid"]), int(o["features"])
        feedback = bool(o["joint_feedback"])
        self.encoder = ViewEncoder(NUM_JOINTS + 1, int(o["width"]), Ch)
        self.cameras = WeakPerspectiveHead(Ch)
        self.rotation = CanonicalRotationHead(Ch, G, upright_world_to_human(), int(o["width"]),
                                              extra=4 * NUM_JOINTS if feedback else 0)
        self.regressor = IEFRegressor(Ch, G, int(o["width"]), int(o["hidden"]), extra=7 * NUM_JOINTS if feedback else 0)
        self.register_buffer("cube", cube_points(G, float(o["side"])), persistent=False)

    # -- pieces ------------------------------------------------------------------------------------
    def encode(self, views: ViewBatch) -> Tensor:
        """``(B, C, Ch, S/4, S/4)`` per-view features (zeros for missing views)."""
        B, C = views.valid.shape
        evidence = torch.cat([views.heatmaps, views.mask.unsqueeze(2)], 2).flatten(0, 1)
        valid = views.valid.flatten()
        side = evidence.shape[-1] // 4
        feats = evidence.new_zeros(B * C, int(self.options["features"]), side, side)
        if bool(valid.any()):  # missing views cost nothing (GroupNorm is per view, so this is exact)
            feats = feats.index_put((valid,), self.encoder(evidence[valid]))
        return feats.reshape(B, C, *feats.shape[1:])

    def _volume(self, fused: Tensor) -> Tensor:
        G = int(self.options["grid"])
        return fused.reshape(fused.shape[0], fused.shape[1], G, G, G)

    def canonical_rotation(self, feats: Tensor, views: ViewBatch) -> Tensor:
        """``R_wh (B, 3, 3)`` from the world-aligned cube around the pelvis (paper eq. 5), and the
        pelvis-relative triangulated joints with the skeleton feedback."""
        pts = self.cube[None] + views.pelvis[:, None]
        vol = unproject_crop(feats, pts, views.projection, int(self.options["crop"]))
        extra = None
        if self.options["joint_feedback"]:
            joints, seen = views.skeleton()
            rel = (joints - views.pelvis[:, None]) * seen[..., None] * JOINT_FEATURE_SCALE
            extra = torch.cat([rel.flatten(1), seen], -1)
        return self.rotation(self._volume(agg.view_mean(vol, views.valid)), extra)

    def skeleton_feedback(self, body: dict[str, Tensor], R_wh: Tensor, views: ViewBatch) -> Tensor:
        """``(B, 7 * 17)``: the triangulated joints and their residual to ``body``'s joints, both
        pelvis-relative in the human-aligned axes (``R_wh``), and which joints were seen."""
        joints, seen = views.skeleton()
        # x_h[b, j, i] = sum_k R_wh[b, i, k] * (x_w - pelvis)[b, j, k]
        tri = torch.einsum("bik,bjk->bji", R_wh, joints - views.pelvis[:, None])
        est = torch.einsum("bik,bjk->bji", R_wh, body["joints3d"].detach() - views.pelvis[:, None])
        w = seen[..., None] * JOINT_FEATURE_SCALE
        return torch.cat([(tri * w).flatten(1), ((tri - est) * w).flatten(1), seen], -1)

    # -- forward -----------------------------------------------------------------------------------
    def forward(self, views: ViewBatch, body_model) -> dict[str, Any]:
        o = self.options
        S = int(o["crop"])
        B, C = views.valid.shape
        feats = self.encode(views)
        cams = self.cameras(feats.flatten(0, 1)).reshape(B, C, 3)
        R_wh = self.canonical_rotation(feats, views)
        pts = cube_to_world(self.cube, R_wh, views.pelvis)  # (B, P, 3)
        V = unproject_crop(feats, pts, views.projection, S)  # (B, C, Ch, P)
        occ2d = occupancy(views.heatmaps, views.mask, float(o["occupancy_threshold"]))
        V_O = unproject_crop(occ2d.unsqueeze(2), pts.detach(), views.projection, S, mode="nearest")[:, :, 0]
        valid = views.valid
        feedback = bool(o["joint_feedback"])
        theta = initial_theta(B, V.dtype, V.device)
        body = decode(theta, R_wh, views.pelvis, body_model) if feedback else None
        thetas, bodies = [], []

        def iterate(volume: Tensor) -> None:
            nonlocal theta, body
            extra = self.skeleton_feedback(body, R_wh, views) if feedback else None
            theta = self.regressor(self._volume(volume), theta, extra)
            body = decode(theta, R_wh, views.pelvis, body_model) if feedback else None
            thetas.append(theta)
            bodies.append(body)

        iterate(agg.consensus(V, V_O, valid) if o["consensus"] else agg.view_mean(V, valid))
        iterate(agg.diversity(V, V_O, valid) if o["diversity"] else agg.view_mean(V, valid))
        if o["balance"]:
            with torch.no_grad():
                current = body if body is not None else decode(theta, R_wh, views.pelvis, body_model)
                phi = self.consistency(current, views)  # (B, C, S, S)
            V_phi = unproject_crop(phi.unsqueeze(2), pts.detach(), views.projection, S)[:, :, 0]
            iterate(agg.balance(V, V_phi, valid))
        else:
            iterate(agg.view_mean(V, valid))
        out = {"R_wh": R_wh, "thetas": thetas, "cams": cams}
        if feedback:
            out["bodies"] = bodies
        return out

    @torch.no_grad()
    def consistency(self, body: dict[str, Tensor], views: ViewBatch) -> Tensor:
        """Per-view consistency maps ``phi (B, C, S, S)`` between ``body``'s mesh (:func:`decode`),
        rendered into each view (vertex splatting, every ``balance_stride``-th vertex) with the
        calibrated projection, and the evidence (paper eq. 11)."""
        o = self.options
        S = int(o["crop"])
        B, C = views.valid.shape
        verts = body["vertices"][:, :: int(o["balance_stride"])]
        uv, depth = project(verts[:, None].expand(B, C, -1, 3), views.projection)
        pred_mask = splat_silhouette(uv.flatten(0, 1), depth.flatten(0, 1), S).reshape(B, C, S, S)
        juv, _ = project(body["joints3d"][:, None].expand(B, C, -1, 3), views.projection)
        pred_hm = joint_heatmaps(juv, torch.ones(juv.shape[:-1], dtype=juv.dtype, device=juv.device), S, float(o["sigma"]))
        return agg.consistency_map(pred_mask, views.mask, pred_hm, views.heatmaps, float(o["eps"]))


def decode(theta: Tensor, R_wh: Tensor, pelvis: Tensor, body_model) -> dict[str, Tensor]:
    """Body parameters and world geometry from ``theta (B, 154)``, ``R_wh (B, 3, 3)``, ``pelvis (B, 3)``.

    Returns ``global_orient (B, 3, 3)`` rest -> world, ``body_pose (B, 23, 3, 3)``, ``betas (B, 10)``,
    ``transl (B, 3)``, ``joints3d (B, 17, 3)`` and ``vertices (B, V, 3)`` world metres.
    """
    g6, b6, betas = split_theta(theta)
    global_orient = R_wh.transpose(-1, -2) @ rotation_6d_to_matrix(g6)
    body_pose = rotation_6d_to_matrix(b6)
    out = body_model(global_orient=global_orient, body_pose=body_pose, betas=betas)
    joints = out.coco23[:, :NUM_JOINTS]
    transl = pelvis - joints[:, list(HIPS)].mean(-2)
    return {
        "global_orient": global_orient, "body_pose": body_pose, "betas": betas, "transl": transl,
        "joints3d": joints + transl[:, None], "vertices": out.vertices + transl[:, None],
    }


def gt_rotations(batch: dict) -> tuple[Tensor, Tensor]:
    """Ground-truth ``(global_orient (B, 3, 3), body_pose (B, 23, 3, 3))`` of a synthetic batch."""
    return axis_angle_to_matrix(batch["global_orient"]), axis_angle_to_matrix(batch["body_pose"])
