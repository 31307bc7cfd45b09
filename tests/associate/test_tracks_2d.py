"""Per-camera 2D tracks (no cameras): Hungarian on box overlap + keypoint distance."""

from __future__ import annotations

import numpy as np

from mvmocap.associate.tracks_2d import box_iou, track_camera, track_salience


def _view(rng, frames: int, gap: tuple[int, int] | None = None, shuffle: bool = True):
    """Two people drifting apart in one camera, in shuffled slots; person 1 unseen over ``gap`` frames.
    Returns keypoints ``(F, 3, 23, 3)``, boxes ``(F, 3, 5)`` and the true person per slot ``(F, 3)``."""
    keypoints = np.zeros((frames, 3, 23, 3))
    boxes = np.zeros((frames, 3, 5))
    truth = np.full((frames, 3), -1)
    shape = rng.uniform(0, 1, (23, 2)) * np.array([60.0, 180.0])
    for f in range(frames):
        slots = rng.permutation(3) if shuffle else np.arange(3)
        for n, (x, scale) in enumerate(((100.0 + 2 * f, 1.0), (400.0 - 3 * f, 0.8))):
            if n == 1 and gap is not None and gap[0] <= f < gap[1]:
                continue
            points = shape * scale + np.array([x, 50.0]) + rng.normal(0, 1.5, (23, 2))
            keypoints[f, slots[n]] = np.concatenate([points, np.full((23, 1), 0.9)], axis=1)
            boxes[f, slots[n]] = [*points.min(0), *points.max(0), 0.9]
            truth[f, slots[n]] = n
    return keypoints, boxes, truth


def _owner(slots: np.ndarray, truth: np.ndarray) -> set[int]:
    seen = np.flatnonzero(slots >= 0)
    return {int(truth[f, slots[f]]) for f in seen}


def test_two_people_keep_their_tracks_through_shuffled_slots(rng):
    keypoints, boxes, truth = _view(rng, 40)
    tracks = track_camera(keypoints, boxes)
    assert tracks.shape == (2, 40) and (tracks >= 0).all()
    assert [_owner(t, truth) for t in tracks] == [{0}, {1}]  # one person each, never swapped
    salience = track_salience(tracks, boxes, image_diagonal=1000.0)
    assert salience[0] > salience[1] > 0  # as long, but person 0 is larger


def test_a_short_gap_keeps_the_track_and_a_long_one_starts_a_new_track(rng):
    keypoints, boxes, truth = _view(rng, 40, gap=(10, 15))
    tracks = track_camera(keypoints, boxes, max_gap=10)
    assert len(tracks) == 2 and (tracks[1] >= 0).sum() == 35
    keypoints, boxes, truth = _view(rng, 40, gap=(10, 25))
    tracks = track_camera(keypoints, boxes, max_gap=10)
    assert len(tracks) == 3 and [_owner(t, truth) for t in tracks] == [{0}, {1}, {1}]
    assert np.flatnonzero(tracks[2] >= 0)[0] == 25


def test_empty_frames_and_no_people():
    keypoints, boxes = np.zeros((5, 2, 23, 3)), np.zeros((5, 2, 5))
    assert track_camera(keypoints, boxes).shape == (0, 5)
    keypoints[2, 1, :, 2] = 0.9
    boxes[2, 1] = [0, 0, 10, 10, 0.9]
    tracks = track_camera(keypoints, boxes)
    np.testing.assert_array_equal(tracks, [[-1, -1, 1, -1, -1]])


def test_box_iou():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 10.0]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0.0, 1.0]])
