"""Calibration from joints with two people in view: per-camera 2D tracks, the assignment of one
person across cameras by epipolar cost, then calibration from that person's joints."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mvmocap.detect.people import PeopleDetections
from mvmocap.errors import InputError
from mvmocap.evaluate.calibration import compare_calibrations
from mvmocap.reconstruct.people_calibrate import (
    calibrate_from_people,
    calibrate_people_cameras,
    epipolar_cost,
    rank_assignments,
)
from mvmocap.synth.crowd import observe, ring_rig, walking_skeleton

FRAMES = 40


def _arcs(rng) -> np.ndarray:
    """``(2, F, 23, 3)``: two people walking on arcs 2.5 m apart (turning, so every camera sees them from
    many sides), never overlapping in the ring's views for long."""
    joints = np.zeros((2, FRAMES, 23, 3))
    for n, (centre, radius, height) in enumerate((((-1.2, 0.0), 0.8, 1.80), ((1.3, 0.3), 0.6, 1.60))):
        for f in range(FRAMES):
            angle = (1 if n == 0 else -1) * 2.2 * f / FRAMES + n
            position = np.array(centre) + radius * np.array([math.cos(angle), math.sin(angle)])
            joints[n, f] = walking_skeleton(height, angle + (0 if n == 0 else math.pi), position, 0.5 * f)
    joints[..., 0] *= -1  # the crowd's template has its left side on its right: mirrored, it is a real body
    return joints


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(3)
    rig = ring_rig(4)
    scene = observe(rig, _arcs(rng), np.ones((2, FRAMES), bool), rng, noise=0.002, outliers=0.0)
    people = PeopleDetections(rig.names, np.arange(FRAMES), scene.keypoints.astype(np.float32),
                              scene.boxes.astype(np.float32), rig.sizes.numpy().astype(int), np.full(4, 30.0),
                              "synthetic")
    return rig, scene, people


def _owners(slots: np.ndarray, truth: np.ndarray) -> list[set[int]]:
    """The true people behind each camera's slots ``(C, F)``."""
    return [{int(truth[c, f, slots[c, f]]) for f in np.flatnonzero(slots[c] >= 0)} for c in range(len(slots))]


def test_the_same_person_fits_one_epipolar_geometry_and_two_people_do_not(scene):
    _, s, _ = scene
    def slots_of(c, n):
        return np.array([int(np.flatnonzero(s.truth[c, f] == n)[0]) if (s.truth[c, f] == n).any() else -1
                         for f in range(FRAMES)])
    same = epipolar_cost(s.keypoints[0], slots_of(0, 0), s.keypoints[1], slots_of(1, 0))
    other = epipolar_cost(s.keypoints[0], slots_of(0, 0), s.keypoints[1], slots_of(1, 1))
    assert same < 3.0 and other > 3 * same
    assert epipolar_cost(s.keypoints[0], slots_of(0, 0), s.keypoints[1], np.full(FRAMES, -1)) == np.inf


def test_one_person_is_followed_across_cameras_and_calibrates_the_rig(scene):
    rig, s, people = scene
    best_slots, _ = rank_assignments(people)[0]
    owners = _owners(best_slots, s.truth)
    assert all(len(o) == 1 for o in owners) and len(set.union(*owners)) == 1  # one person, in every camera
    chosen = calibrate_from_people(people, height_m=1.80)
    np.testing.assert_array_equal(chosen.slots, best_slots)
    errors = compare_calibrations(chosen.result.rig, rig).cameras
    assert max(c.rotation_error_deg for c in errors) < 1.0
    assert max(c.center_error_pct for c in errors) < 3.0


def test_no_person_in_every_camera_is_refused(scene):
    _, _, people = scene
    empty = PeopleDetections(people.camera_names, people.frame_ids, people.keypoints.copy(), people.boxes.copy(),
                             people.image_sizes, people.fps, "synthetic")
    empty.keypoints[2] = 0
    empty.boxes[2] = 0
    with pytest.raises(InputError, match="no person is seen by every camera"):
        rank_assignments(empty)


def test_every_person_calibrates_the_rig_after_association(scene):
    rig, s, people = scene
    found = calibrate_people_cameras(people, height_m=1.80, max_people=2, min_track_frames=10, rounds=1)
    assert found.rounds[-1]["people"] == 2
    for slots in found.person_slots:  # each kept person is one true person in every camera
        owners = _owners(slots, s.truth)
        assert all(len(o) == 1 for o in owners) and len(set.union(*owners)) == 1
    assert _owners(found.person_slots[0], s.truth)[0] != _owners(found.person_slots[1], s.truth)[0]
    errors = compare_calibrations(found.result.rig, rig)
    assert errors.mean_rotation_error_deg < 0.5 and errors.mean_center_error_pct < 2.0
    with pytest.raises(InputError, match="rounds must be >= 1"):
        calibrate_people_cameras(people, rounds=0)


def test_joints_of_a_person_covered_by_another_box_are_left_out():
    """Camera 0: the person's box half covered by a second detection in frame 1 only; camera 1: alone."""
    from mvmocap.reconstruct.people_calibrate import unoccluded

    keypoints = np.zeros((2, 3, 2, 23, 3), np.float32)
    keypoints[..., 2] = 0.9
    boxes = np.zeros((2, 3, 2, 5), np.float32)
    boxes[:, :, 0] = [100, 100, 200, 300, 0.9]  # the person, slot 0 (area 20000)
    boxes[0, 1, 1] = [150, 100, 250, 300, 0.9]  # covers half of it
    boxes[0, 2, 1] = [190, 100, 290, 300, 0.9]  # covers a tenth
    people = PeopleDetections(("a", "b"), np.arange(3), keypoints, boxes, np.array([[640, 480]] * 2),
                              np.full(2, 30.0), "t")
    slots = np.zeros((2, 3), np.int64)
    kept = unoccluded(people, slots, 0.3).keypoints[..., 2]  # (C, F, 23)
    np.testing.assert_allclose(kept.max(-1), [[0.9, 0.0, 0.9], [0.9, 0.9, 0.9]], rtol=1e-6)
    assert unoccluded(people, slots, 0.05).keypoints[0, 2, :, 2].max() == 0  # a tenth > 5 %
    np.testing.assert_array_equal(unoccluded(people, slots, None).keypoints, people.select(slots).keypoints)
