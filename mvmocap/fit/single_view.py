"""Frames seen by one camera in a fit started from a regressor (``NAME+fit``).

The plain fit needs triangulated joints: a frame with fewer than ``FitConfig.min_joints`` of them is
invalid and gets parameters interpolated from its neighbours. A regressor that reads single views
(CRA) gives a body there too, so a fit started from it keeps such a frame when the person is seen
by at least one camera (``min_joints`` confident 2D joints in some view) and the regressor's
estimate there is valid. Such a frame is fitted with the rest of the sequence, with:

* the 2D term in the views that see it (depth is weakly observed: one camera);
* the regressor's pose as the pose prior's mean (``refine_pose_prior="regressor"``);
* the temporal terms with its neighbours, as every frame;
* the regressor's start as its start, whatever ``refine_start`` (its neighbours have no
  triangulated torso to correct), shifted so that each stretch of such frames joins the triangulated
  frames around it (:meth:`SingleViewFrames.bridged`: a per-view regressor's depth error drifts slowly);
* its translation kept near that start: the start's two hips enter the 3D joint term as weakly
  confident targets (:data:`ANCHOR_CONFIDENCE`), the robust pull that holds the depth the single
  camera hardly sees while the 2D term moves the body across the image.

Key frames, and so the shape, come from the multi-view frames only. Without such frames, or without
a regressor, the fit is exactly the plain one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from mvmocap.body.params import BodyParams
from mvmocap.errors import InputError
from mvmocap.fit.model import KeypointModel
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.keypoints import COCO23

# Confidence of each hip's anchor: a 10 cm drift of both costs 2 * 0.1 * 0.5 = 0.1, about what 17 joints
# 1.5 px off cost in the 2D term (sigma 25 px). Chosen on the coverage benchmark's stand-in
# (`python benchmarks/cra_coverage.py --clips 3 --seed 1 --anchors ...`, seed 1 for tuning, seed 0 reported;
# docs/cra_multiview_handoff.md), the starts bridged (SingleViewFrames.bridged): anchors 0 / 0.03 / 0.1 /
# 0.15 / 0.3 / 1 / 3 gave single-view mid-hip errors 102 / 89 / 77 / 80 / 90 / 112 / 174 mm and PA-MPJPE
# 37.3 / 36.3 / 35.4 / 35.5 / 35.2 / 35.0 / 40.9 mm; on seed 2 (6 clips, `--anchors 0.03/nobridge 0/nobridge
# 0.03 0.3`) 0.1 / 0.03 / 0.3 bridged gave 68 / 65 / 114 mm, unbridged 0.03 / 0 gave 65 / 66 mm: within the
# clips' spread, except that strong anchors hurt. 0 switches it off.
ANCHOR_CONFIDENCE = 0.1
BRIDGE_STRETCHES = True  # shift the starts to join the triangulated neighbours (SingleViewFrames.bridged)
ANCHOR_JOINTS = (COCO23.index("left_hip"), COCO23.index("right_hip"))


@dataclass(frozen=True)
class SingleViewFrames:
    """The frames a refinement fits from one view, and the regressor's estimate there.

    Attributes:
        mask: ``(F,)`` bool, the single-view frames kept.
        start: :class:`BodyParams` of those ``S`` frames (the regressor's, in the fit's dtype).
    """

    mask: Tensor
    start: BodyParams

    @property
    def frames(self) -> Tensor:
        return torch.nonzero(self.mask).flatten()

    def into_pose_mean(self, pose_mean: Tensor | None, like: Tensor) -> Tensor:
        """``(F, 23, 3)``: the pose prior's mean with the regressor's pose on the single-view frames
        (zeros, the rest pose, elsewhere when there was no mean); ``like`` gives shape, dtype, device."""
        mean = torch.zeros_like(like) if pose_mean is None else pose_mean.clone()
        mean[self.frames] = self.start.body_pose.to(mean)
        return mean

    def start_hips(self, model: KeypointModel, betas: Tensor, like: Tensor) -> Tensor:
        """``(S, 2, 3)`` metres: the starts' two hips with the shape ``betas (nb,)``, as ``like``'s dtype."""
        s = self.start
        with torch.no_grad():
            rotation = axis_angle_to_matrix(s.global_orient).to(like)
            points = model(rotation, s.body_pose.to(like), betas, s.transl.to(like))
        return points[:, list(ANCHOR_JOINTS)]

    def bridged(self, model: KeypointModel, betas: Tensor, joints3d: Tensor,
                confidence: Tensor) -> "SingleViewFrames":
        """The starts shifted so that each stretch of single-view frames joins its triangulated neighbours.

        For a stretch ``a..b`` the offsets ``e_a`` = the triangulated mid-hip of the last frame before it
        minus the start's mid-hip at ``a`` (likewise ``e_b`` with the first frame after it) are spread
        linearly over the stretch (one side only: held) and added to the starts' translations. A single
        camera sees depth badly and a per-view regressor's depth error drifts slowly, so the error at a
        stretch's ends, where the neighbours are triangulated, is the best guess for it inside.
        ``joints3d (F, 23, 3)`` / ``confidence (F, 23)``: the triangulated joints (before the anchors);
        ``betas (nb,)``: the fit's shape. Without triangulated hips around a stretch it is left as it is."""
        if not BRIDGE_STRETCHES:
            return self
        hips = list(ANCHOR_JOINTS)
        s = self.start
        start_hip = self.start_hips(model, betas, joints3d).mean(-2)  # (S, 3)
        known = (confidence[:, hips] > 0).all(-1) & ~self.mask  # (F,) multi-view frames with both hips
        tri_hip = joints3d[:, hips].mean(-2)
        frames = self.frames.tolist()
        slot = {f: i for i, f in enumerate(frames)}
        transl = s.transl.clone()
        for a, b in _stretches(frames):
            before = [f for f in range(a - 1, -1, -1) if bool(known[f])][:1]
            after = [f for f in range(b + 1, known.numel()) if bool(known[f])][:1]
            if not before and not after:
                continue
            e_a = tri_hip[before[0]] - start_hip[slot[a]] if before else None
            e_b = tri_hip[after[0]] - start_hip[slot[b]] if after else None
            e_a = e_b if e_a is None else e_a
            e_b = e_a if e_b is None else e_b
            for f in range(a, b + 1):
                w = (f - a) / max(b - a, 1)
                transl[slot[f]] += ((1 - w) * e_a + w * e_b).to(transl)
        return SingleViewFrames(self.mask, BodyParams(s.global_orient, s.body_pose, s.betas, transl, s.valid))

    def with_anchors(self, model: KeypointModel, betas: Tensor, joints3d: Tensor,
                     confidence: Tensor) -> tuple[Tensor, Tensor]:
        """``joints3d (F, 23, 3)`` and ``confidence (F, 23)`` with the start's hips as weak targets on the
        single-view frames (their other joints have no 3D evidence); ``betas (nb,)`` the fit's shape."""
        idx = self.frames
        joints3d, confidence = joints3d.clone(), confidence.clone()
        hips = list(ANCHOR_JOINTS)
        confidence[idx] = 0.0
        joints3d[idx[:, None], hips] = self.start_hips(model, betas, joints3d)
        confidence[idx[:, None], hips] = ANCHOR_CONFIDENCE * model.available[hips].to(confidence)
        return joints3d, confidence


