"""Calibration from several people's joints at once: the people stacked along the frame axis, shared
cameras, each person's own bone lengths, the scale from person 0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mvmocap.calibrate.bundle_adjust import _Problem
from mvmocap.calibrate.from_people import calibrate_from_people_joints, stack_people
from mvmocap.calibrate.gauge import body_chain_length
from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.evaluate.calibration import compare_calibrations
from mvmocap.synth.crowd import observe, ring_rig, walking_skeleton

FRAMES = 30
HEIGHTS = (1.85, 1.50)


@pytest.fixture(scope="module")
def two_people():
    """The true rig, the true joints ``(2, F, 23, 3)`` and each person's :class:`Detections`."""
    rng = np.random.default_rng(5)
    joints = np.zeros((2, FRAMES, 23, 3))
    for n, (centre, radius) in enumerate((((-1.2, 0.0), 0.8), ((1.3, 0.3), 0.6))):
        for f in range(FRAMES):
            angle = (1 if n == 0 else -1) * 2.2 * f / FRAMES + n
            position = np.array(centre) + radius * np.array([math.cos(angle), math.sin(angle)])
            joints[n, f] = walking_skeleton(HEIGHTS[n], angle + n * math.pi, position, 0.5 * f)
    joints[..., 0] *= -1  # mirrored, the crowd's template is a real (right-handed) body
    rig = ring_rig(4)
    scene = observe(rig, joints, np.ones((2, FRAMES), bool), rng, noise=0.002, outliers=0.0)
    persons = []
    for n in range(2):
        slots = np.argmax(scene.truth == n, axis=-1)  # (C, F): every person is seen everywhere
        keypoints = np.take_along_axis(scene.keypoints, slots[..., None, None, None], axis=2)[:, :, 0]
        boxes = np.take_along_axis(scene.boxes, slots[..., None, None], axis=2)[:, :, 0]
        persons.append(Detections(rig.names, np.arange(FRAMES), keypoints.astype(np.float32),
                                  boxes.astype(np.float32), rig.sizes.numpy().astype(int), np.full(4, 30.0), "synthetic"))
    return rig, joints, persons


def test_stacking_puts_the_people_one_after_the_other(two_people):
    _, _, persons = two_people
    stacked, frame_person = stack_people(persons)
    assert stacked.num_frames == 2 * FRAMES
    np.testing.assert_array_equal(frame_person, np.repeat([0, 1], FRAMES))
    np.testing.assert_array_equal(stacked.keypoints[:, FRAMES:], persons[1].keypoints)
    other = persons[1].subset_cameras(list(reversed(persons[1].camera_names)))
    with pytest.raises(InputError, match="same cameras"):
        stack_people([persons[0], other])


def test_each_person_gets_their_own_bone_lengths():
    weight = np.ones((2, 4, 23))
    valid = np.ones((4, 23), bool)
    one = _Problem(np.zeros((2, 4, 23, 2)), weight, valid, 0, False, 4.0, 0.06)
    two = _Problem(np.zeros((2, 4, 23, 2)), weight, valid, 0, False, 4.0, 0.06, frame_person=np.array([0, 0, 1, 1]))
    assert two.G == 2 * one.G
    assert set(two.bg[two.bf < 2]).isdisjoint(two.bg[two.bf >= 2])


def test_two_people_calibrate_the_rig_and_keep_their_heights(two_people):
    rig, joints, persons = two_people
    result = calibrate_from_people_joints(persons, None, height_m=HEIGHTS[0])
    errors = compare_calibrations(result.rig, rig)
    assert errors.mean_rotation_error_deg < 0.5 and errors.mean_center_error_pct < 2.0
    assert errors.mean_focal_error_pct < 2.0
    person = np.repeat([0, 1], FRAMES)  # the stack's frames: all 60 are used (under max_frames)
    chains = [body_chain_length(result.points[person == n], result.valid[person == n]) for n in range(2)]
    true = [body_chain_length(joints[n], np.ones((FRAMES, 23), bool)) for n in range(2)]
    # person 0's height gives the scale; person 1 keeps their own (shorter) body
    assert chains[1] / chains[0] == pytest.approx(true[1] / true[0], rel=0.02)
    assert chains[0] / true[0] == pytest.approx(1.0, rel=0.05)
