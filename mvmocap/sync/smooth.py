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


FLIP_PENALTY = 0.25  # cost of flipping one frame, as a fraction of the track's typical left/right separation
MIN_JOINTS = 4


def unswap_in_time(keypoints: np.ndarray) -> np.ndarray:
    """The track with the frames whose left/right labels disagree with their neighbours' flipped back.

    A two-state (keep / flip) Viterbi over the frames with at least ``MIN_JOINTS`` confident joints:
    a transition costs the mean pixel distance between the two frames' joints as labelled, and every
    flipped frame costs ``FLIP_PENALTY`` x the median left/right separation. An isolated swapped frame
    is flipped back; a long run of swapped frames (beyond ~8) is left as the detector labelled it, and a
    single missed swap no longer flips every later frame (as a greedy pass in order would).
    """
    kp = np.array(keypoints, np.float64)
    J = kp.shape[1]
    perm = np.array(flip_permutation(COCO23[:J]))
    ok = kp[..., 2] > 0
    frames = np.flatnonzero(ok.sum(1) >= MIN_JOINTS)
    if len(frames) < 2:
        return kp
    views = np.stack([kp[frames], kp[frames][:, perm]], 1)  # (N, 2, J, 3): as labelled, flipped
    both = ok[frames][:, perm] & ok[frames]
    separation = np.where(both, np.linalg.norm(kp[frames, :, :2] - kp[frames][:, perm, :2], axis=-1), 0.0)
    penalty = FLIP_PENALTY * float(np.median(separation.sum(1) / np.maximum(both.sum(1), 1)))
    cost = np.array([0.0, penalty])
    back = np.zeros((len(frames), 2), np.int64)
    for n in range(1, len(frames)):
        a, b = views[n - 1], views[n]  # (2, J, 3)
        common = (a[:, None, :, 2] > 0) & (b[None, :, :, 2] > 0)  # (2 previous, 2 current, J)
        d = np.linalg.norm(a[:, None, :, :2] - b[None, :, :, :2], axis=-1)
        step = np.where(common.sum(-1) >= MIN_JOINTS, (d * common).sum(-1) / np.maximum(common.sum(-1), 1), 0.0)
        total = cost[:, None] + step  # (previous, current)
        back[n] = np.argmin(total, 0)
        cost = total[back[n], [0, 1]] + np.array([0.0, penalty])
    state = int(np.argmin(cost))
    for n in range(len(frames) - 1, -1, -1):
        if state:
            kp[frames[n]] = kp[frames[n], perm]
        state = back[n, state] if n else state
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


def gaussian_at(keypoints: np.ndarray, positions: np.ndarray, sigma_frames: float) -> np.ndarray:
    """The track smoothed by a Gaussian of ``sigma_frames`` and evaluated at fractional frames ``(T,)`` -> ``(T, J, 3)``.

    Kernel regression over the confident samples, ``x(s) = sum_i g(s - i) x_i / sum_i g(s - i)``, taken at
    ``s`` itself rather than smoothed on the integer frames and then interpolated. For ``sigma_frames >= 1``
    the sum of the kernel's samples hardly depends on where ``s`` falls between two frames, so neither the
    smoothing's bias (a uniform blur in time) nor the noise left (the weights' spread) depends on the
    fraction of the offset: a residual of such tracks has no preference for whole or half frames, unlike
    linear or cubic interpolation between samples (whose error is zero at a sample and largest half-way).
    Confidence: the smaller of the two neighbouring samples' (0 outside ``[0, F - 1]`` or next to a gap).
    """
    kp = np.asarray(keypoints, np.float64)
    F = len(kp)
    pos = np.asarray(positions, np.float64)
    rounded = np.round(pos)
    pos = np.where(np.abs(pos - rounded) < 1e-6, rounded, pos)  # as mvmocap.sync.resample.SNAP
    radius = int(np.ceil(4 * sigma_frames))  # the kernel's tail beyond 4 sigma (< 3e-4) is dropped
    lo = np.floor(pos).astype(np.int64)
    idx = lo[:, None] + np.arange(-radius, radius + 2)[None]  # (T, K)
    valid = (idx >= 0) & (idx < F)
    safe = np.clip(idx, 0, F - 1)
    taps = np.exp(-0.5 * ((pos[:, None] - idx) / sigma_frames) ** 2) * valid  # (T, K)
    samples = kp[safe]  # (T, K, J, 3)
    weight = taps[..., None] * (samples[..., 2] > 0)  # (T, K, J)
    den = weight.sum(1)
    xy = np.einsum("tkj,tkjd->tjd", weight, samples[..., :2]) / np.maximum(den, 1e-12)[..., None]
    a = kp[np.clip(lo, 0, F - 1), :, 2]
    b = kp[np.clip(lo + 1, 0, F - 1), :, 2]
    exact = (pos == lo)[:, None]
    conf = np.where(exact, a, np.where((a > 0) & (b > 0), np.minimum(a, b), 0.0))
    conf = np.where(((pos >= 0) & (pos <= F - 1))[:, None], conf, 0.0)
    out = np.concatenate([xy, conf[..., None]], -1)
    out[conf == 0] = 0.0
    return out
