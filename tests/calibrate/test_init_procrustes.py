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


# -- MetaPose stage 1 (per frame-set, weak projection): the same Kabsch -----------------------------
import torch  # noqa: E402

from mvmocap.calibrate.init_procrustes import mono_rotation, weak_cameras_from_mono3d  # noqa: E402
from mvmocap.geometry.rotations import axis_angle_to_matrix  # noqa: E402
from mvmocap.geometry.weak_projection import weak_project  # noqa: E402


def _exact_frame_sets(B=5, C=4, J=17, seed=0):
    g = torch.Generator().manual_seed(seed)
    joints = torch.randn(B, J, 3, generator=g, dtype=torch.float64) * 0.4
    joints = joints - joints[:, [11, 12]].mean(-2, keepdim=True)  # root-relative, camera 0's axes
    R = axis_angle_to_matrix(torch.randn(B, C, 3, generator=g, dtype=torch.float64))
    R[:, 0] = torch.eye(3, dtype=torch.float64)
    scale = torch.rand(B, C, generator=g, dtype=torch.float64) + 0.5
    shift = torch.randn(B, C, 2, generator=g, dtype=torch.float64)
    mono = torch.einsum("bcij,bnj->bcni", R, joints)
    uv = weak_project(joints[:, None], R, scale, shift)
    return joints, R, scale, shift, mono, uv


def test_stage1_recovers_exact_cameras_from_exact_monocular_3d():
    joints, R, scale, shift, mono, uv = _exact_frame_sets()
    w = torch.ones(mono.shape[:-1], dtype=torch.float64)
    R_est, s_est, t_est, j_est = weak_cameras_from_mono3d(mono, w, uv, w)
    torch.testing.assert_close(R_est, R, atol=1e-9, rtol=0)
    torch.testing.assert_close(s_est, scale, atol=1e-9, rtol=0)
    torch.testing.assert_close(t_est, shift, atol=1e-9, rtol=0)
    torch.testing.assert_close(j_est, joints, atol=1e-9, rtol=0)


def test_stage1_ignores_missing_joints_and_views():
    joints, R, scale, shift, mono, uv = _exact_frame_sets(seed=1)
    w = torch.ones(mono.shape[:-1], dtype=torch.float64)
    w[:, 2, :5] = 0  # some joints missing in view 2
    w[:, 3] = 0  # view 3 missing
    R_est, s_est, t_est, j_est = weak_cameras_from_mono3d(mono * w[..., None], w, uv * w[..., None], w)
    torch.testing.assert_close(R_est[:, :3], R[:, :3], atol=1e-9, rtol=0)
    torch.testing.assert_close(j_est, joints, atol=1e-9, rtol=0)
    assert torch.equal(R_est[:, 3], torch.eye(3, dtype=torch.float64).expand(5, 3, 3))  # no evidence: identity
    assert torch.equal(s_est[:, 3], torch.ones(5, dtype=torch.float64)) and torch.isfinite(t_est).all()


def test_mono_rotation_is_the_identity_without_three_points():
    q = torch.randn(2, 17, 3, dtype=torch.float64)
    w = torch.zeros(2, 17, dtype=torch.float64)
    w[:, :2] = 1
    assert torch.equal(mono_rotation(q, q.flip(-1), w), torch.eye(3, dtype=torch.float64).expand(2, 3, 3))


def test_mono_flips_finds_the_mirrored_views_by_majority():
    from mvmocap.calibrate.init_procrustes import mono_flips
    from mvmocap.keypoints import COCO17

    joints, R, scale, shift, mono, uv = _exact_frame_sets(B=3, C=4, seed=4)
    perm = list(flip_permutation(COCO17))
    mirrored = mono.clone()
    mirrored[0, 2] = mono[0, 2][perm]  # one view mirrored
    mirrored[1, 0] = mono[1, 0][perm]  # the reference view mirrored: the others are the majority
    w = torch.ones(mono.shape[:-1], dtype=torch.float64)
    expected = torch.zeros(3, 4, dtype=torch.bool)
    expected[0, 2] = expected[1, 0] = True
    assert torch.equal(mono_flips(mirrored, w), expected)
