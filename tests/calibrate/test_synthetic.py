"""The synthetic capture generator: a plausible person, cameras that see it, the noise asked for."""

from __future__ import annotations

import numpy as np

from mvmocap.calibrate.bundle_adjust import bone_groups
from mvmocap.calibrate.sanity import chirality
from mvmocap.calibrate.synthetic import make_capture, make_motion


def test_bones_keep_their_length_and_feet_touch_the_floor():
    joints = make_motion(80, np.random.default_rng(0))
    limbs, _ = bone_groups()
    limbs = np.array([b for b in limbs.tolist() if b not in ([5, 11], [6, 12])])  # the spine bends
    lengths = np.linalg.norm(joints[:, limbs[:, 0]] - joints[:, limbs[:, 1]], axis=-1)
    np.testing.assert_allclose(lengths, lengths[:1].repeat(80, 0), atol=1e-9)
    np.testing.assert_allclose(joints[:, 15:, 2].min(1), 0.03, atol=1e-9)
    assert 1.4 < joints[..., 2].max() < 1.8


def test_the_person_is_not_mirrored():
    joints = make_motion(50, np.random.default_rng(1))
    assert chirality(joints, np.ones(joints.shape[:2], bool), np.array([0.0, 0.0, 1.0])) == 1.0


def test_detections_carry_noise_missing_joints_and_swaps():
    cap = make_capture(3, 40, seed=2, noise_px=2.0, missing=0.2, swaps=0.1)
    kp = cap.detections.keypoints
    assert kp.shape == (3, 40, 23, 3) and cap.detections.mono3d.shape == (3, 40, 23, 4)
    missing = (kp[..., 2] == 0).mean()
    assert 0.15 < missing < 0.3
    assert cap.swapped.any() and not cap.swapped.all()
    clean = make_capture(3, 40, seed=2, noise_px=0.0, missing=0.0, swaps=0.0, outliers=0.0)
    truth = clean.rig.project(__import__("torch").as_tensor(clean.joints)).numpy().transpose(1, 0, 2, 3)
    seen = clean.detections.keypoints[..., 2] > 0
    np.testing.assert_allclose(clean.detections.keypoints[..., :2][seen], truth[seen], atol=1e-3)
