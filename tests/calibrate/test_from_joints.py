"""End to end on synthetic captures: 2-8 cameras, noise, missing joints, swaps, unknown focal lengths."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from mvmocap.calibrate import CalibrationRefused, calibrate_from_joints
from mvmocap.calibrate.synthetic import SYNTHETIC_HEIGHT_M, make_capture, make_rig
from mvmocap.errors import InputError
from mvmocap.evaluate.calibration import compare_calibrations


@pytest.mark.parametrize(
    ("num_cameras", "seed", "known"),
    [(2, 31, True), (4, 32, True), (8, 33, True), (3, 34, False)],
)
def test_recovers_the_rig(num_cameras, seed, known):
    cap = make_capture(num_cameras, 60, seed=seed, noise_px=3.0, missing=0.1, swaps=0.05, outliers=0.01)
    intrinsics = cap.rig if known else None
    result = calibrate_from_joints(cap.detections, intrinsics, height_m=SYNTHETIC_HEIGHT_M, progress=False)
    comparison = compare_calibrations(result.rig, cap.rig)
    assert comparison.mean_rotation_error_deg < (0.5 if known else 1.0)
    assert comparison.mean_center_error_pct < (1.0 if known else 2.0)
    if not known:
        assert comparison.mean_focal_error_pct < 3.0
    # metric, floor-based world: the scale is right to a few percent, +Z is nearly up, the true feet
    # touch our floor (z = 0 up to the 3 cm of the synthetic sole) and the pelvis is above the origin
    assert comparison.scale == pytest.approx(1.0, abs=0.06)
    up = comparison.rotation @ np.array([0.0, 0.0, 1.0])
    assert np.degrees(np.arccos(up[2])) < 12.0
    truth_in_ours = (cap.joints - comparison.translation) @ comparison.rotation / comparison.scale
    np.testing.assert_allclose(np.median(truth_in_ours[:, 15:, 2].min(1)), 0.03, atol=0.08)
    np.testing.assert_allclose(truth_in_ours[:, 11:13, :2].mean((0, 1)), 0.0, atol=0.2)  # tilt x pelvis height
    assert (result.rig.centers()[:, 2] > 0.3).all()
    report = result.report
    assert [c.name for c in report.cameras] == list(cap.rig.names)
    assert all(c.reprojection_px < 5.0 and c.points_used > 200 and not c.weak for c in report.cameras)
    assert sum(c.swapped_views for c in report.cameras) >= 0.8 * cap.swapped.sum() or num_cameras == 2
    assert all(name in report.to_text() for name in cap.rig.names)


def test_one_shared_focal_length():
    cap = make_capture(3, 50, seed=44, focal=(1300.0, 1300.0), portrait=True)
    result = calibrate_from_joints(cap.detections, None, same_focal=True, progress=False)
    focal = result.rig.K[:, 0, 0]
    assert torch.all(focal == focal[0]) and abs(float(focal[0]) / 1300.0 - 1) < 0.02
    assert compare_calibrations(result.rig, cap.rig).mean_rotation_error_deg < 0.5
    mixed = replace(cap.detections, image_sizes=np.array([[1080, 1920], [1920, 1080], [1080, 1920]]))
    with pytest.raises(InputError, match="same size"):
        calibrate_from_joints(mixed, None, same_focal=True, progress=False)


def test_known_intrinsics_are_kept_as_given():
    cap = make_capture(3, 40, seed=35, distortion=True)
    result = calibrate_from_joints(cap.detections, cap.rig, progress=False)
    torch.testing.assert_close(result.rig.K, cap.rig.K)
    torch.testing.assert_close(result.rig.dist, cap.rig.dist)
    assert compare_calibrations(result.rig, cap.rig).mean_rotation_error_deg < 0.5


def test_2d_only_detections_use_the_essential_initialisation():
    """OpenPose JSON gives no monocular 3D: the essential-matrix chain alone must do."""
    cap = make_capture(3, 50, seed=42)
    result = calibrate_from_joints(replace(cap.detections, mono3d=None), cap.rig, progress=False)
    assert result.report.initialisation == "essential"
    assert compare_calibrations(result.rig, cap.rig).mean_rotation_error_deg < 0.5


def test_one_camera_is_refused():
    cap = make_capture(2, 20, seed=36)
    with pytest.raises(InputError, match="at least 2 cameras"):
        calibrate_from_joints(cap.detections.subset_cameras(["cam02"]), None, progress=False)


def test_static_person_without_baseline_is_refused_even_forced():
    rng = np.random.default_rng(37)
    rig = make_rig(2, rng, radius=(4.0, 4.0))
    # the second camera 3 cm beside the first, looking the same way
    t = rig.t.clone()
    t[1] = t[0] + torch.tensor([0.03, 0.0, 0.0], dtype=torch.float64)
    R = rig.R.clone()
    R[1] = R[0]
    rig = type(rig)(rig.names, rig.K, rig.dist, R, t, rig.sizes)
    cap = make_capture(rig=rig, num_frames=40, seed=37, static=True)
    for intrinsics in (cap.rig, None):
        with pytest.raises(CalibrationRefused, match="degenerate|too few"):
            calibrate_from_joints(cap.detections, intrinsics, force=True, progress=False)


def test_static_person_with_baseline_is_calibrated():
    cap = make_capture(3, 40, seed=41, static=True)
    result = calibrate_from_joints(cap.detections, cap.rig, progress=False)
    assert compare_calibrations(result.rig, cap.rig).mean_rotation_error_deg < 1.0
    assert not result.report.weak and not result.report.issues


def test_a_camera_without_joints_is_refused():
    cap = make_capture(3, 30, seed=38)
    det = cap.detections
    keypoints = det.keypoints.copy()
    keypoints[2] = 0.0
    empty = replace(det, keypoints=keypoints)
    with pytest.raises(CalibrationRefused, match="cam03"):
        calibrate_from_joints(empty, cap.rig, progress=False)


def test_bad_height_is_an_input_error():
    cap = make_capture(2, 10, seed=39)
    with pytest.raises(InputError, match="height"):
        calibrate_from_joints(cap.detections, None, height_m=170, progress=False)
