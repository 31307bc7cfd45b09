"""Procedural SMPL poses over anatomically bounded joint angles (no motion-capture data needed).

A pose is built from a handful of interpretable limb angles per *family*
(standing, walking, reaching, crouching, sitting, arms overhead), with coupled
limb motions (walking: opposite legs and arm/leg counter-swing; crouching and
sitting: knee flexion follows hip flexion), then small per-joint noise, then
clamped to per-joint limits. Global orientation = SMPL's y-up rest frame turned
to the world's +Z up, then a uniform rotation about the vertical (and, for the opt-in
:data:`EXTRA_FAMILIES`, a tilt off the vertical).

SMPL rest-frame axes used for the angles: y up, z = subject's front, x = subject's
left. Hip flexion (thigh forward) is a negative rotation about x, knee flexion a
positive one; the upper arm direction is given by an elevation from hanging
down (0) to straight up (pi) and an azimuth from sideways (0) to forward (pi/2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

FAMILIES = ("standing", "walking", "reaching", "crouching", "sitting", "arms_overhead")
"""The default families (the synthetic benchmark's)."""
EXTRA_FAMILIES = ("leg_raise", "leaning", "gesturing")
"""Opt-in families: one leg raised high; a torso bent and the whole body tilted off the vertical
(these two have their global orientation tilted too, see :data:`FAMILY_TILT`); and an upright body
whose arms move independently over wide ranges (any elevation up to 149 degrees with the elbow bent
up to 126 degrees, azimuth from 46 degrees behind the sideways direction to past the front)."""
ALL_FAMILIES = FAMILIES + EXTRA_FAMILIES
# Range (radians) of the tilt of the whole body off the vertical, about a random horizontal axis.
FAMILY_TILT = {"leg_raise": (0.0, 0.4), "leaning": (0.15, 0.8)}

# SMPL joint indices.
L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2, L_ANKLE, R_ANKLE, SPINE3 = 1, 2, 3, 4, 5, 6, 7, 8, 9
L_FOOT, R_FOOT, NECK, L_COLLAR, R_COLLAR, HEAD, L_SHOULDER, R_SHOULDER = 10, 11, 12, 13, 14, 15, 16, 17
L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HAND, R_HAND = 18, 19, 20, 21, 22, 23

# Per-joint bounds on the axis-angle components (x, y, z), radians, for the joints whose rotation
# is built as a single small or single-axis rotation. Hips and shoulders are bounded through the
# ranges of their limb angles instead (their rotations are compositions).
JOINT_LIMITS = {
    SPINE1: ((-0.4, 0.7), (-0.4, 0.4), (-0.3, 0.3)),
    SPINE2: ((-0.3, 0.5), (-0.4, 0.4), (-0.3, 0.3)),
    SPINE3: ((-0.3, 0.5), (-0.4, 0.4), (-0.3, 0.3)),
    L_KNEE: ((0.0, 2.5), (-0.15, 0.15), (-0.1, 0.1)),
    R_KNEE: ((0.0, 2.5), (-0.15, 0.15), (-0.1, 0.1)),
    L_ANKLE: ((-0.6, 0.6), (-0.3, 0.3), (-0.3, 0.3)),
    R_ANKLE: ((-0.6, 0.6), (-0.3, 0.3), (-0.3, 0.3)),
    L_FOOT: ((-0.3, 0.3), (-0.1, 0.1), (-0.1, 0.1)),
    R_FOOT: ((-0.3, 0.3), (-0.1, 0.1), (-0.1, 0.1)),
    NECK: ((-0.4, 0.6), (-0.6, 0.6), (-0.3, 0.3)),
    HEAD: ((-0.3, 0.4), (-0.4, 0.4), (-0.3, 0.3)),
    L_COLLAR: ((-0.2, 0.2), (-0.2, 0.2), (-0.2, 0.3)),
    R_COLLAR: ((-0.2, 0.2), (-0.2, 0.2), (-0.3, 0.2)),
    L_ELBOW: ((-0.8, 0.8), (-2.6, 0.05), (-0.3, 0.3)),
    R_ELBOW: ((-0.8, 0.8), (-0.05, 2.6), (-0.3, 0.3)),
    L_WRIST: ((-0.5, 0.5), (-0.4, 0.4), (-0.9, 0.9)),
    R_WRIST: ((-0.5, 0.5), (-0.4, 0.4), (-0.9, 0.9)),
    L_HAND: ((-0.3, 0.3), (-0.2, 0.2), (-0.5, 0.5)),
    R_HAND: ((-0.3, 0.3), (-0.2, 0.2), (-0.5, 0.5)),
}

# The rotation that turns SMPL's rest frame (y up, z front) into the world (+Z up): +90 deg about x.
Y_UP_TO_Z_UP = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)


