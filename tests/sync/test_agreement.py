"""The pairwise lags' loop check that refuses a sync without cameras the 2D motion cannot support."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.errors import InputError
from mvmocap.sync.agreement import check_lag_agreement, loop_misclosure
from mvmocap.sync.tracks import CameraTrack

OFFSETS = np.array([0, 4, -3, 7])  # camera c's frame i shows scene frame OFFSETS[c] + i + BASE
LENGTH = 45
BASE = 3


def _lags(offsets) -> np.ndarray:
    o = np.asarray(offsets, np.float64)
    return o[None, :] - o[:, None]  # lags[a, b] = o_b - o_a


def test_true_lags_close_every_loop():
    worst, where = loop_misclosure(_lags(OFFSETS), np.ones((4, 4), bool))
    assert worst == pytest.approx(0.0) and where is not None


def test_one_wrong_pair_opens_the_loops_through_it():
    lags = _lags(OFFSETS)
    lags[1, 3] += 10.0
    lags[3, 1] -= 10.0
    worst, where = loop_misclosure(lags, np.ones((4, 4), bool))
    assert worst == pytest.approx(10.0)
    assert {1, 3} <= set(where)


def test_uninformative_pairs_and_pinned_cameras():
    lags = _lags(OFFSETS)
    lags[0, 2], lags[2, 0] = 30.0, -30.0  # a pair that shares no frames: its lag says nothing
    informative = np.ones((4, 4), bool)
    informative[0, 2] = informative[2, 0] = False
    assert loop_misclosure(lags, informative)[0] == pytest.approx(0.0)
    # two pinned cameras: their given difference replaces the measured lag
    lags = _lags(OFFSETS)
    lags[0, 1], lags[1, 0] = 0.0, 0.0
    assert loop_misclosure(lags, np.ones((4, 4), bool))[0] == pytest.approx(4.0)
    assert loop_misclosure(lags, np.ones((4, 4), bool), pinned={0: 0.0, 1: 4.0})[0] == pytest.approx(0.0)
    assert loop_misclosure(_lags([0, 3]), np.ones((2, 2), bool)) == (0.0, None)  # two cameras: nothing to check


def _tracks(rng, stranger: bool = False) -> list[CameraTrack]:
    """One person moving freely, seen by a ring of 4 cameras out of sync by ``OFFSETS``; ``stranger``: the
    last camera sees someone else's motion, so its lags with the others are chance."""
    from scipy.ndimage import gaussian_filter1d

    from mvmocap.calibrate.synthetic import make_motion
    from mvmocap.synth.crowd import observe, ring_rig

    rig = ring_rig(4)
    total = LENGTH + OFFSETS.max() + BASE
    motions = [gaussian_filter1d(make_motion(total, rng), sigma=2.0, axis=0, mode="nearest") for _ in range(2)]
    views = [observe(rig, m[None], np.ones((1, total), bool), rng, noise=0.002, outliers=0.0) for m in motions]
    tracks = []
    for c, name in enumerate(rig.names):
        scene = views[1 if stranger and c == 3 else 0]
        own = np.arange(LENGTH) + OFFSETS[c] + BASE
        slot = np.argmax(scene.boxes[c, own, :, 4], axis=1)  # the person's slot (slots are shuffled)
        tracks.append(CameraTrack(name, scene.keypoints[c, own, slot].astype(np.float64),
                                  scene.boxes[c, own, slot].astype(np.float64), 30.0,
                                  tuple(int(v) for v in rig.sizes[c].tolist())))
    return tracks


def test_consistent_views_pass_and_a_camera_that_fits_any_lag_is_refused():
    rng = np.random.default_rng(7)
    assert check_lag_agreement(_tracks(rng), np.ones(4)) < 1.0
    with pytest.raises(InputError, match=r"disagree \(cam.* -> cam.* adds up to .* not 0 within 9\).*--offset CAMERA"):
        check_lag_agreement(_tracks(rng, stranger=True), np.ones(4))
    rng = np.random.default_rng(7)
    _tracks(rng)
    every = {c: float(o) for c, o in enumerate(OFFSETS)}  # --offset for each camera: nothing left to check
    assert check_lag_agreement(_tracks(rng, stranger=True), np.ones(4), pinned=every) == 0.0

