"""The static rig averaged from per-frame weak cameras (the MetaPose start of calibrate --from-joints)."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.calibrate.init_frame_cameras import FrameCameras, pinholes_from_frame_cameras, ray_rotations
from mvmocap.calibrate.pinhole import rodrigues


def _exact_frame_cameras(rng, num_cameras=4, num_frames=30, focal=1200.0, ray_aligned=False):
    """True pinholes (world -> camera) around the origin, a body origin moving near it, and the exact
    weak cameras of every frame-set (the body frame = world axes)."""
    R = np.stack([rodrigues(rng.normal(0, 1.0, 3)) for _ in range(num_cameras)])
    centres = rng.normal(0, 0.3, (num_cameras, 3))
    # place each camera 4 m back along its optical axis from near the origin
    centres = centres - 4.0 * R[:, 2, :]
    t = -np.einsum("cij,cj->ci", R, centres)
    origin = rng.normal(0, 0.4, (num_frames, 3))  # the body's origin, world
    cam = np.einsum("cij,fj->fci", R, origin) + t  # (F, C, 3)
    scale = focal / cam[..., 2]
    shift = focal * cam[..., :2] / cam[..., 2:]
    rotations = np.broadcast_to(R, (num_frames,) + R.shape).copy()
    if ray_aligned:  # the views are posed along their rays: undo what the averaging will apply
        rays = ray_rotations(shift, np.full((num_cameras, 2), focal))
        rotations = np.swapaxes(rays, -1, -2) @ rotations
    frames = FrameCameras("test", rotations, scale, shift, np.ones((num_frames, num_cameras), bool), ray_aligned=ray_aligned)
    return frames, R, t, np.full((num_cameras, 2), focal)


def _in_reference_frame(R, t, ref):
    """The cameras expressed in camera ``ref``'s frame (world' = ref camera axes at its centre)."""
    R_rel = R @ R[ref].T
    return R_rel, t - np.einsum("cij,j->ci", R_rel, t[ref])


@pytest.mark.parametrize("ray_aligned", [False, True])
def test_exact_per_frame_cameras_give_the_exact_rig(ray_aligned):
    frames, R, t, focal = _exact_frame_cameras(np.random.default_rng(0), ray_aligned=ray_aligned)
    cams = pinholes_from_frame_cameras(frames, focal, reference=1)
    R_expected, t_expected = _in_reference_frame(R, t, 1)
    np.testing.assert_allclose(cams.R, R_expected, atol=1e-6)
    np.testing.assert_allclose(cams.t, t_expected, atol=1e-6)  # metres: a weak camera at the body is exact at its origin
    np.testing.assert_allclose(cams.focal, focal)


def test_wrong_frame_sets_are_outvoted_and_missing_views_left_out():
    rng = np.random.default_rng(1)
    frames, R, t, focal = _exact_frame_cameras(rng, num_frames=40)
    rotations, valid = frames.R.copy(), frames.valid.copy()
    rotations[:8, 2] = np.stack([rodrigues(rng.normal(0, 1.5, 3)) for _ in range(8)])  # 20 % wrong for camera 2
    valid[8:14, 3] = False
    rotations[8:14, 3] = np.eye(3)  # garbage where the view is missing
    noisy = FrameCameras("test", rotations, frames.scale, frames.shift, valid)
    cams = pinholes_from_frame_cameras(noisy, focal, reference=0)
    R_expected, t_expected = _in_reference_frame(R, t, 0)
    angle = np.degrees(np.arccos(np.clip((np.trace(cams.R[2].T @ R_expected[2]) - 1) / 2, -1, 1)))
    assert angle < 1.0
    np.testing.assert_allclose(cams.R[3], R_expected[3], atol=1e-6)
    np.testing.assert_allclose(cams.t[[1, 3]], t_expected[[1, 3]], atol=1e-6)


def test_the_reference_is_the_camera_seen_most_and_an_unplaceable_camera_gives_none():
    frames, R, t, focal = _exact_frame_cameras(np.random.default_rng(2), num_cameras=3, num_frames=10)
    valid = frames.valid.copy()
    valid[:4, 0] = False
    valid[:2, 2] = False
    cams = pinholes_from_frame_cameras(FrameCameras("test", frames.R, frames.scale, frames.shift, valid), focal)
    np.testing.assert_allclose(cams.R[1], np.eye(3), atol=1e-12)  # camera 1 is valid in every frame-set
    valid[:, 2] = False  # camera 2 is never estimated
    assert pinholes_from_frame_cameras(FrameCameras("test", frames.R, frames.scale, frames.shift, valid), focal) is None