@dataclass(frozen=True)
class PoseSample:
    """``global_orient (N, 3)`` axis-angle (rest frame -> world, +Z up), ``body_pose (N, 23, 3)``
    axis-angle (SMPL joints 1..23), ``family (N,)`` long index into :data:`ALL_FAMILIES`."""

    global_orient: Tensor
    body_pose: Tensor
    family: Tensor


Generators = Union[torch.Generator, Sequence[torch.Generator]]
"""One generator for the whole batch, or one per sample (then sample ``i`` depends on its own
generator only, and the maths still runs batched)."""


def _rand(n: int, g: Generators, shape: tuple[int, ...] = (), dtype: torch.dtype = torch.float64) -> Tensor:
    """``(n, *shape)`` uniform [0, 1) draws."""
    if isinstance(g, torch.Generator):
        return torch.rand((n,) + shape, generator=g, dtype=dtype)
    return torch.stack([torch.rand(shape, generator=gi, dtype=dtype) for gi in g]) if n else torch.zeros((0,) + shape, dtype=dtype)


def _randn(n: int, g: Generators, shape: tuple[int, ...] = ()) -> Tensor:
    """``(n, *shape)`` standard normal float64 draws."""
    if isinstance(g, torch.Generator):
        return torch.randn((n,) + shape, generator=g, dtype=torch.float64)
    return torch.stack([torch.randn(shape, generator=gi, dtype=torch.float64) for gi in g]) if n else torch.zeros((0,) + shape, dtype=torch.float64)


def _subset(g: Generators, idx: Tensor) -> Generators:
    return g if isinstance(g, torch.Generator) else [g[int(i)] for i in idx]


def _uniform(n: int, low: float, high: float, g: Generators) -> Tensor:
    return low + (high - low) * _rand(n, g)


def _rotation_between(a: Tensor, b: Tensor) -> Tensor:
    """Axis-angle ``(N, 3)`` of the smallest rotation taking unit ``a (N, 3)`` to unit ``b (N, 3)``."""
    axis = torch.linalg.cross(a, b)
    s = axis.norm(dim=-1, keepdim=True)
    c = (a * b).sum(-1, keepdim=True)
    return axis / s.clamp(min=1e-12) * torch.atan2(s, c)


def _compose(first: Tensor, then: Tensor) -> Tensor:
    """Axis-angle of ``R(then) @ R(first)``."""
    return matrix_to_axis_angle(axis_angle_to_matrix(then) @ axis_angle_to_matrix(first))


def _arm(elevation: Tensor, azimuth: Tensor, twist: Tensor, left: bool) -> tuple[Tensor, Tensor]:
    """Shoulder rotation as ``(first, then)`` axis-angles ``(N, 3)`` to compose (:func:`_compose`):
    a twist about the rest arm (+-x), then the rest arm -> the direction given by elevation/azimuth."""
    side = 1.0 if left else -1.0
    d = torch.stack(
        [side * torch.sin(elevation) * torch.cos(azimuth), -torch.cos(elevation), torch.sin(elevation) * torch.sin(azimuth)],
        dim=-1,
    )
    rest = torch.tensor([side, 0.0, 0.0], dtype=d.dtype).expand_as(d)
    return rest * twist[:, None], _rotation_between(rest, d)


def _hip(flexion: Tensor, abduction: Tensor, twist: Tensor, left: bool) -> tuple[Tensor, Tensor]:
    """Hip rotation as ``(first, then)`` axis-angles ``(N, 3)``: flexion (thigh forward, rad) with a
    twist about the thigh, then abduction (outward)."""
    side = 1.0 if left else -1.0
    zeros = torch.zeros_like(flexion)
    return torch.stack([-flexion, twist * side, zeros], -1), torch.stack([zeros, zeros, side * abduction], -1)


