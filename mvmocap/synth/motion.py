"""Smooth synthetic motion clips: key poses from the pose families, interpolated in time.

A clip is ``T`` frames (60-120 by default 90) at ``fps`` frames per second:

1. Key poses are drawn from the procedural pose families (:func:`mvmocap.synth.pose_sampler.sample_poses`),
   one family per key (so a clip may go from standing to reaching to crouching).
2. Each key gets a heading (the direction the body faces, turning by at most ``max_turn`` rad from
   one key to the next) that replaces the sampler's random yaw; a tilted family (``leaning``) keeps
   its tilt.
3. Key times: random spacings in ``key_spacing_s``, lengthened where a joint would otherwise turn
   faster than ``max_joint_speed`` rad/s between two keys (plausible velocities).
4. Every joint's rotation (the global orientation and the 23 body joints) is interpolated by a
   C1 cubic Hermite spline through the keys' unit quaternions (Catmull-Rom tangents for the
   uneven key times, consecutive keys on the same hemisphere), renormalised.
5. The root walks on the floor: a speed per key (``walk_speed`` for a walking key,
   ``idle_speed`` otherwise) along the heading, both splined and integrated; the whole path is
   shortened to at most ``max_path_m`` and centred on the origin. :func:`pose_clip` then lifts
   each frame so that the body's lowest vertex touches the floor (z = 0).
6. One shape (betas) per clip.

Clip ``index`` of seed ``seed`` depends only on ``(seed, index)`` and the configuration (its own
``torch.Generator``). Conventions: world +Z up, metres, radians, axis-angle rotations, SMPL's
24-joint tree (``global_orient`` maps the body's y-up rest frame into the world, as in
:mod:`mvmocap.synth.pose_sampler`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    quaternion_to_axis_angle,
)
from mvmocap.synth.pose_sampler import ALL_FAMILIES, FAMILIES, sample_poses, yaw_about_vertical
from mvmocap.synth.shape_sampler import sample_betas

CLIP_SEED_OFFSET = 5_000_000  # keeps clip generators apart from the single-frame datasets'


@dataclass(frozen=True)
class MotionConfig:
    """How clips are made (times in seconds, angles in radians, speeds in m/s)."""

    frames: int = 90
    fps: float = 30.0
    pose_families: tuple[str, ...] = FAMILIES
    key_spacing_s: tuple[float, float] = (0.5, 1.2)
    max_joint_speed: float = 4.0
    max_turn: float = 0.8
    walk_speed: tuple[float, float] = (0.7, 1.4)
    idle_speed: tuple[float, float] = (0.0, 0.25)
    max_path_m: float = 2.0
    betas_std: float = 1.0
    betas_clip: float = 3.0

    def __post_init__(self) -> None:
        if not 2 <= self.frames <= 10_000:
            raise InputError(f"a clip needs 2..10000 frames, got {self.frames}")
        if not 1.0 <= self.fps <= 1000.0:
            raise InputError(f"fps must be in 1..1000, got {self.fps}")
        unknown = [f for f in self.pose_families if f not in ALL_FAMILIES]
        if unknown or not self.pose_families:
            raise InputError(f"unknown pose family {', '.join(unknown) or '(none given)'}; known: {', '.join(ALL_FAMILIES)}")
        low, high = self.key_spacing_s
        if not 0.05 <= low <= high:
            raise InputError(f"key_spacing_s must be 0.05 <= low <= high, got {self.key_spacing_s}")


@dataclass(frozen=True)
class MotionClip:
    """One clip's body parameters (float64).

    Attributes:
        global_orient: ``(T, 3)`` axis-angle, body rest frame -> world (+Z up).
        body_pose: ``(T, 23, 3)`` axis-angle.
        betas: ``(10,)`` one shape for the clip.
        transl: ``(T, 3)`` metres; z = 0 until :func:`pose_clip` puts the body on the floor.
        fps: frames per second.
        key_times: ``(K,)`` seconds of the key poses (some lie outside the clip).
        key_families: ``K`` family names of the key poses.
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    transl: Tensor
    fps: float
    key_times: Tensor
    key_families: tuple[str, ...]

    @property
    def num_frames(self) -> int:
        return int(self.global_orient.shape[0])


