"""BlazePose on the real 4-camera demo (a few frames; the full figures are in benchmarks/detect.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mvmocap.detect as detect
from mvmocap.keypoints import LIMB_JOINTS_AND_NOSE

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from tests.conftest import SHARED_DEMO

    if not SHARED_DEMO.is_dir():
        pytest.skip(f"shared demo capture not found at {SHARED_DEMO}")
    work = tmp_path_factory.mktemp("demo_work")
    det = detect.run(SHARED_DEMO / "videos", out=work, frames="30:60", progress=False)
    return SHARED_DEMO, det


@pytest.fixture(scope="module")
def rig(demo_run):
    from mvmocap.io.calibration import load_rig

    demo, det = demo_run
    return load_rig(demo / "calibration" / "Calib.qca.txt").subset(det.camera_names)


def triangulated(rig, det, joints):
    kp = torch.as_tensor(det.keypoints[:, :, joints], dtype=torch.float64).transpose(0, 1)  # (F, C, J, 3)
    points = rig.triangulate(kp[..., :2], kp[..., 2])
    return points, rig.reprojection_errors(points, kp[..., :2]), kp[..., 2]


def test_every_camera_detects_the_person(demo_run):
    _, det = demo_run
    assert det.keypoints.shape == (4, 30, 23, 3) and det.mono3d is not None and det.masks is not None
    detected = (det.boxes[..., 4] > 0).mean(axis=1)
    assert np.all(detected >= 0.95), detected
    assert np.all(det.keypoints[..., [18, 21], 2] == 0)  # BlazePose has no small toes


def test_reprojection_error_with_qualisys_calibration(demo_run, rig):
    """Median reprojection error of the 12 limb joints + nose <= 20 px: on the raw detections in the
    frames where BlazePose labels left and right consistently, and on every frame after the
    multi-view left/right repair (the whole-video raw figure is printed by benchmarks/detect.py)."""
    from mvmocap.detect.left_right import fix_left_right

    _, det = demo_run
    joints = list(LIMB_JOINTS_AND_NOSE)
    _, errors, conf = triangulated(rig, det, joints)
    consistent = torch.as_tensor((det.frame_ids < 41) | (det.frame_ids > 59))
    raw = float(errors[consistent][conf[consistent] > 0].median())
    assert raw <= 20.0, raw
    fixed, _ = fix_left_right(det, rig)
    _, errors, conf = triangulated(rig, fixed, joints)
    repaired = float(errors[conf > 0].median())
    assert repaired <= 20.0, repaired


def test_left_right_repair_finds_the_swapped_stretch(demo_run, rig):
    """BlazePose mirrors the person in cam02 around frames 42-60 of the demo (checked by eye on the
    reprojections); the multi-view repair must find those frames and lower the error."""
    from mvmocap.detect.left_right import fix_left_right

    _, det = demo_run
    fixed, flips = fix_left_right(det, rig)
    swapped = (det.frame_ids >= 45) & (det.frame_ids <= 57)
    assert flips[1, swapped].all()
    assert not flips[[0, 2, 3]].any()
    assert flips[1, ~swapped].mean() < 0.5
    joints = list(LIMB_JOINTS_AND_NOSE)
    _, before, conf = triangulated(rig, det, joints)
    _, after, _ = triangulated(rig, fixed, joints)
    window = torch.as_tensor(swapped)
    assert float(after[window][conf[window] > 0].median()) < 0.5 * float(before[window][conf[window] > 0].median())
    assert float(after[conf > 0].median()) < float(before[conf > 0].median())


def test_mono3d_is_in_opencv_camera_axes(demo_run, rig):
    """The best rotation from BlazePose world landmarks to the triangulated, hip-centred joints in
    each camera's frame is close to identity (a flipped axis would give >= 90 degrees)."""
    from mvmocap.geometry.procrustes import rigid_procrustes
    from mvmocap.geometry.rotations import rotation_angle_between

    _, det = demo_run
    joints = list(range(17))
    points, _, _ = triangulated(rig, det, joints)
    for c in range(det.num_cameras):
        in_cam = points @ rig.R[c].T + rig.t[c]
        in_cam = in_cam - in_cam[:, [11, 12]].mean(1, keepdim=True)
        mono = torch.as_tensor(det.mono3d[c][:, joints, :3], dtype=torch.float64)
        R, _ = rigid_procrustes(mono.reshape(-1, 3), in_cam.reshape(-1, 3))
        angle = float(rotation_angle_between(R, torch.eye(3, dtype=torch.float64)))
        assert np.degrees(angle) < 25.0, (det.camera_names[c], np.degrees(angle))


def test_masks_cover_the_body(demo_run):
    _, det = demo_run
    for c in range(det.num_cameras):
        mask = det.masks[c][0].decode(tuple(det.image_sizes[c]))
        kp = det.keypoints[c, 0]
        torso = kp[[5, 6, 11, 12], :2].mean(0).astype(int)
        assert mask[torso[1], torso[0]]
        assert 0.01 < mask.mean() < 0.5