def _family_angles(family: str, n: int, g: Generators) -> dict[str, Tensor]:
    """Limb angles of one family, each ``(n,)`` radians."""
    U = lambda lo, hi: _uniform(n, lo, hi, g)  # noqa: E731
    a: dict[str, Tensor] = {
        "spine": U(-0.1, 0.2), "hip_abd_l": U(0.0, 0.2), "hip_abd_r": U(0.0, 0.2),
        "hip_flex_l": U(-0.15, 0.2), "hip_flex_r": U(-0.15, 0.2), "knee_l": U(0.0, 0.2), "knee_r": U(0.0, 0.2),
        "arm_el_l": U(0.1, 0.7), "arm_el_r": U(0.1, 0.7), "arm_az_l": U(-0.3, 0.9), "arm_az_r": U(-0.3, 0.9),
        "elbow_l": U(0.0, 0.9), "elbow_r": U(0.0, 0.9),
    }
    if family == "walking":
        phase, amp = U(0.0, 2 * math.pi), U(0.2, 0.5)
        swing = amp * torch.sin(phase)
        a["hip_flex_l"], a["hip_flex_r"] = swing, -swing
        a["knee_l"] = 0.1 + 0.9 * torch.clamp(torch.sin(phase + 1.2), min=0) * amp / 0.5
        a["knee_r"] = 0.1 + 0.9 * torch.clamp(torch.sin(phase + 1.2 + math.pi), min=0) * amp / 0.5
        arm = 0.8 * swing  # arms swing against the legs on the same side
        a["arm_el_l"], a["arm_az_l"] = 0.25 + arm.abs(), torch.where(arm < 0, math.pi / 2, -math.pi / 2) * 0.9
        a["arm_el_r"], a["arm_az_r"] = 0.25 + arm.abs(), torch.where(arm > 0, math.pi / 2, -math.pi / 2) * 0.9
        a["elbow_l"], a["elbow_r"] = U(0.2, 0.7), U(0.2, 0.7)
    elif family == "reaching":
        a["arm_el_l"], a["arm_az_l"] = U(0.7, 2.3), U(-0.3, 1.5)
        a["arm_el_r"], a["arm_az_r"] = U(0.7, 2.3), U(-0.3, 1.5)
        one_arm = _rand(n, g, dtype=torch.float32) < 0.5
        left_rests = _rand(n, g, dtype=torch.float32) < 0.5
        rest_el = U(0.1, 0.5)
        a["arm_el_l"] = torch.where(one_arm & left_rests, rest_el, a["arm_el_l"])
        a["arm_el_r"] = torch.where(one_arm & ~left_rests, rest_el, a["arm_el_r"])
        a["elbow_l"], a["elbow_r"] = U(0.0, 0.6), U(0.0, 0.6)
        a["spine"] = U(0.0, 0.5)
    elif family == "crouching":
        hip = U(1.0, 1.9)
        a["hip_flex_l"], a["hip_flex_r"] = hip + U(-0.15, 0.15), hip + U(-0.15, 0.15)
        a["knee_l"], a["knee_r"] = (hip + U(0.4, 0.7)).clamp(max=2.4), (hip + U(0.4, 0.7)).clamp(max=2.4)
        a["hip_abd_l"], a["hip_abd_r"] = U(0.1, 0.5), U(0.1, 0.5)
        a["spine"] = U(0.2, 0.6)
        a["arm_el_l"], a["arm_el_r"] = U(0.6, 1.5), U(0.6, 1.5)
        a["arm_az_l"], a["arm_az_r"] = U(0.6, 1.5), U(0.6, 1.5)
        a["elbow_l"], a["elbow_r"] = U(0.2, 1.2), U(0.2, 1.2)
    elif family == "sitting":
        hip = U(1.3, 1.7)
        a["hip_flex_l"], a["hip_flex_r"] = hip + U(-0.1, 0.1), hip + U(-0.1, 0.1)
        a["knee_l"], a["knee_r"] = hip + U(-0.3, 0.2), hip + U(-0.3, 0.2)
        a["hip_abd_l"], a["hip_abd_r"] = U(0.0, 0.3), U(0.0, 0.3)
        a["spine"] = U(-0.1, 0.3)
        a["arm_el_l"], a["arm_el_r"] = U(0.35, 0.8), U(0.35, 0.8)
        a["arm_az_l"], a["arm_az_r"] = U(0.8, 1.4), U(0.8, 1.4)
        a["elbow_l"], a["elbow_r"] = U(1.0, 1.9), U(1.0, 1.9)
    elif family == "arms_overhead":
        a["arm_el_l"], a["arm_el_r"] = U(2.4, 3.0), U(2.4, 3.0)
        a["arm_az_l"], a["arm_az_r"] = U(-0.2, 0.5), U(-0.2, 0.5)
        a["elbow_l"], a["elbow_r"] = U(0.0, 0.6), U(0.0, 0.6)
    elif family == "leg_raise":
        left = _rand(n, g, dtype=torch.float32) < 0.5
        flex, abd, knee = U(0.5, 1.9), U(0.0, 0.7), U(0.0, 2.0)
        a["hip_flex_l"], a["hip_flex_r"] = torch.where(left, flex, a["hip_flex_l"]), torch.where(left, a["hip_flex_r"], flex)
        a["hip_abd_l"], a["hip_abd_r"] = torch.where(left, abd, a["hip_abd_l"]), torch.where(left, a["hip_abd_r"], abd)
        a["knee_l"], a["knee_r"] = torch.where(left, knee, a["knee_l"]), torch.where(left, a["knee_r"], knee)
        a["arm_el_l"], a["arm_el_r"] = U(0.3, 2.0), U(0.3, 2.0)
        a["arm_az_l"], a["arm_az_r"] = U(-0.3, 1.2), U(-0.3, 1.2)
        a["spine"] = U(-0.1, 0.5)
    elif family == "leaning":
        a["spine"] = U(0.2, 0.9)
        a["hip_abd_l"], a["hip_abd_r"] = U(0.0, 0.4), U(0.0, 0.4)
        a["hip_flex_l"], a["hip_flex_r"] = U(-0.2, 0.6), U(-0.2, 0.6)
        a["knee_l"], a["knee_r"] = U(0.0, 0.8), U(0.0, 0.8)
        a["arm_el_l"], a["arm_el_r"] = U(0.1, 2.5), U(0.1, 2.5)
        a["arm_az_l"], a["arm_az_r"] = U(-0.5, 1.5), U(-0.5, 1.5)
        a["elbow_l"], a["elbow_r"] = U(0.0, 1.5), U(0.0, 1.5)
    elif family == "gesturing":
        a["spine"] = U(-0.1, 0.4)
        a["hip_flex_l"], a["hip_flex_r"] = U(-0.2, 0.5), U(-0.2, 0.5)
        a["knee_l"], a["knee_r"] = U(0.0, 0.6), U(0.0, 0.6)
        a["arm_el_l"], a["arm_el_r"] = U(0.1, 2.6), U(0.1, 2.6)
        a["arm_az_l"], a["arm_az_r"] = U(-0.8, 1.6), U(-0.8, 1.6)
        a["elbow_l"], a["elbow_r"] = U(0.0, 2.2), U(0.0, 2.2)
    elif family != "standing":
        raise InputError(f"unknown pose family {family!r}; known: {', '.join(ALL_FAMILIES)}")
    return a


