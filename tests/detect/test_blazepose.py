"""BlazePose backend: landmark mapping (no video needed) and one synthetic frame through MediaPipe."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.detect.blazepose import BlazePoseDetector, blazepose_to_coco23
from mvmocap.errors import InputError
from mvmocap.keypoints import COCO23

# MediaPipe's documented landmark order.
BLAZEPOSE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
OURS_FROM_BLAZEPOSE = {"left_big_toe": "left_foot_index", "right_big_toe": "right_foot_index"}


def test_mediapipe_order_matches():
    import mediapipe as mp

    names = tuple(p.name.lower() for p in mp.solutions.pose.PoseLandmark)
    assert names == BLAZEPOSE33


@pytest.mark.parametrize("batch", [(), (1,), (2, 3)])
def test_mapping_by_name(batch, rng):
    lm = rng.uniform(0.1, 1, batch + (33, 4)).astype(np.float32)
    lm[..., 0] = np.arange(33)  # x encodes the BlazePose index
    ours = blazepose_to_coco23(lm)
    assert ours.shape == batch + (23, 4)
    for j, name in enumerate(COCO23):
        source = OURS_FROM_BLAZEPOSE.get(name, name)
        if source in BLAZEPOSE33:
            assert np.all(ours[..., j, 0] == BLAZEPOSE33.index(source)), name
            np.testing.assert_array_equal(ours[..., j, 1:], lm[..., BLAZEPOSE33.index(source), 1:])
        else:  # small toes: missing, all zero
            assert name.endswith("small_toe") and np.all(ours[..., j, :] == 0)


def test_bad_inputs():
    with pytest.raises(InputError):
        blazepose_to_coco23(np.zeros((17, 3)))
    with pytest.raises(InputError, match="model_complexity"):
        BlazePoseDetector(model_complexity=2)
    with pytest.raises(InputError, match="scale"):
        BlazePoseDetector(scale=2.0)


def test_blank_frames_give_no_person():
    detector = BlazePoseDetector(scale=0.5)
    try:
        for _ in range(2):
            assert len(detector.process(np.zeros((240, 160, 3), np.uint8))) == 0
    finally:
        detector.close()


def test_detection_writes_no_native_log_lines_on_stderr(tmp_path):
    """MediaPipe's graph threads log natively when they start (TFLite's "Created TensorFlow Lite
    XNNPACK delegate" line, absl warnings); `detect -q` must print nothing on stderr."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    videos = Path(__file__).resolve().parents[2] / "examples" / "pose2sim_demo" / "videos"
    if not videos.is_dir():
        pytest.skip(f"bundled example videos not found at {videos}")
    command = [sys.executable, "-m", "mvmocap.cli.main", "detect", str(videos), "--out", str(tmp_path / "w"),
               "--frames", "0:3", "-q"]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "XNNPACK" not in result.stderr and "W0000" not in result.stderr and "INFO:" not in result.stderr, result.stderr
