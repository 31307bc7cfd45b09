"""Trials' detections put end to end for one session calibration."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.batch.calibration import concatenate_trials
from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError


def detections(names, frames, seed, width=1088):
    rng = np.random.default_rng(seed)
    C = len(names)
    return Detections(tuple(names), np.arange(frames) + 50, rng.random((C, frames, 23, 3), dtype=np.float32),
                      rng.random((C, frames, 5), dtype=np.float32), np.array([[width, 1920]] * C), np.full(C, 60.0), "blazepose")


def test_concatenation_keeps_common_cameras_in_order():
    a, b = detections(["cam01", "cam02", "cam03"], 4, 0), detections(["cam02", "cam01"], 3, 1)
    with pytest.warns(UserWarning, match="cam03 missing from some trials"):
        joined = concatenate_trials([a, b])
    assert joined.camera_names == ("cam01", "cam02") and joined.num_frames == 7
    np.testing.assert_array_equal(joined.frame_ids, np.arange(7))
    np.testing.assert_array_equal(joined.keypoints[0, :4], a.keypoints[0])
    np.testing.assert_array_equal(joined.keypoints[0, 4:], b.keypoints[1])  # cam01 of b is its second camera
    np.testing.assert_array_equal(joined.boxes[1, 4:], b.boxes[0])


def test_concatenation_refuses_changed_sizes_and_too_few_cameras():
    with pytest.raises(InputError, match="cam01, cam02 change image size between trials by more than 5%"):
        concatenate_trials([detections(["cam01", "cam02"], 2, 0), detections(["cam01", "cam02"], 2, 1, width=1000)])
    # Pose2Sim's batch trials: 1080 and 1088 px wide, the same pixels cropped at the edge: the larger, a warning
    with pytest.warns(UserWarning, match=r"cam01 \(1080x1920 / 1088x1920 px\), cam02 .* taken as the same pixels"):
        joined = concatenate_trials([detections(["cam01", "cam02"], 2, 0), detections(["cam01", "cam02"], 2, 1, width=1080)])
    np.testing.assert_array_equal(joined.image_sizes, [[1088, 1920]] * 2)
    with pytest.raises(InputError, match="share 1 camera"), pytest.warns(UserWarning):
        concatenate_trials([detections(["cam01", "cam02"], 2, 0), detections(["cam01", "cam03"], 2, 1)])
