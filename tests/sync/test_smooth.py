import numpy as np

from mvmocap.keypoints import COCO23, flip_permutation
from mvmocap.sync.resample import interpolate
from mvmocap.sync.smooth import gaussian_at, smooth_track, unswap_in_time


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


def test_unswap_in_time_restores_a_swapped_first_frame_and_a_short_run():
    # a greedy pass in order follows the first frame's labels and flips every later frame instead
    kp = _walking_track(F=40)
    kp[..., 0] += np.where(np.arange(23) % 2 == 0, 30.0, -30.0)  # left and right apart by ~60 px
    swapped = kp.copy()
    perm = np.array(flip_permutation(COCO23))
    for f in (0, 17, 18, 19):
        swapped[f] = swapped[f, perm]
    assert np.allclose(unswap_in_time(swapped), kp)


def test_gaussian_at_follows_linear_motion_between_frames_and_marks_gaps():
    kp = _walking_track(F=30)
    kp[12, 5, 2] = 0.0
    positions = np.array([5.0, 7.25, 9.5, 11.5, 12.0, 20.999_999_9, 29.0, 29.5, -0.5])
    out = gaussian_at(kp, positions, 1.0)
    expect = kp[0, :, :2] + positions[:, None, None] * np.array([2.0, 0.5])
    inside, others = [0, 1, 2, 5], np.arange(23) != 5  # joint 5's gap weighs its neighbours one-sidedly
    assert np.allclose(out[inside][:, others, :2], expect[inside][:, others], atol=1e-4)
    assert out[3, 5, 2] == 0 and out[4, 5, 2] == 0 and out[3, 4, 2] == 1.0  # next to the gap: missing
    assert out[5, 0, 2] == 1.0  # snapped to frame 21
    assert np.all(out[7:, :, 2] == 0)  # outside the recorded span


def test_gaussian_at_leaves_the_same_noise_at_whole_and_half_frames():
    # linear interpolation of (smoothed) samples is less noisy half-way between frames, so a residual
    # prefers half-frame offsets; the kernel evaluated at the fraction itself is not
    rng = np.random.default_rng(4)
    kp = np.zeros((4000, 1, 3))
    kp[..., :2] = rng.normal(0, 1.0, (4000, 1, 2))
    kp[..., 2] = 1.0
    whole, half = np.arange(10, 3990, 1.0), np.arange(10, 3990, 1.0) + 0.5
    ratio_kernel = gaussian_at(kp, half, 1.0)[..., :2].std() / gaussian_at(kp, whole, 1.0)[..., :2].std()
    smoothed = smooth_track(kp, 1.0)
    ratio_linear = interpolate(smoothed, half)[..., :2].std() / interpolate(smoothed, whole)[..., :2].std()
    assert abs(ratio_kernel - 1) < 0.03
    assert ratio_linear < 0.97  # 0.945: the 1-frame smoothing first reduces, but does not remove, the effect