def _family_body_pose(family: str, n: int, g: Generators) -> Tensor:
    """``(n, 23, 3)`` axis-angle body pose of one family, within :data:`JOINT_LIMITS`."""
    a = _family_angles(family, n, g)
    pose = torch.zeros(n, 24, 3, dtype=torch.float64)
    # Small independent variation everywhere first, then the family's limb angles on top.
    pose += 0.08 * _randn(n, g, (24, 3))
    for j in (SPINE1, SPINE2, SPINE3):
        pose[:, j, 0] += a["spine"] / 3
    parts = [
        _hip(a["hip_flex_l"], a["hip_abd_l"], _uniform(n, -0.3, 0.3, g), left=True),
        _hip(a["hip_flex_r"], a["hip_abd_r"], _uniform(n, -0.3, 0.3, g), left=False),
    ]
    pose[:, L_KNEE, 0] = a["knee_l"]
    pose[:, R_KNEE, 0] = a["knee_r"]
    parts += [
        _arm(a["arm_el_l"], a["arm_az_l"], _uniform(n, -0.5, 0.5, g), left=True),
        _arm(a["arm_el_r"], a["arm_az_r"], _uniform(n, -0.5, 0.5, g), left=False),
    ]
    # One batched composition for both hips and both shoulders.
    composed = _compose(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])).reshape(4, n, 3)
    for k, j in enumerate((L_HIP, R_HIP, L_SHOULDER, R_SHOULDER)):
        pose[:, j] = composed[k]
    # Keep the feet roughly flat: the ankle undoes part of the shank's tilt.
    for hip, knee, ankle in ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)):
        pose[:, ankle, 0] += -0.5 * (pose[:, knee, 0] - 0.8 * pose[:, hip, 0].clamp(max=0).abs())
    pose[:, L_ELBOW, 1] = -a["elbow_l"]
    pose[:, R_ELBOW, 1] = a["elbow_r"]
    for j, limits in JOINT_LIMITS.items():
        for k, (lo, hi) in enumerate(limits):
            pose[:, j, k] = pose[:, j, k].clamp(lo, hi)
    return pose[:, 1:]


