"""Detections from OpenPose JSON alone: folder layouts, name and frame-count checks."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.detect.keypoints_only import detections_from_json, find_json_cameras
from mvmocap.errors import InputError, MissingFileError
from mvmocap.io.openpose import export_camera

SIZES = {"cam01": (640, 480), "cam02": (800, 600), "cam03": (640, 480)}


def _keypoints(rng, frames: int) -> np.ndarray:
    kp = np.zeros((frames, 23, 3), np.float32)
    kp[..., 0] = rng.uniform(100, 500, (frames, 23))
    kp[..., 1] = rng.uniform(100, 400, (frames, 23))
    kp[..., 2] = 0.9
    kp[:, 18] = 0  # BODY_25 has no small toe slot for us: written and read as missing either way
    kp[:, 21] = 0
    return kp


def _write(root, name: str, frames: np.ndarray, rng, layout: str = "{}_json"):
    kp = _keypoints(rng, len(frames))
    folder_root = root / "pose" if layout.startswith("pose/") else root
    export_camera(folder_root, name, frames, kp)
    written = folder_root / f"{name}_json"
    target = root / layout.format(name)
    if target != written:
        written.rename(target)
    return kp


def test_reads_every_folder_layout_and_takes_sizes_from_the_caller(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.arange(5, 13)
    kps = [_write(tmp_path, "cam01", frames, rng), _write(tmp_path, "cam02", frames, rng, "{}"),
           _write(tmp_path, "cam03", frames, rng, "pose/{}_json")]
    assert sorted(find_json_cameras(tmp_path)) == ["cam01", "cam02", "cam03"]
    det = detections_from_json(tmp_path, SIZES, progress=False)
    assert det.camera_names == ("cam01", "cam02", "cam03")
    np.testing.assert_array_equal(det.frame_ids, frames)
    np.testing.assert_array_equal(det.image_sizes, [SIZES[n] for n in det.camera_names])
    for c, kp in enumerate(kps):
        np.testing.assert_allclose(det.keypoints[c], kp, atol=1e-3)  # the JSON keeps 3 decimals
    part = detections_from_json(tmp_path, SIZES, frames="6:12:2", progress=False)
    np.testing.assert_array_equal(part.frame_ids, [6, 8, 10])


def test_a_camera_the_calibration_lacks_is_named(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("cam01", "camX"):
        _write(tmp_path, name, np.arange(4), rng)
    with pytest.raises(InputError, match=r"no camera for camX; JSON cameras: cam01, camX; calibration: cam01, cam02, cam03"):
        detections_from_json(tmp_path, SIZES, calibration="calib.toml", progress=False)


def test_different_frame_counts_are_an_error(tmp_path):
    rng = np.random.default_rng(2)
    _write(tmp_path, "cam01", np.arange(10), rng)
    _write(tmp_path, "cam02", np.arange(9), rng)
    with pytest.raises(InputError, match="different numbers of frames \\(cam01 10, cam02 9\\)"):
        detections_from_json(tmp_path, SIZES, progress=False)


def test_no_json_folder_is_a_missing_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="OpenPose JSON folders"):
        find_json_cameras(tmp_path)
