"""Synthetic captures with moving (hand-held) cameras, for the moving-camera benchmark.

:func:`hand_held_rig`: every camera of a static rig turns about the world vertical through its own
centre (yaw) by up to ``yaw_deg`` (a random fraction in [0.5, 1] of it, random sign) and slides
``slide_m`` metres along a random horizontal direction, both following a smoothstep over
``duration_s`` seconds (then holding still): a person walking round with a phone, slowly.

:func:`moving_capture`: a motion clip (:mod:`mvmocap.synth.motion`) filmed by a sampled rig
(:func:`mvmocap.synth.rig_sampler.sample_rig`) that moves so, with the ``clean`` or ``noisy``
evidence of :mod:`mvmocap.synth.sequence` (the z-buffer occlusion of ``occluded`` needs a static
rig), and per-view monocular 3D (:class:`mvmocap.synth.mono3d.MonocularNoise`) stored as the
detections' ``mono3d`` as BlazePose's world landmarks are (visibility = the 2D confidence).

Conventions: OpenCV cameras, ``x_cam = R x_world + t``, metres, world +Z up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.frame_rig import FrameRig
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.synth.mono3d import MonocularNoise, swapped_views
from mvmocap.synth.motion import pose_clip, sample_clip
from mvmocap.synth.sequence import (SequenceConfig, SyntheticCapture, _capture_generator, _detections, _outside_unseen,
                                    condition_evidence)
from mvmocap.synth.rig_sampler import sample_rig

MOVING_SEED_OFFSET = 31_337  # the camera paths' generator, apart from the capture's


@dataclass(frozen=True)
class HandHeld:
    """How the cameras move (see the module docstring): degrees, metres, seconds."""

    yaw_deg: float = 25.0
    slide_m: float = 0.6
    duration_s: float = 3.0

    def __post_init__(self) -> None:
        if not (0 <= self.yaw_deg <= 90 and 0 <= self.slide_m <= 10 and self.duration_s > 0):
            raise InputError(f"hand-held motion out of range: yaw 0..90°, slide 0..10 m, duration > 0; got {self}")


def hand_held_rig(rig: CameraRig, num_frames: int, fps: float, motion: HandHeld, generator: torch.Generator) -> FrameRig:
    """``rig`` moving as :class:`HandHeld` says over ``num_frames`` frames at ``fps``."""
    C = len(rig)
    dtype = rig.R.dtype
    time = torch.arange(num_frames, dtype=dtype) / fps
    x = (time / motion.duration_s).clamp(0, 1)
    ease = x * x * (3 - 2 * x)  # (F,) smoothstep 0 -> 1
    sign = torch.where(torch.rand(C, generator=generator) < 0.5, -1.0, 1.0).to(dtype)
    amplitude = torch.deg2rad(torch.tensor(motion.yaw_deg, dtype=dtype)) * (0.5 + 0.5 * torch.rand(C, generator=generator).to(dtype))
    yaw = ease[:, None] * (sign * amplitude)[None]  # (F, C)
    heading = 2 * torch.pi * torch.rand(C, generator=generator).to(dtype)
    direction = torch.stack([heading.cos(), heading.sin(), torch.zeros_like(heading)], -1)  # (C, 3)
    zeros = torch.zeros_like(yaw)
    turn = axis_angle_to_matrix(torch.stack([zeros, zeros, yaw], -1))  # (F, C, 3, 3) about world +Z
    R = rig.R[None] @ turn.transpose(-1, -2)  # the camera turns by `yaw` about the vertical
    centres = rig.centers()[None] + motion.slide_m * ease[:, None, None] * direction[None]
    t = -(R @ centres[..., None]).squeeze(-1)
    rep = lambda value: value[None].expand(num_frames, *value.shape).clone()  # noqa: E731
    return FrameRig(tuple(rig.names), rep(rig.K), rep(rig.dist), R, t, rig.sizes.clone())


@dataclass(frozen=True)
class MovingCapture:
    """A capture with moving cameras: ``rig`` the true per-frame cameras, ``capture`` the rest
    (its ``rig`` is the first frame's cameras; ``capture.detections`` carries ``mono3d``)."""

    rig: FrameRig
    capture: SyntheticCapture


def moving_capture(body_model, config: SequenceConfig, seed: int, index: int, motion: HandHeld = HandHeld(),
                   mono: MonocularNoise = MonocularNoise()) -> MovingCapture:
    """Capture ``index`` of seed ``seed`` with hand-held cameras (see the module docstring)."""
    if config.condition not in ("clean", "noisy"):
        raise InputError(f"moving captures support the clean and noisy conditions, got {config.condition!r}")
    posed = pose_clip(sample_clip(seed, index, config.motion), body_model)
    g = _capture_generator(seed, index)
    centre = posed.joints[:, 0].double().mean(0)
    static, family = sample_rig(config.cameras, centre, g, families=config.rig_families)
    T = posed.coco23.shape[0]
    paths = torch.Generator().manual_seed(g.initial_seed() + MOVING_SEED_OFFSET)
    rig = hand_held_rig(static, T, config.motion.fps, motion, paths)
    joints = posed.coco23.double()
    pixels = rig.project(joints)  # (T, C, 23, 2)
    keypoints, _ = condition_evidence(config.condition, pixels, posed, static, body_model, g)
    keypoints = _outside_unseen(keypoints, pixels, joints, rig)
    visible = keypoints[..., 2] > 0
    detections = _detections(keypoints, rig, config.motion.fps, f"synthetic-{config.condition}-moving", None, visible)
    swapped = swapped_views(keypoints[..., :17, :2], pixels[..., :17, :], keypoints[..., :17, 2])
    mono3d, weight = mono.apply(joints[:, :17], rig.R, rig.t, keypoints[..., :17, 2], g, swapped)
    landmarks = torch.zeros(T, len(rig), 23, 4, dtype=torch.float64)
    landmarks[..., :17, :3], landmarks[..., :17, 3] = mono3d, weight
    detections = replace(detections, mono3d=landmarks.permute(1, 0, 2, 3).numpy().astype(np.float32))
    capture = SyntheticCapture(detections, rig.at(0), family, config.condition, posed, visible)
    return MovingCapture(rig, capture)


__all__ = ["HandHeld", "MovingCapture", "hand_held_rig", "moving_capture"]
