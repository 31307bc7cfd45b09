"""Sanity checks: below the floor, mirrored, behind the camera, no baseline; force or not."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.calibrate.pinhole import Pinholes
from mvmocap.calibrate.sanity import CalibrationRefused, chirality, check_calibration, raise_if_refused
from mvmocap.calibrate.synthetic import look_at, make_motion


def _scene(centers):
    joints = make_motion(30, np.random.default_rng(0))
    R = np.stack([look_at(c, np.array([0.0, 0.0, 1.0])) for c in centers])
    t = -np.einsum("cij,cj->ci", R, centers)
    cams = Pinholes(R, t, np.full((len(centers), 2), 1200.0))
    weight = np.ones((len(centers),) + joints.shape[:2])
    return cams, joints, np.ones(joints.shape[:2], bool), weight


NAMES = ("a", "b", "c")


def test_a_good_rig_passes():
    cams, joints, valid, weight = _scene(np.array([[4.0, 0, 1.5], [0, 4.0, 2.0], [-3.0, -3.0, 1.0]]))
    assert check_calibration(cams, joints, valid, weight, NAMES) == []


def test_camera_below_the_floor_is_refused_unless_forced():
    cams, joints, valid, weight = _scene(np.array([[4.0, 0, 1.5], [0, 4.0, -0.8], [-3.0, -3.0, 1.0]]))
    issues = check_calibration(cams, joints, valid, weight, NAMES)
    assert len(issues) == 1 and "camera b" in issues[0].message and "below the floor" in issues[0].message
    with pytest.raises(CalibrationRefused, match="below the floor.*--force"):
        raise_if_refused(issues, force=False)
    raise_if_refused(issues, force=True)


def test_points_behind_a_camera_are_refused():
    cams, joints, valid, weight = _scene(np.array([[4.0, 0, 1.5], [0, 4.0, 2.0], [-3.0, -3.0, 1.0]]))
    R = cams.R.copy()
    R[2] = np.diag([-1.0, 1.0, -1.0]) @ R[2]  # turned around on the spot
    turned = Pinholes(R, -np.einsum("cij,cj->ci", R, cams.centers), cams.focal)
    issues = check_calibration(turned, joints, valid, weight, NAMES)
    assert any("camera c" in i.message and "behind" in i.message for i in issues)


def test_a_mirrored_body_is_refused():
    cams, joints, valid, weight = _scene(np.array([[4.0, 0, 1.5], [0, 4.0, 2.0], [-3.0, -3.0, 1.0]]))
    assert chirality(joints, valid, np.array([0.0, 0.0, 1.0])) == 1.0
    mirrored = joints * np.array([-1.0, 1.0, 1.0])
    assert chirality(mirrored, valid, np.array([0.0, 0.0, 1.0])) == 0.0
    issues = check_calibration(cams, mirrored, valid, weight, NAMES)
    assert any("mirrored" in i.message for i in issues)


def test_no_baseline_is_fatal_even_when_forced():
    centers = np.array([[4.0, 0, 1.5], [4.0, 0.05, 1.5]])
    cams, joints, valid, weight = _scene(centers)
    issues = check_calibration(cams, joints, valid, weight, ("a", "b"))
    assert issues and issues[0].fatal and "degenerate" in issues[0].message
    with pytest.raises(CalibrationRefused, match="degenerate"):
        raise_if_refused(issues, force=True)
