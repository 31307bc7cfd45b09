"""Initialisation by MetaPose stage 1: rigid alignment of per-view monocular 3D poses.

One implementation serves two callers: :func:`mono_rotation` (weighted Kabsch between two views'
monocular poses) is used by the whole-sequence pinhole start of ``calibrate --from-joints``
(:func:`align_view`, :func:`init_from_mono3d`) and by MetaPose's per-frame weak-projection
cameras (:func:`weak_cameras_from_mono3d`, used by :mod:`mvmocap.regressors.metapose`).

Each view's monocular 3D joints ``q_c`` (hip-centred, camera axes) are the
same body seen from camera c, so ``q_c ~= R_c q_ref`` for the rotation
``R_c`` from the reference camera to camera c. MetaPose (Usman et al. 2022,
section 3.2 and 8.4) solves this by SVD for one frame; here one rotation per
camera is fitted over all frames by iteratively reweighted Kabsch, choosing in
every frame between ``q_c`` and its left/right flip (monocular detectors swap
sides). MetaPose then uses weak-perspective cameras; with pinholes, the hip
centre's position in each camera follows from the 2D joints and ``q_c`` by a
small linear solve, and the translations from comparing those positions
across views. The reference camera's frame is the world of the result.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mvmocap.calibrate.observations import Observations
from mvmocap.calibrate.pinhole import Pinholes
from mvmocap.geometry.procrustes import rigid_procrustes
from mvmocap.keypoints import COCO23, flip_permutation

MONO3D_HUBER_M = 0.05  # residual scale of monocular 3D joints after alignment (metres)
MIN_COMMON_JOINTS = 6  # per frame, to use a frame in the alignment
MIN_POSE_JOINTS = 6  # per view, to locate the hip centre


def _centred(points: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Subtract each frame's weighted centroid: ``points (F, J, 3)``, ``weight (F, J)``."""
    total = np.maximum(weight.sum(-1, keepdims=True), 1e-12)
    centroid = (points * weight[..., None]).sum(-2) / total
    return points - centroid[:, None, :]


def align_view(
    q_ref: np.ndarray, w_ref: np.ndarray, q_cam: np.ndarray, w_cam: np.ndarray, *, iterations: int = 8
) -> tuple[np.ndarray, np.ndarray, float]:
    """Rotation ``R (3, 3)`` with ``q_cam ~= R @ q_ref`` over all frames.

    Args:
        q_ref, q_cam: ``(F, J, 3)`` monocular joints of the reference view and this view.
        w_ref, w_cam: ``(F, J)`` their confidences.

    Returns:
        ``R``, ``flip (F,)`` bool: frames where ``q_cam``'s left and right
        were swapped relative to ``q_ref``, and the robust RMS residual (metres).
    """
    perm = np.array(flip_permutation(COCO23[: q_ref.shape[1]]))
    variants = []
    for q, w in ((q_cam, w_cam), (q_cam[:, perm], w_cam[:, perm])):
        common = w_ref * w
        common = np.where((common > 0).sum(-1, keepdims=True) >= MIN_COMMON_JOINTS, common, 0.0)
        variants.append((_centred(q_ref, common), _centred(q, common), common))
    flip = np.zeros(len(q_ref), dtype=bool)
    frame_w = np.ones(len(q_ref))
    R = np.eye(3)
    for _ in range(iterations):
        src = np.where(flip[:, None, None], variants[1][0], variants[0][0])
        dst = np.where(flip[:, None, None], variants[1][1], variants[0][1])
        w = np.where(flip[:, None], variants[1][2], variants[0][2]) * frame_w[:, None]
        # every frame's points are centred on their own weighted centroid: one Kabsch over all of them
        R = mono_rotation(torch.from_numpy(src.reshape(-1, 3)), torch.from_numpy(dst.reshape(-1, 3)),
                          torch.from_numpy(w.reshape(-1))).numpy()
        residuals = []
        for s, d, c in variants:
            err = np.linalg.norm(d - s @ R.T, axis=-1)
            residuals.append((c * err**2).sum(-1) / np.maximum(c.sum(-1), 1e-12))
        flip = residuals[1] < residuals[0]
        rms = np.sqrt(np.minimum(residuals[0], residuals[1]))
        frame_w = np.where(rms > MONO3D_HUBER_M, MONO3D_HUBER_M / np.maximum(rms, 1e-12), 1.0)
    usable = np.concatenate([variants[0][2].sum(-1, keepdims=True), variants[1][2].sum(-1, keepdims=True)], -1).max(-1) > 0
    robust_rms = float(np.median(rms[usable])) if usable.any() else float("inf")
    return R, flip & usable, robust_rms