def yaw_about_vertical(yaw: Tensor) -> Tensor:
    """World rotation matrices ``(N, 3, 3)`` about +Z by ``yaw (N,)`` radians."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    return torch.stack([c, -s, zero, s, c, zero, zero, zero, one], -1).reshape(-1, 3, 3)


def tilt_off_vertical(low: float, high: float, n: int, g: Generators) -> Tensor:
    """World rotations ``(n, 3, 3)`` by an angle uniform in ``[low, high)`` radians about a horizontal
    axis of uniform direction (a body tilted off the +Z vertical)."""
    angle = _uniform(n, low, high, g)
    heading = _uniform(n, -math.pi, math.pi, g)
    axis = torch.stack([torch.cos(heading), torch.sin(heading), torch.zeros_like(heading)], -1)
    return axis_angle_to_matrix(axis * angle[:, None])


def sample_poses(
    n: int,
    generator: Generators,
    families: tuple[str, ...] | list[str] = FAMILIES,
    family_weights: list[float] | None = None,
    reject_penetrations: int = 8,
) -> PoseSample:
    """Draw ``n`` procedural poses (float64).

    Args:
        n: number of poses.
        generator: the only source of randomness: one generator, or ``n`` (one per sample).
        families: which families to draw from (names in :data:`ALL_FAMILIES`; the default
            :data:`FAMILIES` keeps bodies upright).
        family_weights: relative probabilities of ``families`` (uniform if None).
        reject_penetrations: up to this many redraws of the poses whose limbs interpenetrate
            (:func:`plausibility` on a generic adult SMPL skeleton, body-model independent).
    """
    unknown = [f for f in families if f not in ALL_FAMILIES]
    if unknown or not families:
        raise InputError(f"unknown or no pose families {unknown}; known: {', '.join(ALL_FAMILIES)}")
    w = torch.ones(len(families), dtype=torch.float64) if family_weights is None else torch.as_tensor(
        family_weights, dtype=torch.float64
    )
    if w.shape != (len(families),) or (w < 0).any() or w.sum() <= 0:
        raise InputError(f"family_weights must be {len(families)} non-negative numbers, got {family_weights}")
    if isinstance(generator, torch.Generator):
        choice = torch.multinomial(w, n, replacement=True, generator=generator)
    else:
        if len(generator) != n:
            raise InputError(f"{len(generator)} generators for {n} poses")
        choice = torch.cat([torch.multinomial(w, 1, replacement=True, generator=g) for g in generator]) if n else \
            torch.zeros(0, dtype=torch.long)
    body_pose = torch.zeros(n, 23, 3, dtype=torch.float64)
    for i, name in enumerate(families):
        idx = (choice == i).nonzero().squeeze(-1)
        if idx.numel():
            body_pose[idx] = _family_body_pose(name, idx.numel(), _subset(generator, idx))
    for _ in range(reject_penetrations):
        bad = skeleton_penetrations(body_pose).nonzero().squeeze(-1)
        if bad.numel() == 0:
            break
        for i, name in enumerate(families):
            idx = bad[choice[bad] == i]
            if idx.numel():
                body_pose[idx] = _family_body_pose(name, idx.numel(), _subset(generator, idx))
    yaw = _uniform(n, -math.pi, math.pi, generator)
    global_R = yaw_about_vertical(yaw) @ Y_UP_TO_Z_UP
    for i, name in enumerate(families):
        idx = (choice == i).nonzero().squeeze(-1)
        if name in FAMILY_TILT and idx.numel():
            global_R[idx] = tilt_off_vertical(*FAMILY_TILT[name], idx.numel(), _subset(generator, idx)) @ global_R[idx]
    family = torch.tensor([ALL_FAMILIES.index(families[int(c)]) for c in choice], dtype=torch.long)
    return PoseSample(matrix_to_axis_angle(global_R), body_pose, family)


def floor_translation(vertices: Tensor, generator: Generators, spread: float = 0.5) -> Tensor:
    """Translation ``(N, 3)`` m putting each body's lowest vertex on the floor (z = 0) at a random spot.

    ``vertices (N, V, 3)`` posed with zero translation (world, +Z up); the horizontal
    position of the body's bounding-box centre is uniform in a disc of radius ``spread``
    metres around the origin.
    """
    n = vertices.shape[0]
    r = spread * torch.sqrt(_rand(n, generator))
    phi = 2 * math.pi * _rand(n, generator)
    per_axis = vertices.transpose(-1, -2).to(torch.float64)  # (N, 3, V): reductions along the contiguous dim
    low, high = per_axis.amin(-1), per_axis.amax(-1)
    centre = 0.5 * (low + high)  # centre of the bounding box
    return torch.stack([r * torch.cos(phi) - centre[:, 0], r * torch.sin(phi) - centre[:, 1], -low[:, 2]], -1)


# -- plausibility ---------------------------------------------------------------------------------

# Body segments between SMPL joints with a capsule radius (m), for the self-penetration check.
_CAPSULES = {
    "torso": (0, 12, 0.11), "head": (15, 15, 0.10),
    "l_thigh": (1, 4, 0.065), "r_thigh": (2, 5, 0.065), "l_shank": (4, 7, 0.045), "r_shank": (5, 8, 0.045),
    "l_upperarm": (16, 18, 0.04), "r_upperarm": (17, 19, 0.04),
    "l_forearm": (18, 20, 0.03), "r_forearm": (19, 21, 0.03),
}
_PENETRATION_PAIRS = (
    ("l_forearm", "torso"), ("r_forearm", "torso"), ("l_forearm", "head"), ("r_forearm", "head"),
    ("l_thigh", "r_thigh"), ("l_shank", "r_shank"), ("l_shank", "r_thigh"), ("r_shank", "l_thigh"),
    ("l_forearm", "l_thigh"), ("r_forearm", "r_thigh"), ("l_forearm", "r_forearm"),
    ("l_upperarm", "head"), ("r_upperarm", "head"),
)


def _segment_distance(p0: Tensor, p1: Tensor, q0: Tensor, q1: Tensor, samples: int = 16) -> Tensor:
    """Approximate distance between segments ``p0-p1`` and ``q0-q1`` (each ``(N, 3)``) by dense sampling."""
    s = torch.linspace(0, 1, samples, dtype=p0.dtype)
    P = p0[:, None] + s[None, :, None] * (p1 - p0)[:, None]
    Q = q0[:, None] + s[None, :, None] * (q1 - q0)[:, None]
    return torch.cdist(P, Q).flatten(1).amin(-1)


def skeleton_penetrations(body_pose: Tensor) -> Tensor:
    """``(N,)`` bool: :func:`plausibility`'s self-penetration on a generic adult SMPL skeleton
    posed by ``body_pose (N, 23, 3)`` (axis-angle; global orientation irrelevant)."""
    from mvmocap.synth.toy_body import REST_JOINTS, SMPL_PARENTS, rigid_transforms

    n = body_pose.shape[0]
    rot = axis_angle_to_matrix(torch.cat([torch.zeros(n, 1, 3, dtype=body_pose.dtype), body_pose], 1))
    rest = torch.as_tensor(REST_JOINTS, dtype=body_pose.dtype).expand(n, 24, 3)
    joints, _ = rigid_transforms(rot, rest, torch.as_tensor(SMPL_PARENTS))
    return plausibility(joints, torch.zeros(n, 23, 3, dtype=body_pose.dtype))["self_penetration"]


def plausibility(joints: Tensor, coco23: Tensor, margin: float = 0.03) -> dict[str, Tensor]:
    """Per-sample plausibility flags from posed SMPL joints.

    Args:
        joints: ``(N, 24, 3)`` SMPL joints, world (+Z up), body on the floor.
        coco23: ``(N, 23, 3)`` keypoints (feet at 17..22).
        margin: metres of allowed capsule overlap (soft tissue).

    Returns:
        ``self_penetration (N,)`` bool: two non-adjacent limb capsules overlap by more than ``margin``;
        ``lowest_not_foot (N,)`` bool: the lowest keypoint is not an ankle or foot point
        (a knee, hand or the pelvis would touch the floor first).
    """
    hit = torch.zeros(joints.shape[0], dtype=torch.bool)
    for a, b in _PENETRATION_PAIRS:
        ja, jb, ra = _CAPSULES[a]
        ka, kb, rb = _CAPSULES[b]
        d = _segment_distance(joints[:, ja], joints[:, jb], joints[:, ka], joints[:, kb])
        hit |= d < ra + rb - margin
    lowest = coco23[..., 2].argmin(-1)
    feet = torch.tensor([15, 16, 17, 18, 19, 20, 21, 22])
    return {"self_penetration": hit, "lowest_not_foot": ~torch.isin(lowest, feet)}
