"""Temporal clean-up of a 2D track before sub-frame interpolation.

Interpolating between two noisy samples averages their noise, so a raw track
looks *less* noisy half-way between frames, and a residual cost would prefer
half-frame offsets. Smoothing every track a little first (a Gaussian of about one
frame, over confident samples only) removes that bias; left/right swaps are
first undone by temporal continuity so they do not smear into their neighbours.
Shapes: ``keypoints (F, J, 3)`` x, y pixels and confidence.
"""

from __future__ import annotations

import numpy as np

from mvmocap.keypoints import COCO23, flip_permutation


def unswap_in_time(keypoints: np.ndarray) -> np.ndarray:
    """Flip the frames whose left/right labels disagree with the previous frame's (greedy, in order)."""
    kp = np.array(keypoints, np.float64)
    J = kp.shape[1]
    perm = np.array(flip_permutation(COCO23[:J]))
    previous = None
    for f in range(len(kp)):
        ok = kp[f, :, 2] > 0
        if previous is not None:
            both = ok & (previous[:, 2] > 0)
            both_flip = ok[perm] & (previous[:, 2] > 0)
            if both.sum() >= 4 and both_flip.sum() >= 4:
                keep = np.linalg.norm(kp[f, :, :2] - previous[:, :2], axis=-1)[both].mean()
                flip = np.linalg.norm(kp[f, perm, :2] - previous[:, :2], axis=-1)[both_flip].mean()
                if flip < 0.5 * keep:
                    kp[f] = kp[f, perm]
                    ok = kp[f, :, 2] > 0
        if ok.sum() >= 4:
            previous = np.where(ok[:, None], kp[f], previous if previous is not None else kp[f])
    return kp


def smooth_track(keypoints: np.ndarray, sigma_frames: float = 1.0) -> np.ndarray:
    """Gaussian smoothing in time over confident samples (normalised convolution); confidences unchanged."""
    kp = np.array(keypoints, np.float64)
    if sigma_frames <= 0:
        return kp
    radius = int(np.ceil(3 * sigma_frames))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
    weight = (kp[..., 2] > 0).astype(np.float64)  # (F, J)
    F = len(kp)
    num = np.zeros(kp.shape[:2] + (2,))
    den = np.zeros(kp.shape[:2])
    for k, tap in zip(range(-radius, radius + 1), taps):
        lo, hi = max(0, -k), min(F, F - k)
        w = weight[lo + k:hi + k] * tap
        num[lo:hi] += w[..., None] * kp[lo + k:hi + k, :, :2]
        den[lo:hi] += w
    smoothed = np.where(den[..., None] > 0, num / np.maximum(den, 1e-12)[..., None], 0.0)
    kp[..., :2] = np.where(weight[..., None] > 0, smoothed, 0.0)
    return kp