def mono_rotation(q_ref: Tensor, q_cam: Tensor, weight: Tensor) -> Tensor:
    """Rotation ``R (..., 3, 3)`` with ``q_cam ~= R @ q_ref + const`` (weighted Kabsch, MetaPose eq. 12).

    Args:
        q_ref, q_cam: ``(..., N, 3)`` the same N points in the reference view's and this view's
            axes (monocular 3D joints, metres).
        weight: ``(..., N)`` non-negative (0 = missing in either view).

    Returns the identity where fewer than 3 points have weight (no rotation is defined there).
    """
    enough = (weight > 0).sum(-1) >= 3
    safe = torch.where(enough[..., None], weight, torch.ones_like(weight))
    R, _ = rigid_procrustes(q_ref, q_cam, safe)
    eye = torch.eye(3, dtype=R.dtype, device=R.device).expand_as(R)
    return torch.where(enough[..., None, None], R, eye)


def mono_flips(mono3d: Tensor, mono_weight: Tensor) -> Tensor:
    """``(..., C)`` bool: the views whose left and right are exchanged relative to the majority.

    Monocular lifters swap sides together with their 2D (on the shared demo every BlazePose view with
    mirrored world landmarks also had mirrored 2D, ``benchmarks/synth_mono3d.py``), so a view that
    aligns better onto view 0 mirrored is mirrored relative to it; when most views disagree with view
    0, view 0 is the odd one and the flags are inverted.

    Args:
        mono3d: ``(..., C, J, 3)`` monocular joints (COCO order), mono_weight ``(..., C, J)``.
    """
    J = mono3d.shape[-2]
    perm = list(flip_permutation(COCO23[:J]))
    q_ref = mono3d[..., :1, :, :].expand_as(mono3d)
    w_ref = mono_weight[..., :1, :]

    def residual(q: Tensor, w: Tensor) -> Tensor:
        common = w_ref * w
        R = mono_rotation(q_ref, q, common)
        total = common.sum(-1, keepdim=True)[..., None].clamp(min=1e-12)
        centred = lambda x: x - (x * common[..., None]).sum(-2, keepdim=True) / total  # noqa: E731
        err = ((centred(q) - centred(q_ref) @ R.transpose(-1, -2)) ** 2).sum(-1)
        return (err * common).sum(-1) / common.sum(-1).clamp(min=1e-12)

    flips = residual(mono3d[..., perm, :], mono_weight[..., perm]) < residual(mono3d, mono_weight)
    flips[..., 0] = False
    usable = (mono_weight > 0).sum(-1) >= 3
    majority = (flips & usable).sum(-1, keepdim=True) * 2 > usable.sum(-1, keepdim=True)
    return torch.where(majority, ~flips, flips) & usable


