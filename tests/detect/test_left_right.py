"""Multi-view left/right swap repair on synthetic cameras."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mvmocap.detect.left_right as left_right
from mvmocap.detect.detections import Detections
from mvmocap.keypoints import COCO23, flip_permutation


def synthetic_detections(rig, rng, frames=6):
    """A random 23-point 'person' per frame near (0, 0, 1) m, projected into every camera."""
    C = len(rig)
    points = torch.as_tensor(rng.normal([0, 0, 1], [0.3, 0.3, 0.5], (frames, 23, 3)))
    px = rig.project(points)  # (F, C, 23, 2)
    kp = np.concatenate([px.numpy(), np.ones(px.shape[:-1] + (1,))], -1).transpose(1, 0, 2, 3).astype(np.float32)
    kp[..., 2] = rng.uniform(0.6, 1.0, kp.shape[:-1])
    mono = rng.normal(0, 0.3, (C, frames, 23, 4)).astype(np.float32)
    return Detections(rig.names, np.arange(frames), kp, np.ones((C, frames, 5), np.float32),
                      np.tile([[1080, 1920]], (C, 1)), np.full(C, 60.0), "test", mono3d=mono)


def mirror(det: Detections, cams_frames):
    perm = list(flip_permutation(COCO23))
    kp, mono = det.keypoints.copy(), det.mono3d.copy()
    for c, f in cams_frames:
        kp[c, f] = kp[c, f, perm]
        mono[c, f] = mono[c, f, perm]
    return Detections(det.camera_names, det.frame_ids, kp, det.boxes, det.image_sizes, det.fps, det.detector, mono3d=mono)


@pytest.mark.parametrize("exhaustive", [True, False])
def test_swaps_are_found_and_undone(rig4, rng, monkeypatch, exhaustive):
    if not exhaustive:
        monkeypatch.setattr(left_right, "MAX_EXHAUSTIVE_CAMERAS", 2)
    clean = synthetic_detections(rig4, rng)
    swapped = [(1, 2), (1, 3), (3, 0), (0, 5)]  # a minority of cameras per frame: 2 of 4 is a mirror-image tie
    noisy = mirror(clean, swapped)
    fixed, flips = left_right.fix_left_right(noisy, rig4)
    expected = np.zeros((4, 6), bool)
    for c, f in swapped:
        expected[c, f] = True
    np.testing.assert_array_equal(flips, expected)
    np.testing.assert_allclose(fixed.keypoints, clean.keypoints)
    np.testing.assert_allclose(fixed.mono3d, clean.mono3d)


def test_clean_detections_are_left_alone(rig4, rng):
    clean = synthetic_detections(rig4, rng)
    fixed, flips = left_right.fix_left_right(clean, rig4)
    assert not flips.any()
    np.testing.assert_array_equal(fixed.keypoints, clean.keypoints)


def test_rig_order_follows_detections(rig4, rng):
    clean = synthetic_detections(rig4, rng)
    noisy = mirror(clean, [(2, 1)])
    reordered = rig4.subset(list(reversed(rig4.names)))
    _, flips = left_right.fix_left_right(noisy, reordered)
    assert flips[2, 1] and flips.sum() == 1