@dataclass(frozen=True)
class PosedClip:
    """A clip on the floor: ``transl (T, 3)`` (z lifted), world ``vertices (T, V, 3)``,
    ``coco23 (T, 23, 3)`` and SMPL ``joints (T, 24, 3)``, metres, float32."""

    clip: MotionClip
    transl: Tensor
    vertices: Tensor
    coco23: Tensor
    joints: Tensor


def clip_generator(seed: int, index: int) -> torch.Generator:
    """The generator of clip ``index`` of seed ``seed`` (depends on those two only)."""
    return torch.Generator().manual_seed((CLIP_SEED_OFFSET + int(seed)) * 1_000_003 + int(index) * 7_919 + 31)


def _uniform(g: torch.Generator, low: float, high: float, n: int | None = None) -> Tensor:
    shape = () if n is None else (n,)
    return low + (high - low) * torch.rand(shape, generator=g, dtype=torch.float64)


def hermite_spline(times: Tensor, values: Tensor, query: Tensor) -> Tensor:
    """C1 cubic Hermite interpolation with Catmull-Rom tangents for uneven knots.

    Args:
        times: ``(K,)`` increasing knot times (K >= 2).
        values: ``(K, ...)`` values at the knots.
        query: ``(N,)`` times within ``[times[0], times[-1]]``.

    Returns:
        ``(N, ...)``; tangents ``(v[k+1] - v[k-1]) / (t[k+1] - t[k-1])`` (one-sided at the ends).
    """
    K = times.shape[0]
    flat = values.reshape(K, -1)
    tangents = torch.empty_like(flat)
    tangents[1:-1] = (flat[2:] - flat[:-2]) / (times[2:] - times[:-2])[:, None]
    tangents[0] = (flat[1] - flat[0]) / (times[1] - times[0])
    tangents[-1] = (flat[-1] - flat[-2]) / (times[-1] - times[-2])
    k = (torch.searchsorted(times, query.contiguous(), right=True) - 1).clamp(0, K - 2)
    h = (times[k + 1] - times[k])[:, None]
    s = ((query - times[k])[:, None] / h).clamp(0.0, 1.0)
    s2, s3 = s * s, s * s * s
    h00, h10, h01, h11 = 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + s, -2 * s3 + 3 * s2, s3 - s2
    out = h00 * flat[k] + h10 * h * tangents[k] + h01 * flat[k + 1] + h11 * h * tangents[k + 1]
    return out.reshape((query.shape[0],) + values.shape[1:])


def _same_hemisphere(quaternions: Tensor) -> Tensor:
    """``(K, J, 4)`` with each key's quaternion flipped onto the previous key's hemisphere."""
    q = quaternions.clone()
    for k in range(1, q.shape[0]):
        flip = (q[k] * q[k - 1]).sum(-1, keepdim=True) < 0
        q[k] = torch.where(flip, -q[k], q[k])
    return q


def _facing(global_R: Tensor) -> Tensor:
    """Heading ``(K,)`` rad of the bodies' front (rest-frame +z) projected on the floor."""
    front = global_R[:, :, 2]
    return torch.atan2(front[:, 1], front[:, 0])


