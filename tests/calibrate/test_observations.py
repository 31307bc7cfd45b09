"""Observations: undistorted ideal pixels with known intrinsics, centred pixels without."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvmocap.calibrate.observations import prepare_observations
from mvmocap.calibrate.synthetic import make_capture
from mvmocap.errors import InputError


def test_known_intrinsics_remove_distortion():
    cap = make_capture(3, 10, seed=7, noise_px=0.0, missing=0.0, outliers=0.0, swaps=0.0, distortion=True)
    obs = prepare_observations(cap.detections, cap.rig)
    rig = cap.rig
    cam = np.einsum("cij,fnj->cfni", rig.R.numpy(), cap.joints) + rig.t.numpy()[:, None, None]
    focal = torch.stack([rig.K[:, 0, 0], rig.K[:, 1, 1]], -1).numpy()
    ideal = focal[:, None, None] * cam[..., :2] / cam[..., 2:]
    seen = obs.weight > 0
    assert seen.mean() > 0.9
    np.testing.assert_allclose(obs.uv[seen], ideal[seen], atol=1e-3)
    assert obs.focal_known


def test_unknown_intrinsics_centre_the_pixels():
    cap = make_capture(2, 5, seed=8)
    obs = prepare_observations(cap.detections, None)
    assert not obs.focal_known
    kp = cap.detections.keypoints
    seen = obs.weight > 0
    centre = cap.detections.image_sizes[:, None, None, :] / 2
    np.testing.assert_allclose(obs.uv[seen], (kp[..., :2] - centre)[seen], atol=1e-4)


def test_frames_are_subsampled_and_flips_are_involutions():
    cap = make_capture(2, 50, seed=9)
    obs = prepare_observations(cap.detections, cap.rig, max_frames=20)
    assert obs.num_frames == 20 and obs.frame_ids[0] == 0 and obs.frame_ids[-1] == 49
    views = np.random.default_rng(0).random((2, 20)) < 0.5
    back = obs.flipped(views).flipped(views)
    np.testing.assert_array_equal(back.uv, obs.uv)
    np.testing.assert_array_equal(back.mono3d, obs.mono3d)


def test_one_camera_or_unknown_names_are_refused():
    cap = make_capture(2, 5, seed=10)
    with pytest.raises(InputError, match="at least 2 cameras"):
        prepare_observations(cap.detections.subset_cameras(["cam01"]), None)
    with pytest.raises(InputError, match="no camera named"):
        prepare_observations(cap.detections, cap.rig.subset(["cam01"]))


def test_coco17_detections_are_padded_to_coco23():
    from dataclasses import replace

    cap = make_capture(2, 5, seed=11)
    d = cap.detections
    obs = prepare_observations(replace(d, keypoints=d.keypoints[:, :, :17], mono3d=d.mono3d[:, :, :17]), None)
    assert obs.uv.shape == (2, 5, 23, 2) and obs.mono3d.shape == (2, 5, 23, 3)
    assert not (obs.weight[:, :, 17:] > 0).any()


def test_intrinsics_of_another_resolution_are_refused():
    from mvmocap.geometry.camera import CameraRig

    cap = make_capture(2, 5, seed=12)
    rig = cap.rig
    rotated = CameraRig(rig.names, rig.K, rig.dist, rig.R, rig.t, rig.sizes.flip(-1))
    with pytest.raises(InputError, match="intrinsics are for"):
        prepare_observations(cap.detections, rotated)
