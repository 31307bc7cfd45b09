import numpy as np
import pytest

from mvmocap.errors import InputError
from mvmocap.sync import synchronise
from mvmocap.sync.coarse import coarse_offsets
from mvmocap.sync.refine import RefineSettings
from mvmocap.sync.synthetic import make_unsynced_capture
from mvmocap.sync.tracks import rate_ratios

FAST = RefineSettings(window=1.5, sweeps=2, bootstrap=30, max_frames=40, profile_half_width=0.3)


def test_coarse_offsets_find_integer_offsets_within_a_frame():
    true = np.array([0.0, 7.0, -4.0, 2.0])
    cap = make_unsynced_capture(true, num_frames=120, seed=3, noise_px=1.5, swaps=0.02)
    offsets, _ = coarse_offsets(cap.tracks, np.ones(4), 0)
    assert np.abs(offsets - true).max() < 1.0


def test_known_cameras_recover_fractional_offsets_within_a_tenth_of_a_frame():
    true = np.array([0.0, 3.4, -6.7])
    cap = make_unsynced_capture(true, num_frames=70, seed=5, noise_px=1.0, swaps=0.01)
    detections, result, rig = synchronise(cap.tracks, cap.rig, detector="synthetic", settings=FAST)
    assert np.abs(result.offsets - true).max() < 0.1
    assert result.method == "known cameras" and result.uncertainty[0] == 0
    assert np.all(result.uncertainty[1:] > 0) and np.all(result.uncertainty[1:] < 0.5)
    assert detections.frame_ids[0] == 4 and detections.num_cameras == 3  # frames every camera recorded


def test_frame_rate_mismatch_is_resampled_not_refused():
    true = np.array([0.0, 2.5, -3.0])
    cap = make_unsynced_capture(true, num_frames=60, fps=[30.0, 15.0, 30.0], seed=7, noise_px=0.5)
    assert np.allclose(rate_ratios(cap.tracks, 0), [1.0, 2.0, 1.0])
    detections, result, _ = synchronise(cap.tracks, cap.rig, detector="synthetic", settings=FAST)
    assert np.abs(result.offsets - true).max() < 0.15
    assert np.all(detections.fps == 30.0)
    assert result.ratios[1] == 2.0


def test_pinned_offsets_are_kept_and_unknown_names_refused():
    true = np.array([0.0, 4.0, -2.0])
    cap = make_unsynced_capture(true, num_frames=60, seed=1, noise_px=0.5)
    _, result, _ = synchronise(cap.tracks, pinned={"cam01": 0.0, "cam02": 4.0})
    assert result.offsets[1] == 4.0 and result.pinned == ("cam01", "cam02")
    with pytest.raises(InputError, match="unknown camera"):
        synchronise(cap.tracks, pinned={"cam09": 1.0})


def test_a_camera_that_never_saw_the_person_is_a_clear_error():
    cap = make_unsynced_capture([0.0, 1.0], num_frames=60, seed=2)
    empty = cap.tracks[1].keypoints * 0
    tracks = [cap.tracks[0], type(cap.tracks[1])("cam02", empty, cap.tracks[1].boxes, 30.0, (1080, 1920))]
    with pytest.raises(InputError, match="cam02: too few frames"):
        synchronise(tracks)
