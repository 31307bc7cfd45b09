"""Synthetic unsynchronised captures: a moving body seen by cameras started at known times and rates.

For tests and the benchmark. The body moves smoothly
(:func:`mvmocap.calibrate.synthetic.make_motion`, smoothed, a cubic spline in time);
each camera samples it at its own times ``offset + ratio * i`` (timeline frames),
projects with the true rig and adds pixel noise, missing joints and left/right swaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.calibrate.synthetic import make_motion, make_rig
from mvmocap.geometry.camera import CameraRig
from mvmocap.keypoints import COCO23, flip_permutation
from mvmocap.sync.tracks import CameraTrack


@dataclass(frozen=True)
class UnsyncedCapture:
    """Attributes: ``tracks`` per camera, the true ``rig``, true ``offsets (C,)`` timeline frames,
    ``fps (C,)`` and ``joints_at(times) -> (T, 23, 3)`` metres, the true body at timeline times."""

    tracks: list[CameraTrack]
    rig: CameraRig
    offsets: np.ndarray
    fps: np.ndarray
    start: float
    oversample: int
    fine_joints: np.ndarray

    def joints_at(self, times) -> np.ndarray:
        from scipy.interpolate import CubicSpline

        knots = self.start + np.arange(len(self.fine_joints)) / self.oversample
        return CubicSpline(knots, self.fine_joints, axis=0)(np.asarray(times, np.float64))


def _smooth_motion(num_frames: int, rng: np.random.Generator, fps: float) -> np.ndarray:
    """:func:`make_motion` at the timeline rate, smoothed in time (its heading is a random walk)."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(make_motion(num_frames, rng, fps=fps), sigma=2.0, axis=0, mode="nearest")


def make_unsynced_capture(
    offsets,
    *,
    num_frames: int = 150,
    fps=30.0,
    timeline_fps: float = 30.0,
    seed: int = 0,
    noise_px: float = 1.0,
    missing: float = 0.05,
    swaps: float = 0.0,
    rig: CameraRig | None = None,
) -> UnsyncedCapture:
    """Cameras (one per offset) that started ``offsets`` timeline frames late, each recording ``num_frames``
    frames at ``fps`` (a number or one per camera)."""
    rng = np.random.default_rng(seed)
    offsets = np.asarray(offsets, np.float64)
    C = len(offsets)
    fps = np.broadcast_to(np.asarray(fps, np.float64), (C,)).copy()
    ratios = timeline_fps / fps
    start = float(offsets.min()) - 2
    end = float((offsets + ratios * (num_frames - 1)).max()) + 2
    fine = _smooth_motion(int(np.ceil(end - start)) + 2, rng, timeline_fps)
    rig = make_rig(C, rng, portrait=True) if rig is None else rig
    capture = UnsyncedCapture([], rig, offsets, fps, start, 1, fine)
    perm = np.array(flip_permutation(COCO23))
    tracks = []
    for c in range(C):
        joints = capture.joints_at(offsets[c] + ratios[c] * np.arange(num_frames))
        pixels = rig.subset([rig.names[c]]).project(torch.as_tensor(joints)).numpy()[:, 0]  # (F, J, 2)
        pixels = pixels + rng.normal(0, noise_px, pixels.shape)
        conf = rng.uniform(0.6, 1.0, pixels.shape[:2])
        conf[rng.random(conf.shape) < missing] = 0.0
        keypoints = np.concatenate([pixels, conf[..., None]], -1)
        swapped = rng.random(num_frames) < swaps
        keypoints[swapped] = keypoints[swapped][:, perm]
        keypoints[keypoints[..., 2] == 0] = 0.0
        boxes = np.zeros((num_frames, 5))
        boxes[:, 4] = 1.0
        size = tuple(int(v) for v in rig.sizes[c].tolist())
        tracks.append(CameraTrack(rig.names[c], keypoints, boxes, float(fps[c]), size))
    return UnsyncedCapture(tracks, rig, offsets, fps, start, 1, fine)
