"""Analytic inverse kinematics of an SMPL-format body's limbs towards 3D keypoints.

A regressor's pose can be roughly right and still miss limb joints that are known precisely
(triangulated). :func:`solve_keypoint_ik` turns the limbs so that the body's COCO-23 keypoints
reach such targets, in closed form (no optimiser; in the spirit of hybrid analytical-neural IK,
which keeps the network's twist and solves the swing from the joints). For each limb (SMPL
shoulder 16/17 -> elbow 18/19, hip 1/2 -> knee 4/5):

0. *place*: where both the middle (elbow, knee) and the end (wrist, ankle) targets are known,
   replace them by the points of the chain, with the limb's own segment lengths and from its
   root joint as it stands, that come nearest to both in the least-squares sense
   (:func:`chain_targets`): the root joint is the network's and centimetres off, so that no
   chain from it meets both targets, and putting the end exactly on its target throws all the
   error onto the middle joint;
1. *flex* the middle joint about its anatomical hinge (elbow: the rest frame's y, knee: x) so
   that the end keypoint (wrist, ankle) is as far from the root joint as its (placed) target, keeping the
   flexion within the joint's range;
2. *aim*: the smallest rotation of the root joint pointing the end keypoint at its target (only
   the middle keypoint's target known: the middle keypoint at its);
3. *twist* the root joint about the root -> end-target line so that the middle keypoint (elbow,
   knee) turns towards its target;

before which the whole body is moved by the confidence-weighted mean offset between its trunk
keypoints (face, shoulders, hips: those the limbs do not carry) and their targets. The steps are
repeated ``passes`` times, the body model posed anew before each; within a step the keypoints
are taken as rigidly attached to the segment that moves (skinning blends them slightly, so
targets are reached to within millimetres, not exactly). Targets may be pulled in only partly (``blend_m``, :func:`blended_targets`), and
targets too far from the body's keypoints to be believed are ignored (``outlier_m``).

Torso, spine and neck steps were tried on the shared demo and left out: they turned the head and
trunk away from the detections (a collar step gained 0.5 %; ``models/regressors/MODEL_CARD.md``).

Everything is in one world frame, metres; rotations are matrices, ``body_pose (B, 23, 3, 3)``
local (SMPL), batched over frames ``B``; pure torch, meant to run without gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.body.joint_sets import SMPL_PARENTS
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.keypoints import COCO23

_K = {name: i for i, name in enumerate(COCO23)}
TRUNK = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_hip",
         "right_hip")
_TRUNK_MASK = torch.tensor([name in TRUNK for name in COCO23])


@dataclass(frozen=True)
class Limb:
    """SMPL joints ``root`` (shoulder, hip) and ``middle`` (elbow, knee); COCO-23 keypoints
    ``middle_point`` and ``end_point``; the middle joint's hinge ``axis`` (0/1/2 of the root
    segment's frame), ``sign`` (flexion = ``sign *`` angle about it) and ``max_flexion`` (rad)."""

    root: int
    middle: int
    middle_point: int
    end_point: int
    axis: int
    sign: float
    max_flexion: float


LIMBS = (
    Limb(16, 18, _K["left_elbow"], _K["left_wrist"], 1, -1.0, 2.7),
    Limb(17, 19, _K["right_elbow"], _K["right_wrist"], 1, 1.0, 2.7),
    Limb(1, 4, _K["left_knee"], _K["left_ankle"], 0, 1.0, 2.6),
    Limb(2, 5, _K["right_knee"], _K["right_ankle"], 0, 1.0, 2.6),
)


# -- small rotation helpers ------------------------------------------------------------------------
def world_rotations(global_orient: Tensor, body_pose: Tensor) -> Tensor:
    """``(B, 24, 3, 3)`` rest -> world rotation of every SMPL segment from ``global_orient (B, 3, 3)``
    and local ``body_pose (B, 23, 3, 3)``."""
    chain = [global_orient]
    for j in range(1, len(SMPL_PARENTS)):
        chain.append(chain[SMPL_PARENTS[j]] @ body_pose[:, j - 1])
    return torch.stack(chain, 1)


