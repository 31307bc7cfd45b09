"""Coarse time offsets from 2D motion alone: cross-correlation of swap-invariant keypoint speeds.

Per camera, the nose and the *mid-points* of the left/right pairs (shoulders,
elbows, wrists, hips, knees, ankles), resampled to the timeline's frame spacing:
mid-points do not change when a detector swaps left and right, and missing
frames are gaps, not zeros. For every pair of cameras and every integer lag whose
overlap has enough moving samples (:func:`motion_signal`), a fundamental matrix is
fitted to those points of both views and scored by its median Sampson distance;
the smoothed minimum (a parabola through its neighbours gives a fraction) is the
pair's lag. (Cross-correlating keypoint speeds, as Pose2Sim does, picked lags 15
frames off on the shared capture.) The pairwise lags are combined by weighted
least squares with the reference fixed.
"""

from __future__ import annotations

import numpy as np

from mvmocap.errors import InputError
from mvmocap.sync.resample import interpolate, sample_positions
from mvmocap.sync.tracks import CameraTrack

PAIRS = ((5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
NOSE = 0
MIN_OVERLAP_FRACTION = 0.5  # lags whose overlap is shorter than this share of the shorter track are not tried
MIN_OVERLAP_FRAMES = 15


def swap_invariant_points(keypoints: np.ndarray, min_confidence: float = 0.2) -> np.ndarray:
    """``(F, J, 3)`` keypoints -> ``(F, 7, 3)`` the nose and 6 left/right mid-points with confidence."""
    kp = np.asarray(keypoints, np.float64)
    conf = np.where(kp[..., 2] >= min_confidence, kp[..., 2], 0.0)
    points = [np.concatenate([kp[:, NOSE, :2], conf[:, NOSE, None]], -1)]
    for left, right in PAIRS:
        c = np.minimum(conf[:, left], conf[:, right])
        mid = (kp[:, left, :2] + kp[:, right, :2]) / 2
        points.append(np.concatenate([mid, c[:, None]], -1))
    return np.stack(points, 1)


def person_scale(keypoints: np.ndarray) -> float:
    """A camera's typical person size in pixels (median extent of the confident keypoints)."""
    kp = np.asarray(keypoints, np.float64)
    sizes = []
    for frame in kp:
        ok = frame[:, 2] > 0
        if ok.sum() >= 5:
            extent = frame[ok, :2].max(0) - frame[ok, :2].min(0)
            sizes.append(float(np.linalg.norm(extent)))
    return float(np.median(sizes)) if sizes else 1.0


def timeline_points(track: CameraTrack, ratio: float) -> np.ndarray:
    """Swap-invariant points of ``track`` resampled to the timeline's frame spacing ``(N, 7, 3)``."""
    n = int(np.floor((track.num_frames - 1) * ratio)) + 1
    return interpolate(swap_invariant_points(track.keypoints), sample_positions(np.arange(n), 0.0, ratio))


def motion_signal(track: CameraTrack, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Speed signals of ``track`` on the timeline's frame spacing -> ``(values (N, 7), valid (N, 7))``.

    One channel per swap-invariant point, in person heights per frame. ``ratio``: timeline
    frames per camera frame; the track is first resampled to the timeline rate
    (N = about F_c * ratio samples, the track's own start at 0).
    """
    points = timeline_points(track, ratio)  # (N, 7, 3)
    n = len(points)
    scale = person_scale(track.keypoints)
    speed = np.zeros((n, points.shape[1]))
    valid = np.zeros((n, points.shape[1]), bool)
    if n >= 3:
        valid[1:-1] = (points[2:, :, 2] > 0) & (points[:-2, :, 2] > 0)
        speed[1:-1] = np.linalg.norm(points[2:, :, :2] - points[:-2, :, :2], axis=-1) / 2 / scale
    return speed, valid


def _lags_with_overlap(va: np.ndarray, vb: np.ndarray, max_lag: int) -> np.ndarray:
    """Integer lags (``b``'s frame ``i`` = ``a``'s ``i + lag``) whose overlap has enough valid frames."""
    a, b = va.any(1), vb.any(1)
    need = max(MIN_OVERLAP_FRAMES, int(MIN_OVERLAP_FRACTION * min(a.sum(), b.sum())))
    lags = []
    for lag in range(-max_lag, max_lag + 1):
        i0, i1 = max(0, -lag), min(len(b), len(a) - lag)
        if i1 - i0 >= need and int((a[i0 + lag:i1 + lag] & b[i0:i1]).sum()) >= need:
            lags.append(lag)
    return np.array(lags or [0])


def pairwise_lags(tracks: list[CameraTrack], ratios: np.ndarray, max_lag: int | None = None, *,
                  signals: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The epipolar lag of every pair of cameras: ``lags (C, C)`` timeline frames, ``lags[a, b] = o_b - o_a``
    (antisymmetric), and ``scores (C, C)``, the median Sampson distance (px) at that lag (inf where the pair
    shares too few frames: its lag says nothing; 0 on the diagonal). ``signals``: :func:`motion_signal` of
    each track when already computed."""
    C = len(tracks)
    signals = signals if signals is not None else [motion_signal(t, r) for t, r in zip(tracks, ratios)]
    points = [timeline_points(t, r) for t, r in zip(tracks, ratios)]
    if max_lag is None:
        max_lag = max(len(s[0]) for s in signals) - MIN_OVERLAP_FRAMES
    lags, scores = np.zeros((C, C)), np.zeros((C, C))
    for a in range(C):
        for b in range(a + 1, C):
            lag, score = epipolar_lag(points[a], points[b], _lags_with_overlap(signals[a][1], signals[b][1], max_lag))
            lags[a, b], lags[b, a] = lag, -lag
            scores[a, b] = scores[b, a] = score
    return lags, scores


def coarse_offsets(
    tracks: list[CameraTrack], ratios: np.ndarray, reference: int, *, max_lag: int | None = None,
    pinned: dict[int, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(C,)`` in timeline frames (reference = 0 unless pinned) and each camera's mean epipolar score (px).

    ``pinned``: camera index -> a known offset (``--offset``), kept as given.
    """
    C = len(tracks)
    pinned = dict(pinned or {})
    signals = [motion_signal(t, r) for t, r in zip(tracks, ratios)]
    for track, (_, valid) in zip(tracks, signals):
        if valid.any(1).sum() < MIN_OVERLAP_FRAMES:
            raise InputError(
                f"camera {track.name}: too few frames with a detected person ({int(valid.any(1).sum())}) to estimate its "
                "time offset; give it with --offset CAMERA=FRAMES or use --sync none"
            )
    lags, peaks = pairwise_lags(tracks, ratios, max_lag, signals=signals)  # peaks: pairwise epipolar scores
    rows, rhs, weights = [], [], []
    for a in range(C):
        for b in range(a + 1, C):
            row = np.zeros(C)
            row[b], row[a] = 1.0, -1.0  # o_b - o_a = lag
            rows.append(row)
            rhs.append(lags[a, b])
            weights.append(1.0 / max(peaks[a, b], 0.5) ** 2 if np.isfinite(peaks[a, b]) else 1e-6)
    fixed = pinned if pinned else {reference: 0.0}
    for c, value in fixed.items():
        row = np.zeros(C)
        row[c] = 1.0
        rows.append(row)
        rhs.append(value)
        weights.append(1e6)
    A, y, w = np.array(rows), np.array(rhs), np.sqrt(np.array(weights))
    offsets = np.linalg.lstsq(A * w[:, None], y * w, rcond=None)[0]
    for c, value in pinned.items():
        offsets[c] = value
    quality = np.array([peaks[c][np.arange(C) != c].mean() if C > 1 else 1.0 for c in range(C)])
    return offsets, quality


# -- epipolar check of the lag (view-independent, sharper than speeds) -----------------------------

MAX_CORRESPONDENCES = 700


def _sampson(F: np.ndarray, xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Sampson distances (px) of correspondences ``xa, xb (N, 2)`` under ``F`` (``xb^T F xa = 0``)."""
    ha = np.concatenate([xa, np.ones((len(xa), 1))], 1)
    hb = np.concatenate([xb, np.ones((len(xb), 1))], 1)
    Fa, Ftb = ha @ F.T, hb @ F
    num = np.einsum("ni,ni->n", hb, Fa) ** 2
    den = Fa[:, 0] ** 2 + Fa[:, 1] ** 2 + Ftb[:, 0] ** 2 + Ftb[:, 1] ** 2
    return np.sqrt(num / np.maximum(den, 1e-12))


def epipolar_score(points_a: np.ndarray, points_b: np.ndarray, lag: int) -> float:
    """Median Sampson distance (px) of a fundamental matrix fitted to ``a[i + lag]`` and ``b[i]``.

    ``points_* (N, K, 3)`` swap-invariant points with confidence on the timeline spacing. The
    matrix: normalised 8-point on all correspondences, then once more on those within 3 median
    distances (fast and deterministic). inf when fewer than 30 correspondences overlap.
    """
    import cv2

    i0, i1 = max(0, -lag), min(len(points_b), len(points_a) - lag)
    if i1 - i0 < 3:
        return np.inf
    pa, pb = points_a[i0 + lag:i1 + lag], points_b[i0:i1]
    ok = (pa[..., 2] > 0) & (pb[..., 2] > 0)
    xa, xb = pa[ok][:, :2].astype(np.float64), pb[ok][:, :2].astype(np.float64)
    if len(xa) < 30:
        return np.inf
    keep = np.ones(len(xa), bool)
    for _ in range(2):
        F, _ = cv2.findFundamentalMat(xa[keep], xb[keep], cv2.FM_8POINT)
        if F is None or F.shape != (3, 3):
            return np.inf
        distances = _sampson(F, xa, xb)
        median = float(np.median(distances))
        keep = distances <= 3 * median + 1e-9
        if keep.sum() < 30:
            break
    return median


def epipolar_lag(points_a, points_b, lags: np.ndarray) -> tuple[float, float]:
    """The lag with the lowest :func:`epipolar_score` (scores smoothed over 3 lags), refined by a parabola
    -> (lag, score px)."""
    scores = np.array([epipolar_score(points_a, points_b, int(lag)) for lag in lags])
    finite = np.isfinite(scores)
    if not finite.any():
        return 0.0, np.inf
    filled = np.where(finite, scores, scores[finite].max() * 2)
    smooth = np.convolve(np.pad(filled, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    smooth[~finite] = np.inf
    k = int(np.argmin(smooth))
    best = float(lags[k])
    if 0 < k < len(lags) - 1 and np.isfinite(smooth[k - 1]) and np.isfinite(smooth[k + 1]):
        y0, y1, y2 = smooth[k - 1], smooth[k], smooth[k + 1]
        curvature = y0 - 2 * y1 + y2
        if curvature > 0:
            best += float(np.clip(0.5 * (y0 - y2) / curvature, -0.5, 0.5))
    return best, float(scores[k])
