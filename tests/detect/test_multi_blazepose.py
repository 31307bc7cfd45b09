"""Multi-person BlazePose: the in-memory task bundle, duplicates, and two people on the shared capture."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mvmocap.detect.multi_blazepose import MultiBlazePoseDetector, _suppress_duplicates, task_bundle
from mvmocap.errors import InputError

VIDEO = Path(__file__).parents[2].parent / "shared" / "data" / "pose2sim_multiperson" / "videos" / "cam01.mp4"


def test_task_bundle_holds_both_networks():
    with zipfile.ZipFile(io.BytesIO(task_bundle())) as bundle:
        assert sorted(bundle.namelist()) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
        assert all(bundle.getinfo(n).file_size > 100_000 for n in bundle.namelist())


def test_duplicates_keep_the_best_scoring_box():
    boxes = np.array([[0, 0, 10, 20, 0.5], [1, 0, 11, 20, 0.9], [30, 0, 40, 20, 0.7]], np.float32)
    assert _suppress_duplicates(boxes, 0.6) == [1, 2]


def test_bad_settings_are_refused():
    with pytest.raises(InputError, match="num_poses"):
        MultiBlazePoseDetector(num_poses=0)
    with pytest.raises(InputError, match="scale"):
        MultiBlazePoseDetector(scale=2.0)


@pytest.fixture(scope="module")
def detector():
    detector = MultiBlazePoseDetector(num_poses=4)
    yield detector
    detector.close()


def test_blank_image_has_nobody(detector):
    assert len(detector.process(np.zeros((480, 270, 3), np.uint8))) == 0


@pytest.mark.skipif(not VIDEO.is_file(), reason="shared pose2sim_multiperson videos absent")
def test_two_people_in_one_image_of_the_shared_capture(detector):
    import cv2

    capture = cv2.VideoCapture(str(VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 50)
    ok, image = capture.read()
    capture.release()
    assert ok
    found = detector.process(image)
    assert len(found) == 2 and found.mono3d.shape == (2, 23, 4) and len(found.masks) == 2
    centres = (found.boxes[:, :2] + found.boxes[:, 2:4]) / 2
    assert np.linalg.norm(centres[0] - centres[1]) > 200  # two people, not one twice (pixels)
    assert (found.keypoints[..., 2] > 0.5).sum(-1).min() >= 10
