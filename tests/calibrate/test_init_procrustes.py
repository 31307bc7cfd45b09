"""MetaPose stage 1: rotations from monocular 3D, hip positions, and the full initialisation."""

from __future__ import annotations

import numpy as np

from mvmocap.calibrate.init_procrustes import align_view, hip_positions, init_from_mono3d
from mvmocap.calibrate.pinhole import rodrigues
from mvmocap.keypoints import COCO23, flip_permutation

from .conftest import rotation_errors_deg


def test_align_view_recovers_the_rotation_despite_flipped_frames():
    rng = np.random.default_rng(3)
    q_ref = rng.normal(size=(30, 23, 3)) * 0.3
    R = rodrigues(rng.normal(size=3))
    q_cam = q_ref @ R.T
    flipped = rng.random(30) < 0.2
    perm = np.array(flip_permutation(COCO23))
    q_cam[flipped] = q_cam[flipped][:, perm]
    w = np.ones((30, 23))
    R_est, flip, rms = align_view(q_ref, w, q_cam, w)
    np.testing.assert_allclose(R_est, R, atol=1e-9)
    np.testing.assert_array_equal(flip, flipped)
    assert rms < 1e-9


def test_hip_positions_are_exact_without_noise():
    rng = np.random.default_rng(4)
    q = rng.normal(size=(5, 23, 3)) * 0.3
    T = np.array([0.2, -0.1, 4.0]) + rng.normal(size=(5, 3)) * 0.3
    focal = np.array([1500.0, 1490.0])
    cam = q + T[:, None]
    uv = focal * cam[..., :2] / cam[..., 2:]
    T_est, valid = hip_positions(uv, np.ones((5, 23)), q, focal)
    assert valid.all()
    np.testing.assert_allclose(T_est, T, atol=1e-9)


def test_init_from_mono3d_lands_near_the_truth(capture4, observations4):
    cams = init_from_mono3d(observations4)
    errors = rotation_errors_deg(cams.R, capture4.rig.R.numpy())
    assert errors.max() < 3.0


def test_no_monocular_3d_no_initialisation(observations4):
    from dataclasses import replace

    assert init_from_mono3d(replace(observations4, mono3d=None)) is None
