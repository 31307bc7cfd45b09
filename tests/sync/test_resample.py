import numpy as np
import pytest

from mvmocap.errors import InputError
from mvmocap.sync.resample import common_timeline, interpolate, resample_detections, sample_positions
from mvmocap.sync.tracks import CameraTrack


def _track(name, x, conf=None, fps=30.0):
    F = len(x)
    kp = np.zeros((F, 2, 3))
    kp[:, 0, 0] = x
    kp[:, 0, 1] = 2 * np.asarray(x)
    kp[:, :, 2] = 1.0 if conf is None else np.asarray(conf)[:, None]
    boxes = np.zeros((F, 5))
    boxes[:, 4] = 1
    return CameraTrack(name, kp, boxes, fps, (100, 100))


def test_interpolate_linear_motion_is_exact_between_confident_samples():
    values = np.stack([np.arange(10.0) * 3, np.ones(10)], -1)  # (F, 2): x, confidence
    out = interpolate(values, np.array([0.0, 2.25, 8.5, 9.0]))
    assert np.allclose(out[:, 0], [0.0, 6.75, 25.5, 27.0])
    assert np.allclose(out[:, 1], 1.0)


def test_interpolate_is_missing_outside_the_span_and_next_to_a_gap():
    values = np.stack([np.arange(10.0), np.ones(10)], -1)
    values[5] = 0.0  # missing sample
    out = interpolate(values, np.array([-0.5, 4.5, 5.0, 5.5, 6.0, 9.2]))
    assert np.array_equal(out[:, 1] > 0, [False, False, False, False, True, False])
    assert np.all(out[out[:, 1] == 0] == 0)  # missing: all zero, never NaN


def test_resample_round_trip_through_another_rate():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=61))
    fast = _track("a", x, fps=60.0)
    times = np.arange(0, 61, 2)  # the same motion recorded at 30 fps, started 3 timeline frames late
    slow = _track("b", np.interp(np.arange(3, 61, 2), np.arange(61), x), fps=30.0)
    det = resample_detections([fast, slow], [0.0, 3.0], [1.0, 2.0], detector="test")
    assert det.frame_ids[0] == 3 and det.frame_ids[-1] == 59
    assert np.allclose(det.keypoints[1, :, 0, 0], det.keypoints[0, :, 0, 0], atol=np.abs(np.diff(x)).max())
    on_samples = (det.frame_ids - 3) % 2 == 0
    assert np.allclose(det.keypoints[1, on_samples, 0, 0], det.keypoints[0, on_samples, 0, 0])
    assert np.all(det.fps == 60.0)
    assert len(times) == 31


def test_fractional_offset_shifts_the_samples():
    x = np.arange(20.0)
    det = resample_detections([_track("a", x), _track("b", x)], [0.0, 0.5], [1.0, 1.0], detector="test")
    # b shows timeline frame t at its own frame t - 0.5, i.e. x = t - 0.5
    assert np.allclose(det.keypoints[1, :, 0, 0], det.frame_ids - 0.5)
    assert np.allclose(det.keypoints[0, :, 0, 0], det.frame_ids)


def test_offsets_beyond_the_video_length_are_a_clear_error():
    tracks = [_track("cam01", np.arange(50.0)), _track("cam02", np.arange(50.0))]
    with pytest.raises(InputError, match="exceed the videos' length.*cam02"):
        common_timeline(tracks, np.array([0.0, 60.0]), np.ones(2))


def test_sample_positions_apply_offset_and_ratio():
    assert np.allclose(sample_positions(np.array([4, 6]), 2.0, 2.0), [1.0, 2.0])


def test_cubic_interpolation_is_exact_on_a_quadratic_and_falls_back_near_gaps():
    i = np.arange(10.0)
    values = np.stack([i ** 2, np.ones(10)], -1)
    out = interpolate(values, np.array([2.5, 4.25]), cubic=True)
    assert np.allclose(out[:, 0], [6.25, 4.25 ** 2])
    values[6, 1] = 0.0  # an outer neighbour of 4.25 missing: linear there
    out = interpolate(values, np.array([4.25]), cubic=True)
    assert np.isclose(out[0, 0], 0.75 * 16 + 0.25 * 25)
