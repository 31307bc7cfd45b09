import numpy as np

from mvmocap.keypoints import COCO23, flip_permutation
from mvmocap.sync.smooth import smooth_track, unswap_in_time


def _walking_track(F=30, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(100, 900, size=(23, 2))
    kp = np.zeros((F, 23, 3))
    kp[..., :2] = base + np.arange(F)[:, None, None] * np.array([2.0, 0.5])
    kp[..., 2] = 1.0
    return kp


def test_unswap_in_time_restores_a_swapped_frame():
    kp = _walking_track()
    swapped = kp.copy()
    perm = np.array(flip_permutation(COCO23))
    swapped[7] = swapped[7, perm]
    assert np.allclose(unswap_in_time(swapped), kp)


def test_smooth_track_keeps_linear_motion_and_missing_samples():
    kp = _walking_track()
    kp[10, 3] = 0.0
    out = smooth_track(kp, 1.0)
    others = np.arange(23) != 3  # joint 3 lost a sample: its neighbours are smoothed one-sidedly
    assert np.allclose(out[5:-5, others, :2], kp[5:-5, others, :2], atol=1e-6)
    assert np.all(out[10, 3] == 0)
    noisy = kp + np.random.default_rng(1).normal(0, 2.0, kp.shape) * np.array([1, 1, 0])
    noisy[10, 3] = 0.0
    assert np.abs(smooth_track(noisy, 1.0)[5:-5, :, :2] - kp[5:-5, :, :2]).mean() < 0.7 * np.abs(noisy - kp)[5:-5, :, :2].mean()
