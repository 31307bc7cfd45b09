"""Resample per-camera 2D tracks onto the common timeline (offsets and frame-rate ratios applied).

A camera with offset ``o`` and rate ratio ``r`` shows timeline frame ``tau`` at its
own (fractional) frame ``s = (tau - o) / r``. Keypoints are interpolated linearly
between the two neighbouring samples only when both are confident (the confidence
is the smaller of the two); anything outside the recorded span ``0 <= s <= F_c - 1``
or next to a missing sample has confidence 0. Shapes: ``(C,)`` per-camera values.
"""

from __future__ import annotations

import numpy as np

from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.sync.tracks import CameraTrack

SNAP = 1e-6  # a sample position this close to an integer uses that frame alone


def sample_positions(timeline: np.ndarray, offset: float, ratio: float) -> np.ndarray:
    """Each timeline frame ``(T,)`` as a fractional frame of the camera ``(T,)``."""
    return (np.asarray(timeline, np.float64) - offset) / ratio


def interpolate(values: np.ndarray, positions: np.ndarray, *, cubic: bool = False) -> np.ndarray:
    """Values with confidence last ``(F, ..., D+1)`` at fractional frames ``(T,)`` -> ``(T, ..., D+1)``.

    Linear between confident neighbours; confidence 0 (and values 0) outside ``[0, F - 1]``
    or where either neighbour is missing. ``cubic``: Catmull-Rom where the two outer
    neighbours are confident too (linear elsewhere).
    """
    values = np.asarray(values, np.float64)
    F = values.shape[0]
    pos = np.asarray(positions, np.float64)
    rounded = np.round(pos)
    pos = np.where(np.abs(pos - rounded) < SNAP, rounded, pos)
    inside = (pos >= 0) & (pos <= F - 1)
    lo = np.clip(np.floor(pos), 0, F - 1).astype(np.int64)
    hi = np.clip(lo + 1, 0, F - 1)
    w = np.clip(pos - lo, 0.0, 1.0)
    shape = (-1,) + (1,) * (values.ndim - 1)
    a, b = values[lo], values[hi]
    w = w.reshape(shape)
    out = (1 - w) * a + w * b
    if cubic:
        out = _catmull_rom(values, lo, w, out)
    conf_a, conf_b = a[..., -1], b[..., -1]
    exact = (w[..., 0] == 0)
    conf = np.where(exact, conf_a, np.where((conf_a > 0) & (conf_b > 0), np.minimum(conf_a, conf_b), 0.0))
    conf = np.where(inside.reshape(shape[:-1] if values.ndim > 1 else (-1,)), conf, 0.0)
    out[..., -1] = conf
    out[conf == 0] = 0.0
    return out


def _catmull_rom(values: np.ndarray, lo: np.ndarray, w: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """Catmull-Rom through samples ``lo - 1 .. lo + 2`` where all four are confident, else ``linear``."""
    F = values.shape[0]
    idx = [np.clip(lo + k, 0, F - 1) for k in (-1, 0, 1, 2)]
    samples = [values[i] for i in idx]
    t = w
    weights = [(-t**3 + 2 * t**2 - t) / 2, (3 * t**3 - 5 * t**2 + 2) / 2, (-3 * t**3 + 4 * t**2 + t) / 2, (t**3 - t**2) / 2]
    inside = ((lo - 1 >= 0) & (lo + 2 <= F - 1)).reshape((-1,) + (1,) * (values.ndim - 2))
    confident = inside & np.all([smp[..., -1] > 0 for smp in samples], axis=0)
    cubic = sum(wt * smp for wt, smp in zip(weights, samples))
    out = linear.copy()
    out[..., :-1] = np.where(confident[..., None], cubic[..., :-1], linear[..., :-1])
    return out


def covered_span(tracks: list[CameraTrack], offsets: np.ndarray, ratios: np.ndarray) -> tuple[float, float]:
    """The timeline interval ``[first, last]`` every camera recorded (may be empty: first > last)."""
    starts = np.asarray(offsets, np.float64)
    ends = starts + np.asarray(ratios) * np.array([t.num_frames - 1 for t in tracks])
    return float(starts.max()), float(ends.min())


def common_timeline(tracks: list[CameraTrack], offsets: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Integer timeline frames ``(T,)`` that every camera recorded.

    Raises :class:`InputError` naming the cameras when the offsets leave no common frame
    (an offset larger than a video's length).
    """
    offsets = np.asarray(offsets, np.float64)
    first, last = covered_span(tracks, offsets, ratios)
    lo, hi = int(np.ceil(first - SNAP)), int(np.floor(last + SNAP))
    if hi - lo + 1 < 2:
        ends = offsets + np.asarray(ratios) * np.array([t.num_frames - 1 for t in tracks])
        late = int(np.argmax(offsets))
        early = int(np.argmin(ends))
        raise InputError(
            f"time offsets exceed the videos' length: camera {tracks[late].name} starts at timeline frame "
            f"{offsets[late]:+.2f} but camera {tracks[early].name} ends at {ends[early]:.2f}; no frame is common to "
            "all cameras. Check the --offset values, or cut the videos so they overlap in time"
        )
    return np.arange(lo, hi + 1, dtype=np.int64)


def resample_keypoints(tracks: list[CameraTrack], offsets, ratios, timeline: np.ndarray, *, cubic: bool = False) -> np.ndarray:
    """Every camera's keypoints at the timeline frames -> ``(C, T, J, 3)``."""
    return np.stack([
        interpolate(t.keypoints, sample_positions(timeline, o, r), cubic=cubic) for t, o, r in zip(tracks, offsets, ratios)
    ])


def resample_detections(
    tracks: list[CameraTrack], offsets, ratios, *, detector: str, timeline: np.ndarray | None = None,
    timeline_fps: float | None = None,
) -> Detections:
    """:class:`Detections` of ``tracks`` on ``timeline`` (default: the frames every camera recorded).

    ``offsets (C,)`` timeline frames, ``ratios (C,)`` timeline frames per camera frame;
    ``timeline_fps`` is written as every camera's rate (they now share it).
    """
    offsets = np.asarray(offsets, np.float64)
    ratios = np.asarray(ratios, np.float64)
    if len(offsets) != len(tracks) or len(ratios) != len(tracks):
        raise InputError(f"need one offset and one rate ratio per camera ({len(tracks)})")
    if timeline is None:
        timeline = common_timeline(tracks, offsets, ratios)
    keypoints = resample_keypoints(tracks, offsets, ratios, timeline)
    boxes = np.stack([interpolate(t.boxes, sample_positions(timeline, o, r)) for t, o, r in zip(tracks, offsets, ratios)])
    mono3d = None
    if any(t.mono3d is not None for t in tracks):
        mono3d = np.stack([
            interpolate(t.mono3d, sample_positions(timeline, o, r)) if t.mono3d is not None
            else np.zeros(keypoints.shape[1:3] + (4,)) for t, o, r in zip(tracks, offsets, ratios)
        ]).astype(np.float32)
    fps = timeline_fps if timeline_fps is not None else max(t.fps for t in tracks)
    return Detections(
        camera_names=tuple(t.name for t in tracks),
        frame_ids=np.asarray(timeline, np.int64),
        keypoints=keypoints.astype(np.float32),
        boxes=boxes.astype(np.float32),
        image_sizes=np.array([t.image_size for t in tracks], dtype=np.int64),
        fps=np.full(len(tracks), float(fps)),
        detector=detector,
        mono3d=mono3d,
    )