def _key_times(rotations: Tensor, g: torch.Generator, config: MotionConfig, duration: float) -> Tensor:
    """``(K,)`` key times: random spacings, each at least the time the fastest joint needs at
    ``max_joint_speed``; the first key a little before the clip starts."""
    R = axis_angle_to_matrix(rotations)  # (K, 24, 3, 3)
    rel = R[1:] @ R[:-1].transpose(-1, -2)
    cos = ((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1.0, 1.0)
    largest = torch.acos(cos).amax(-1)  # (K - 1,) rad
    spacing = torch.maximum(_uniform(g, *config.key_spacing_s, n=rotations.shape[0] - 1),
                            largest / config.max_joint_speed)
    start = -float(_uniform(g, 0.0, 0.5)) * float(spacing[0])
    times = torch.cat([torch.zeros(1, dtype=torch.float64), spacing.cumsum(0)]) + start
    if float(times[-1]) < duration:  # cannot happen with enough keys; kept as a guard
        raise InputError("internal: too few key poses for the clip")
    return times


def sample_clip(seed: int, index: int, config: MotionConfig | None = None) -> MotionClip:
    """Clip ``index`` of seed ``seed`` (see the module docstring)."""
    config = config or MotionConfig()
    g = clip_generator(seed, index)
    duration = (config.frames - 1) / config.fps
    # Enough keys for the shortest spacings, plus one on either side for the tangents.
    K = int(math.ceil(duration / config.key_spacing_s[0])) + 3
    keys = sample_poses(K, g, config.pose_families)
    families = tuple(ALL_FAMILIES[int(f)] for f in keys.family)
    global_R = axis_angle_to_matrix(keys.global_orient)
    heading = float(_uniform(g, -math.pi, math.pi)) + torch.cat(
        [torch.zeros(1, dtype=torch.float64), _uniform(g, -config.max_turn, config.max_turn, n=K - 1).cumsum(0)])
    global_R = yaw_about_vertical(heading - _facing(global_R)) @ global_R
    rotations = torch.cat([matrix_to_axis_angle(global_R)[:, None], keys.body_pose], 1)  # (K, 24, 3)
    times = _key_times(rotations, g, config, duration)
    query = torch.arange(config.frames, dtype=torch.float64) / config.fps
    quats = hermite_spline(times, _same_hemisphere(axis_angle_to_quaternion(rotations)), query)
    angles = quaternion_to_axis_angle(quats / quats.norm(dim=-1, keepdim=True))  # (T, 24, 3)

    walking = torch.tensor([f == "walking" for f in families])
    speed = torch.where(walking, _uniform(g, *config.walk_speed, n=K), _uniform(g, *config.idle_speed, n=K))
    path = _walk(times, heading, speed, query, config)
    betas = sample_betas(1, g, 10, config.betas_std, config.betas_clip)[0]
    return MotionClip(angles[:, 0], angles[:, 1:], betas, path, config.fps, times, families)


def _walk(times: Tensor, heading: Tensor, speed: Tensor, query: Tensor, config: MotionConfig) -> Tensor:
    """``(T, 3)`` root path on the floor (z = 0): the splined speed along the splined heading,
    integrated (trapezoid), shortened to ``max_path_m`` and centred on the origin."""
    h = hermite_spline(times, heading, query)
    v = hermite_spline(times, speed, query).clamp(min=0.0)
    velocity = torch.stack([v * torch.cos(h), v * torch.sin(h)], -1)  # (T, 2) m/s
    steps = 0.5 * (velocity[1:] + velocity[:-1]) / config.fps
    xy = torch.cat([torch.zeros(1, 2, dtype=velocity.dtype), steps.cumsum(0)])
    length = float(steps.norm(dim=-1).sum())
    if length > config.max_path_m:
        xy = xy * (config.max_path_m / length)
    xy = xy - 0.5 * (xy.amin(0) + xy.amax(0))
    return torch.cat([xy, torch.zeros(xy.shape[0], 1, dtype=xy.dtype)], -1)


def pose_clip(clip: MotionClip, body_model) -> PosedClip:
    """Run the body model over the clip and lift each frame onto the floor (lowest vertex at z = 0)."""
    T = clip.num_frames
    with torch.no_grad():
        out = body_model(global_orient=clip.global_orient.float(), body_pose=clip.body_pose.float(),
                         betas=clip.betas.float().expand(T, -1))
    verts = out.vertices[:, : body_model.num_vertices]
    lift = -verts[..., 2].amin(-1)  # (T,)
    transl = clip.transl.float().clone()
    transl[:, 2] = lift
    shift = transl[:, None]
    return PosedClip(clip, transl, verts + shift, out.coco23 + shift, out.joints + shift)