def _stretches(frames: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive frame indices ``(first, last)`` in the sorted ``frames``."""
    runs: list[tuple[int, int]] = []
    for f in frames:
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def seen_by_one_camera(conf2d: Tensor, frame_valid: Tensor, min_joints: int) -> Tensor:
    """``(F,)`` bool: frames not valid for the plain fit (``frame_valid (F,)``) in which some camera sees
    at least ``min_joints`` joints (``conf2d (F, C, J)`` > 0)."""
    return ((conf2d > 0).sum(-1) >= min_joints).any(-1) & ~frame_valid


def single_view_frames(init: BodyParams | Callable[[Tensor], BodyParams], conf2d: Tensor, frame_valid: Tensor,
                       keys: Tensor, min_joints: int, dtype: torch.dtype, device) -> SingleViewFrames | None:
    """The single-view frames of a refinement from ``init`` (all frames' :class:`BodyParams`, or a function
    of frame indices, as :func:`mvmocap.fit.smplify.fit_sequence` takes it), or None when there is none.

    A function is asked once for the key frames ``keys (K,)`` and the candidate frames together, so that
    a regressor that sizes single-view bodies from the multi-view frames sees some. Frames where the
    regressor's estimate is not valid stay invalid.
    """
    candidates = seen_by_one_camera(conf2d, frame_valid, min_joints)
    if not bool(candidates.any()):
        return None
    wanted = torch.nonzero(candidates).flatten().to(keys.device)
    if callable(init):
        asked = torch.unique(torch.cat([keys, wanted]))  # sorted
        params = init(asked)
        position = torch.searchsorted(asked, wanted)
    else:
        params, position = init, wanted
    if not isinstance(params, BodyParams):
        raise InputError(f"init must give BodyParams, got {type(params).__name__}")
    expected = asked.numel() if callable(init) else frame_valid.numel()
    if params.num_frames != expected:
        raise InputError(f"init has {params.num_frames} frames, expected {expected}")
    params = params.to(dtype=dtype, device=device).frames(position.to(device))
    mask = torch.zeros_like(frame_valid)
    mask[wanted[params.valid.to(wanted.device)]] = True
    if not bool(mask.any()):
        return None
    kept = params.valid
    start = BodyParams(params.global_orient[kept], params.body_pose[kept], params.betas, params.transl[kept],
                       params.valid[kept])
    return SingleViewFrames(mask, start)


__all__ = ["ANCHOR_CONFIDENCE", "SingleViewFrames", "seen_by_one_camera", "single_view_frames"]