def weak_cameras_from_mono3d(
    mono3d: Tensor, mono_weight: Tensor, keypoints: Tensor, weight: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """MetaPose stage 1 for each frame-set: weak-projection cameras and a pose from monocular 3D.

    Camera 0 is the reference (``R_0 = I``, MetaPose eq. 11); camera c's rotation aligns view 0's
    monocular pose onto view c's (eq. 12, :func:`mono_rotation`); the pose is the weighted mean of
    every view's monocular pose rotated into camera 0 (eq. 13/22). The monocular poses here are
    metric (BlazePose world landmarks), not pixels as in the paper's eq. 20-21, so every camera's
    scale and shift, camera 0's included, come from its 2D keypoints: the ratio of the centred 2D
    spread to the projected pose's (eq. 20) and the difference of the centroids (eq. 21).

    Args:
        mono3d: ``(..., C, J, 3)`` per-view monocular joints, metres, root-relative, camera axes.
        mono_weight: ``(..., C, J)`` their confidence (0 = missing; a view of zeros is missing).
        keypoints: ``(..., C, J, 2)`` 2D joints in any per-view units (normalised or pixels).
        weight: ``(..., C, J)`` their confidence (0 = missing).

    Returns:
        ``R (..., C, 3, 3)`` camera 0 -> camera c rotations, ``scale (..., C)`` 2D units per metre
        (1 for a view without evidence), ``shift (..., C, 2)``, and ``joints (..., J, 3)`` metres in
        camera 0's axes, root-relative, so that ``keypoints_c ~= scale_c * (R_c @ joints)[:2] + shift_c``.
    """
    q_ref = mono3d[..., :1, :, :]
    w_ref = mono_weight[..., :1, :]
    R = mono_rotation(q_ref.expand_as(mono3d), mono3d, w_ref * mono_weight)
    eye = torch.eye(3, dtype=R.dtype, device=R.device)
    R = torch.cat([eye.expand_as(R[..., :1, :, :]), R[..., 1:, :, :]], -3)
    # joints = sum_c w_c R_c^T q_c / sum_c w_c, per joint
    rotated = torch.einsum("...cji,...cnj->...cni", R, mono3d)
    w = mono_weight.unsqueeze(-1)
    joints = (rotated * w).sum(-3) / w.sum(-3).clamp(min=1e-12)
    projected = torch.einsum("...cij,...nj->...cni", R[..., :2, :], joints)  # (..., C, J, 2)
    scale, shift = _scale_and_shift(projected, keypoints, weight)
    return R, scale, shift, joints


def _scale_and_shift(projected: Tensor, keypoints: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    """Eq. 20-21 with weights: ``scale (..., C)``, ``shift (..., C, 2)`` mapping ``projected`` onto ``keypoints``."""
    total = weight.sum(-1, keepdim=True).clamp(min=1e-12)
    mean_p = (projected * weight[..., None]).sum(-2) / total
    mean_k = (keypoints * weight[..., None]).sum(-2) / total
    spread_p = (((projected - mean_p[..., None, :]) ** 2).sum(-1) * weight).sum(-1)
    spread_k = (((keypoints - mean_k[..., None, :]) ** 2).sum(-1) * weight).sum(-1)
    usable = ((weight > 0).sum(-1) >= 2) & (spread_p > 1e-12)
    scale = torch.where(usable, (spread_k / spread_p.clamp(min=1e-12)).sqrt().clamp(min=1e-6), torch.ones_like(spread_p))
    shift = torch.where(usable[..., None], mean_k - scale[..., None] * mean_p, torch.zeros_like(mean_k))
    return scale, shift


def hip_positions(uv: np.ndarray, weight: np.ndarray, q: np.ndarray, focal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the monocular pose's origin sits in one camera, frame by frame.

    Solves ``x_n * (q_z + T_z) = q_x + T_x`` and the same in y for ``T (3,)``
    in least squares, per frame (``x_n = u / fx``).

    Args:
        uv: ``(F, J, 2)`` ideal centred pixels; weight ``(F, J)``.
        q: ``(F, J, 3)`` monocular joints, metres, camera axes; focal ``(2,)``.

    Returns:
        ``T (F, 3)`` metres and ``valid (F,)`` bool.
    """
    xn = uv / focal
    rows_x = np.stack([-np.ones_like(xn[..., 0]), np.zeros_like(xn[..., 0]), xn[..., 0]], -1)
    rows_y = np.stack([np.zeros_like(xn[..., 1]), -np.ones_like(xn[..., 1]), xn[..., 1]], -1)
    rhs_x = q[..., 0] - xn[..., 0] * q[..., 2]
    rhs_y = q[..., 1] - xn[..., 1] * q[..., 2]
    # A[f, i, k] = sum_j w * row_i * row_k (normal equations of the 2J x 3 system)
    A = np.einsum("fj,fji,fjk->fik", weight, rows_x, rows_x) + np.einsum("fj,fji,fjk->fik", weight, rows_y, rows_y)
    b = np.einsum("fj,fji,fj->fi", weight, rows_x, rhs_x) + np.einsum("fj,fji,fj->fi", weight, rows_y, rhs_y)
    valid = (weight > 0).sum(-1) >= MIN_POSE_JOINTS
    A[~valid] = np.eye(3)
    b[~valid] = 0.0
    T = np.linalg.solve(A, b[..., None])[..., 0]
    valid &= T[:, 2] > 0.2
    return T, valid


def init_from_mono3d(obs: Observations, reference: int | None = None) -> Pinholes | None:
    """Cameras from monocular 3D (None when there is no usable monocular 3D).

    The world is the reference camera's frame (by default the camera with the
    most confident joints), in the monocular poses' metric scale.
    """
    if obs.mono3d is None or not (obs.mono_weight > 0).any():
        return None
    C = obs.num_cameras
    ref = int(np.argmax(obs.mono_weight.sum((1, 2)))) if reference is None else reference
    R = np.tile(np.eye(3), (C, 1, 1))
    t = np.zeros((C, 3))
    T_ref, valid_ref = hip_positions(obs.uv[ref], obs.weight[ref], obs.mono3d[ref], obs.focal[ref])
    for c in range(C):
        if c == ref:
            continue
        R[c], _, _ = align_view(obs.mono3d[ref], obs.mono_weight[ref], obs.mono3d[c], obs.mono_weight[c])
        T_c, valid_c = hip_positions(obs.uv[c], obs.weight[c], obs.mono3d[c], obs.focal[c])
        both = valid_ref & valid_c
        if not both.any():
            return None
        # T_c = R_c @ T_ref + t_c in every frame
        t[c] = np.median(T_c[both] - T_ref[both] @ R[c].T, axis=0)
    return Pinholes(R, t, obs.focal.copy())