def rotation_between(u: Tensor, v: Tensor, eps: float = 1e-9) -> Tensor:
    """The smallest rotation ``(..., 3, 3)`` turning the direction of ``u (..., 3)`` into that of
    ``v (..., 3)``; the identity where either is zero or they are parallel or opposite."""
    cross = torch.cross(u, v, dim=-1)
    sin = cross.norm(dim=-1)
    angle = torch.atan2(sin, (u * v).sum(-1))
    ok = sin > eps
    return axis_angle_to_matrix(cross / sin.clamp(min=eps)[..., None] * (angle * ok)[..., None])


def rotation_about(axis: Tensor, angle: Tensor) -> Tensor:
    """``(..., 3, 3)`` rotation by ``angle (...)`` radians about the unit ``axis (..., 3)``."""
    return axis_angle_to_matrix(axis * angle[..., None])


def twist_towards(effector: Tensor, target: Tensor, axis: Tensor, min_arm: float = 0.02) -> Tensor:
    """Rotation ``(..., 3, 3)`` about the unit ``axis (..., 3)`` turning the offset ``effector
    (..., 3)`` towards ``target (..., 3)`` (both from a point on the axis); the identity where
    either lies within ``min_arm`` metres of the axis (no defined direction)."""
    a = effector - (effector * axis).sum(-1, keepdim=True) * axis
    b = target - (target * axis).sum(-1, keepdim=True) * axis
    angle = torch.atan2((axis * torch.cross(a, b, dim=-1)).sum(-1), (a * b).sum(-1))
    usable = (a.norm(dim=-1) > min_arm) & (b.norm(dim=-1) > min_arm)
    return rotation_about(axis, angle * usable)


def blended_targets(current: Tensor, targets: Tensor, blend_m: float) -> Tensor:
    """``current + w (targets - current)``, ``w = r^2 / (r^2 + blend_m^2)`` for a distance ``r``
    (metres): large disagreements are corrected, small ones (the targets' own noise may explain
    them) mostly kept. ``current, targets (..., 3)``; ``blend_m = 0`` returns ``targets``."""
    if blend_m <= 0:
        return targets
    r2 = ((targets - current) ** 2).sum(-1, keepdim=True)
    return current + r2 / (r2 + blend_m**2) * (targets - current)


