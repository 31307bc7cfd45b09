"""Single-person selection and IoU tracking."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.detect.tracking import PersonTracker, box_iou, salience


def test_box_iou_known_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 5, 5]])
    np.testing.assert_allclose(box_iou(a, b)[0], [1.0, 50 / 150, 0.0, 25 / 100])


def test_box_iou_symmetric(rng):
    lo = rng.uniform(0, 50, (6, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(1, 30, (6, 2))], axis=1)
    iou = box_iou(boxes, boxes)
    np.testing.assert_allclose(iou, iou.T)
    np.testing.assert_allclose(np.diag(iou), 1.0)
    assert np.all((iou >= 0) & (iou <= 1))


def test_salience_prefers_large_central():
    image = (100, 200)
    central = [40, 80, 60, 120, 1.0]
    corner = [0, 0, 20, 40, 1.0]  # same size, off-centre
    large = [0, 0, 40, 80, 1.0]
    s = salience(np.array([central, corner, large]), image)
    assert s[0] > s[1] and s[2] > s[0]


def test_tracker_keeps_the_target_when_a_bigger_person_appears():
    tracker = PersonTracker((100, 200))
    target = np.array([40, 80, 60, 120, 0.9])
    assert tracker.select(target[None]) == 0
    intruder = np.array([0, 0, 90, 190, 0.9])
    moved = target + np.array([2, 1, 2, 1, 0])
    assert tracker.select(np.stack([intruder, moved])) == 1


def test_tracker_empty_frames_and_reacquire():
    tracker = PersonTracker((100, 200), patience=2)
    assert tracker.select(np.zeros((0, 5))) is None
    assert tracker.select(np.array([[10, 10, 30, 50, 0.8]])) == 0
    far = np.array([[60, 100, 90, 190, 0.8]])
    # a non-overlapping person is not taken for the target at once ...
    assert tracker.select(far) is None
    assert tracker.select(far) is None
    # ... but after `patience` frames the tracker starts over
    assert tracker.select(far) == 0


@pytest.mark.parametrize("n", [1, 3])
def test_tracker_first_choice_is_most_salient(n, rng):
    boxes = np.zeros((n, 5))
    for i in range(n):
        x, y = rng.uniform(0, 50), rng.uniform(0, 100)
        boxes[i] = [x, y, x + 10 + 10 * i, y + 20 + 20 * i, 1.0]
    assert PersonTracker((100, 200)).select(boxes) == int(np.argmax(salience(boxes, (100, 200))))
