"""Multi-view repair of left/right swaps: single-view detectors (BlazePose above all) sometimes
label a person's left side as the right one, for whole stretches of frames, in one camera.

With calibrated cameras the swap shows up as a large reprojection error that
disappears when that camera's labels are mirrored. For every frame, every
combination of mirrored cameras (``2^C``, at most :data:`MAX_EXHAUSTIVE_CAMERAS`
cameras; a greedy search beyond) is triangulated and the combination with the
smallest robust reprojection cost wins, if it beats the detections as they are
by a clear margin. Mirroring *every* camera gives the same cost as mirroring
none (a mirror-image skeleton), so each flip costs a small penalty and the
fewest flips win ties.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import torch

from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.projection import undistort_points
from mvmocap.geometry.triangulation import reprojection_errors, triangulate
from mvmocap.keypoints import COCO23, LIMB_JOINTS_AND_NOSE, flip_permutation

MAX_EXHAUSTIVE_CAMERAS = 8


def _cost(rig: CameraRig, points: torch.Tensor, joints: list[int], cap_px: float) -> torch.Tensor:
    """Confidence-weighted mean of capped reprojection errors -> ``(..., F)`` px.

    ``points (..., F, C, J, 3)`` are *undistorted* pixels + confidence (see :func:`_undistorted`),
    so each candidate needs no fixed-point undistortion of its own.
    """
    pts = points[..., joints, :]
    conf = pts[..., 2]
    X = triangulate(pts[..., :2], conf, rig.K, None, rig.R, rig.t)
    errors = reprojection_errors(X, pts[..., :2], rig.K, None, rig.R, rig.t).clamp(max=cap_px)
    return (errors * conf).sum((-1, -2)) / conf.sum((-1, -2)).clamp(min=1e-9)


def _undistorted(rig: CameraRig, points: torch.Tensor) -> torch.Tensor:
    """``(F, C, J, 3)`` detected pixels + confidence -> the same with undistorted pixel positions."""
    xy = undistort_points(points[..., :2], rig.K, rig.dist)  # (F, C, J, 2) normalised
    K = rig.K.unsqueeze(-3)  # (C, 1, 3, 3)
    px = xy * torch.stack([K[..., 0, 0], K[..., 1, 1]], -1) + torch.stack([K[..., 0, 2], K[..., 1, 2]], -1)
    px = px + (xy[..., 1:2] * K[..., 0, 1].unsqueeze(-1)) * torch.tensor([1.0, 0.0], dtype=px.dtype)  # skew
    return torch.cat([px, points[..., 2:]], -1)


def left_right_flips(
    keypoints: np.ndarray,
    rig: CameraRig,
    *,
    joints: tuple[int, ...] = LIMB_JOINTS_AND_NOSE,
    cap_px: float = 100.0,
    flip_penalty_px: float = 1.0,
    min_gain: float = 0.7,
) -> np.ndarray:
    """Which cameras to mirror in each frame.

    Args:
        keypoints: ``(C, F, 23, 3)`` pixels + confidence (:attr:`Detections.keypoints`), cameras in ``rig`` order.
        rig: the calibrated cameras.
        cap_px: reprojection errors are capped at this value (robust to one bad point).
        flip_penalty_px: added to the cost per mirrored camera (ties -> fewest flips).
        min_gain: a frame changes only if its best cost is below ``min_gain`` times the original cost.

    Returns:
        ``(C, F)`` bool, True where that camera's left and right labels should be swapped.
    """
    C, F = keypoints.shape[:2]
    if len(rig) != C or keypoints.shape[2:] != (len(COCO23), 3):
        raise InputError(f"keypoints must be ({len(rig)}, F, {len(COCO23)}, 3) for this rig, got {keypoints.shape}")
    perm = list(flip_permutation(COCO23))
    original = _undistorted(rig, torch.as_tensor(keypoints, dtype=rig.K.dtype).transpose(0, 1))  # (F, C, J, 3)
    mirrored = original[..., perm, :]
    joints = list(joints)
    if C <= MAX_EXHAUSTIVE_CAMERAS:
        combos = torch.tensor(list(itertools.product([False, True], repeat=C)))  # (K, C), combos[0] = no flip
        candidate = torch.where(combos[:, None, :, None, None], mirrored, original)  # (K, F, C, J, 3)
        cost = _cost(rig, candidate, joints, cap_px) + flip_penalty_px * combos.sum(-1, keepdim=True)  # (K, F)
        best = cost.argmin(0)
        chosen = combos[best]  # (F, C)
        keep_original = cost[best, torch.arange(F)] >= min_gain * cost[0]
    else:
        chosen = _greedy(rig, original, mirrored, joints, cap_px, flip_penalty_px)
        no_flip = _cost(rig, original, joints, cap_px)
        flipped = torch.where(chosen[..., None, None], mirrored, original)
        keep_original = _cost(rig, flipped, joints, cap_px) + flip_penalty_px * chosen.sum(-1) >= min_gain * no_flip
    chosen = chosen & ~keep_original[:, None]
    return chosen.T.cpu().numpy()


def _greedy(rig, original, mirrored, joints, cap_px, penalty) -> torch.Tensor:
    F, C = original.shape[:2]
    chosen = torch.zeros(F, C, dtype=torch.bool)
    for _ in range(C):
        current = torch.where(chosen[..., None, None], mirrored, original)
        base = _cost(rig, current, joints, cap_px) + penalty * chosen.sum(-1)
        trials = []
        for c in range(C):
            toggled = chosen.clone()
            toggled[:, c] = ~toggled[:, c]
            trial = torch.where(toggled[..., None, None], mirrored, original)
            trials.append(_cost(rig, trial, joints, cap_px) + penalty * toggled.sum(-1))
        trials = torch.stack(trials, -1)  # (F, C)
        gain, cam = (base[:, None] - trials).max(-1)
        improve = gain > 0
        if not bool(improve.any()):
            break
        chosen[improve, cam[improve]] = ~chosen[improve, cam[improve]]
    return chosen


def fix_left_right(detections: Detections, rig: CameraRig, **options) -> tuple[Detections, np.ndarray]:
    """``detections`` with left/right swaps repaired (keypoints and mono3d), and the ``(C, F)`` flips made.

    ``rig`` must hold every camera of ``detections`` (it is reordered to match).
    ``options`` go to :func:`left_right_flips`.
    """
    rig = rig.subset(detections.camera_names)
    flips = left_right_flips(detections.keypoints, rig, **options)
    perm = list(flip_permutation(COCO23))

    def apply(array: np.ndarray | None) -> np.ndarray | None:
        if array is None:
            return None
        return np.where(flips[:, :, None, None], array[:, :, perm], array)

    return replace(detections, keypoints=apply(detections.keypoints), mono3d=apply(detections.mono3d)), flips