def _unit(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp(min=1e-9)


def _eye(like: Tensor) -> Tensor:
    return torch.eye(3, dtype=like.dtype, device=like.device).expand(*like.shape[:-1], 3, 3)


def _where(mask: Tensor, rotation: Tensor) -> Tensor:
    """``rotation (B, 3, 3)`` where ``mask (B,)``, else the identity."""
    return torch.where(mask[:, None, None], rotation, _eye(rotation[..., 0]))


def _turn_segment(body_pose: Tensor, G: Tensor, joint: int, change: Tensor) -> Tensor:
    """``body_pose`` with segment ``joint``'s world rotation pre-multiplied by ``change (B, 3, 3)``:
    ``R_j' = G_parent^T change G_j``."""
    pose = body_pose.clone()
    pose[:, joint - 1] = G[:, SMPL_PARENTS[joint]].transpose(-1, -2) @ change @ G[:, joint]
    return pose


# -- the steps -------------------------------------------------------------------------------------
def aim(body_pose: Tensor, G: Tensor, joints: Tensor, joint: int, effector: Tensor, target: Tensor, seen: Tensor,
        twist_effector: Tensor | None = None, twist_target: Tensor | None = None,
        twist_seen: Tensor | None = None) -> Tensor:
    """Turn SMPL ``joint`` so that ``effector (B, 3)`` points at ``target (B, 3)`` from the joint
    (frames where ``seen (B,)``), then about that line so that ``twist_effector`` turns towards
    ``twist_target`` (where both are seen). ``G (B, 24, 3, 3)``: :func:`world_rotations`;
    ``joints (B, 24, 3)``: the posed joints. Returns the new ``body_pose``."""
    pivot = joints[:, joint]
    swing = _where(seen, rotation_between(effector - pivot, target - pivot))
    change = swing
    if twist_effector is not None:
        moved = (swing @ (twist_effector - pivot)[..., None])[..., 0]
        twist = twist_towards(moved, twist_target - pivot, _unit(target - pivot))
        change = _where(seen & twist_seen, twist) @ swing
    return _turn_segment(body_pose, G, joint, change)


def flex_angle(root: Tensor, middle: Tensor, end: Tensor, axis: Tensor, reach: Tensor, current: Tensor,
               limb: Limb) -> Tensor:
    """The turn ``(B,)`` radians about the unit ``axis (B, 3)`` through ``middle (B, 3)`` that puts
    ``end (B, 3)`` at distance ``reach (B,)`` from ``root (B, 3)`` (the nearest reachable distance
    if none does); of the two solutions the one keeping the flexion in ``[0, max_flexion]``, else
    the smaller turn. ``current (B,)``: the middle joint's present angle about its axis."""
    u, v = root - middle, end - middle
    au, av = (axis * u).sum(-1), (axis * v).sum(-1)
    # Rodrigues: u . R(d) v = p cos d + q sin d + au av, and |root - end(d)|^2 = |u|^2 + |v|^2 - 2 u . R(d) v
    p = (u * v).sum(-1) - au * av
    q = (u * torch.cross(axis, v, dim=-1)).sum(-1)
    wanted = 0.5 * ((u * u).sum(-1) + (v * v).sum(-1) - reach**2) - au * av
    amplitude = torch.sqrt(p * p + q * q).clamp(min=1e-9)
    phase = torch.atan2(q, p)
    spread = torch.acos((wanted / amplitude).clamp(-1.0, 1.0))
    options = _wrap(torch.stack([phase + spread, phase - spread], -1))  # (B, 2)
    flexion = limb.sign * (current[..., None] + options)
    allowed = (flexion >= -0.05) & (flexion <= limb.max_flexion)
    cost = options.abs() + 10.0 * (~allowed)
    return options.gather(-1, cost.argmin(-1, keepdim=True))[..., 0]


def chain_targets(root: Tensor, middle: Tensor, end: Tensor, middle_target: Tensor, end_target: Tensor,
                  middle_weight: float = 1.0, iterations: int = 30) -> tuple[Tensor, Tensor]:
    """The placement ``(M, E)`` of a two-segment chain ``root -> M -> E`` nearest to two targets.

    Minimises ``middle_weight |M - middle_target|^2 + |E - end_target|^2`` over chains whose
    segment lengths are those of the current ``middle`` and ``end`` keypoints,
    ``a = |middle - root|`` and ``b = |end - middle|``, with ``root`` fixed. For a given ``M`` the
    best ``E`` lies on the line from ``M`` to its target, ``E = M + b unit(end_target - M)``, which
    leaves a search of ``M`` over the sphere of radius ``a`` about ``root``: projected gradient
    descent from ``root + a unit(middle_target - root)`` (from ``middle`` if that target lies on
    the root). The joint's range of motion is not
    considered here (:func:`flex_angle` keeps it).

    Args:
        root, middle, end: ``(..., 3)`` metres, the chain's root joint and its current middle and end points.
        middle_target, end_target: ``(..., 3)`` metres.
        middle_weight: the middle target's weight relative to the end target's (> 0).
        iterations: gradient steps.
    Returns:
        ``M, E``: ``(..., 3)`` metres each.
    """
    a = (middle - root).norm(dim=-1, keepdim=True)
    b = (end - middle).norm(dim=-1, keepdim=True)
    towards = middle_target - root
    towards = torch.where(towards.norm(dim=-1, keepdim=True) > 1e-6, towards, middle - root)  # a target on the root
    m = root + a * _unit(towards)
    step = 0.5 / (middle_weight + 1.0)  # the energy's curvature in m is at most middle_weight + 1
    for _ in range(iterations):
        to_end = m - end_target
        distance = to_end.norm(dim=-1, keepdim=True).clamp(min=1e-9)
        gradient = middle_weight * (m - middle_target) + (distance - b) * to_end / distance
        m = root + a * _unit(m - step * gradient - root)
    return m, m + b * _unit(end_target - m)


def _wrap(angle: Tensor) -> Tensor:
    return torch.atan2(torch.sin(angle), torch.cos(angle))


def solve_limb(body_pose: Tensor, G: Tensor, joints: Tensor, keypoints: Tensor, targets: Tensor, seen: Tensor,
               limb: Limb, middle_weight: float = 1.0) -> Tensor:
    """Place, flex, aim and twist one limb (see the module doc); returns the new ``body_pose``."""
    r, m = limb.root, limb.middle
    root, middle = joints[:, r], joints[:, m]
    mid_seen, end_seen = seen[:, limb.middle_point], seen[:, limb.end_point]
    end = keypoints[:, limb.end_point]
    placed = chain_targets(root, keypoints[:, limb.middle_point], end, targets[:, limb.middle_point],
                           targets[:, limb.end_point], middle_weight)
    both = (mid_seen & end_seen)[:, None]
    targets = targets.clone()
    targets[:, limb.middle_point] = torch.where(both, placed[0], targets[:, limb.middle_point])
    targets[:, limb.end_point] = torch.where(both, placed[1], targets[:, limb.end_point])
    # flex: a turn about the hinge, whose axis is fixed in the root segment's frame
    axis_local = torch.zeros(3, dtype=G.dtype, device=G.device)
    axis_local[limb.axis] = 1.0
    axis = G[:, r] @ axis_local
    current = matrix_to_axis_angle(body_pose[:, m - 1])[:, limb.axis]
    reach = (targets[:, limb.end_point] - root).norm(dim=-1)
    delta = flex_angle(root, middle, end, axis, reach, current, limb) * end_seen
    pose = body_pose.clone()
    pose[:, m - 1] = rotation_about(axis_local.expand_as(axis), delta) @ body_pose[:, m - 1]
    end = middle + (rotation_about(axis, delta) @ (end - middle)[..., None])[..., 0]
    # aim the end keypoint (or, without its target, the middle one), then twist towards the middle target
    effector = torch.where(end_seen[:, None], end, keypoints[:, limb.middle_point])
    target = torch.where(end_seen[:, None], targets[:, limb.end_point], targets[:, limb.middle_point])
    return aim(pose, G, joints, r, effector, target, end_seen | mid_seen,
               keypoints[:, limb.middle_point], targets[:, limb.middle_point], end_seen & mid_seen)


# -- the solver ------------------------------------------------------------------------------------
def solve_keypoint_ik(body_model, global_orient: Tensor, body_pose: Tensor, betas: Tensor, transl: Tensor,
                      targets: Tensor, confidence: Tensor, blend_m: float = 0.0, outlier_m: float = float("inf"),
                      passes: int = 2, middle_weight: float = 1.0) -> tuple[Tensor, Tensor]:
    """Turn the limbs towards target keypoints and move the body onto them (see the module doc).

    Args:
        body_model: a :mod:`mvmocap.body` model (``__call__`` returning ``joints``, ``coco23``).
        global_orient: ``(B, 3, 3)`` rest -> world; ``body_pose (B, 23, 3, 3)`` local;
            ``betas (B, S)``; ``transl (B, 3)`` metres.
        targets: ``(B, 23, 3)`` metres (world), where the COCO-23 keypoints should be.
        confidence: ``(B, 23)``; 0 = no target (it is ignored).
        blend_m: partial pull (:func:`blended_targets`, metres, from the starting keypoints);
            0 = all the way.
        outlier_m: a target farther than this (metres) from the starting keypoint is ignored, as
            a target is whose confidence is 0 (a mistriangulated joint, e.g. after a left/right
            swap in one view, must not drag a limb away).
        passes: how many times the steps are repeated.
        middle_weight: the weight of the elbow and knee targets relative to the wrist and ankle
            targets in the limbs' placement (:func:`chain_targets`).
    Returns:
        ``(body_pose (B, 23, 3, 3), transl (B, 3))``; the global orientation is not changed.
    """
    pose = body_pose

    def posed():
        return body_model(global_orient=global_orient, body_pose=pose, betas=betas, transl=transl)

    out = posed()
    seen = (confidence > 0) & ((targets - out.coco23).norm(dim=-1) <= outlier_m)
    targets = torch.where(seen[..., None], blended_targets(out.coco23, targets, blend_m), out.coco23)
    # the translation is taken from the keypoints that the limbs do not carry (torso and face)
    weight = (confidence.clamp(min=0) * seen)[..., None] * _TRUNK_MASK.to(confidence)[:, None]
    G = world_rotations(global_orient, pose)
    for k in range(passes):
        if k:
            out, G = posed(), world_rotations(global_orient, pose)
        shift = ((targets - out.coco23) * weight).sum(1) / weight.sum(1).clamp(min=1e-9)
        transl = transl + shift
        joints, keypoints = out.joints + shift[:, None], out.coco23 + shift[:, None]  # a shift needs no posing
        for limb in LIMBS:  # four independent subtrees: one posing serves them all
            pose = solve_limb(pose, G, joints, keypoints, targets, seen, limb, middle_weight)
    return pose, transl
