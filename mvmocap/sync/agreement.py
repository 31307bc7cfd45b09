"""Do the cameras' pairwise time lags agree? A check of the coarse sync before it is trusted without cameras.

The coarse search (:mod:`mvmocap.sync.coarse`) finds one lag per pair of cameras, ``lags[a, b] = o_b - o_a``
(timeline frames), and combines them by least squares. True lags close every loop of three cameras:
``lags[a, b] + lags[b, c] - lags[a, c] = 0``. When they do not, at least one pair's lag is wrong and the least
squares spreads the error over the offsets; without cameras nothing later can undo a large one (the refinement
searches ``RefineSettings.window`` = 3 frames around the coarse offsets, and the calibration adapts to wrong offsets).
A loop sums three lags, each of which the refinement can still move by its window: ``LOOP_TOLERANCE`` = 9 frames.

Measured (``benchmarks/multiperson_calibration.py``, section 4; README, "Several people"): the synthetic
two-person capture of ``tests/reconstruct/test_people_sync.py`` closes its loops within 0.62 frames; the shared
two-person capture (uncut, and cut by 0,3,7,12 and 5,0,9,2 frames), whose people barely move, misses by 73-79
frames, and the offsets it gave without cameras were 5-31 frames off; the one-person demo through the same
multi-person path misses by 4.9 frames and its offsets without cameras agree with the single-person path's.
"""

from __future__ import annotations

import itertools
from typing import Mapping, Sequence

import numpy as np

from mvmocap.errors import InputError

LOOP_TOLERANCE = 9.0  # frames: a loop sums 3 lags, each of which the refinement can still move by its 3-frame window


def pairwise_lags(tracks: Sequence, ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coarse search's lag for every pair of cameras, as :func:`mvmocap.sync.coarse.coarse_offsets` finds them.

    Args:
        tracks: ``C`` :class:`~mvmocap.sync.tracks.CameraTrack`, each over its own frames.
        ratios: ``(C,)`` timeline frames per camera frame.
    Returns:
        ``lags (C, C)`` timeline frames, ``lags[a, b] = o_b - o_a`` (antisymmetric), and ``scores (C, C)``: the
        median Sampson distance (px) at that lag, inf where the pair shares too few frames (its lag says nothing).
    """
    from mvmocap.sync.coarse import MIN_OVERLAP_FRAMES, _lags_with_overlap, epipolar_lag, motion_signal, timeline_points

    C = len(tracks)
    signals = [motion_signal(t, r) for t, r in zip(tracks, ratios)]
    points = [timeline_points(t, r) for t, r in zip(tracks, ratios)]
    max_lag = max(len(s[0]) for s in signals) - MIN_OVERLAP_FRAMES
    lags, scores = np.zeros((C, C)), np.full((C, C), np.inf)
    for a, b in itertools.combinations(range(C), 2):
        lag, score = epipolar_lag(points[a], points[b], _lags_with_overlap(signals[a][1], signals[b][1], max_lag))
        lags[a, b], lags[b, a] = lag, -lag
        scores[a, b] = scores[b, a] = score
    return lags, scores


def loop_misclosure(lags: np.ndarray, informative: np.ndarray,
                    pinned: Mapping[int, float] | None = None) -> tuple[float, tuple[int, int, int] | None]:
    """The largest ``|lags[a, b] + lags[b, c] - lags[a, c]|`` over camera triplets ``a < b < c`` (frames) and its
    triplet; ``(0.0, None)`` when no triplet can be checked (fewer than 3 cameras, or too few informative pairs).

    ``lags (C, C)``: ``o_b - o_a`` per pair; ``informative (C, C)`` bool: pairs whose lag was measured.
    ``pinned``: camera index -> offset given by the user; between two pinned cameras the given difference
    replaces the measured lag. Triplets of three pinned cameras, or holding an uninformative pair, are skipped.
    """
    lags, known = np.array(lags, np.float64), np.array(informative, bool)
    pinned = dict(pinned or {})
    for a, b in itertools.permutations(pinned, 2):
        lags[a, b], known[a, b] = pinned[b] - pinned[a], True
    worst, where = 0.0, None
    for a, b, c in itertools.combinations(range(len(lags)), 3):
        if {a, b, c} <= set(pinned) or not (known[a, b] and known[b, c] and known[a, c]):
            continue
        miss = abs(lags[a, b] + lags[b, c] - lags[a, c])
        if where is None or miss > worst:
            worst, where = float(miss), (a, b, c)
    return worst, where


def check_lag_agreement(tracks: Sequence, ratios: np.ndarray, pinned: Mapping[int, float] | None = None,
                        tolerance: float = LOOP_TOLERANCE) -> float:
    """Refuse offsets the 2D motion cannot support: raise when the pairwise lags of ``tracks`` miss a loop of
    three cameras by more than ``tolerance`` frames; see the module docstring. Returns the largest misclosure.

    Raises:
        InputError: one line naming the cameras and what to give instead (cameras or ``--offset``).
    """
    lags, scores = pairwise_lags(tracks, ratios)
    worst, where = loop_misclosure(lags, np.isfinite(scores), pinned)
    if where is not None and worst > tolerance:
        names = " -> ".join(tracks[c].name for c in (*where, where[0]))
        raise InputError(
            f"--sync auto without cameras: the time lags between the cameras' views of the main person disagree "
            f"({names} adds up to {worst:.1f} frames, not 0 within {tolerance:g}), so no offsets can be trusted; "
            "give the cameras (reconstruct --calibration FILE) or the offsets (--offset CAMERA=FRAMES for each camera)")
    return worst
