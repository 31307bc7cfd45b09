"""``calibrate_from_joints_to_file``: work folder in, calibration and report out (or nothing, refused)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from mvmocap.calibrate import CalibrationRefused
from mvmocap.calibrate.command import calibrate_from_joints_to_file, detections_for_calibration, report_path
from mvmocap.calibrate.synthetic import make_capture
from mvmocap.detect.cache import CameraDetections, save_camera, write_index
from mvmocap.errors import MissingFileError
from mvmocap.evaluate.calibration import compare_calibrations


def write_work_dir(path, detections):
    for c, name in enumerate(detections.camera_names):
        save_camera(
            path,
            CameraDetections(
                camera=name,
                detector=detections.detector,
                key="synthetic",
                frame_ids=detections.frame_ids,
                local_frames=detections.frame_ids,
                keypoints=detections.keypoints[c],
                boxes=detections.boxes[c],
                image_size=tuple(int(v) for v in detections.image_sizes[c]),
                fps=float(detections.fps[c]),
                mono3d=detections.mono3d[c],
            ),
        )
    write_index(path, list(detections.camera_names), detections.detector)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    cap = make_capture(3, 50, seed=41)
    path = tmp_path_factory.mktemp("work")
    write_work_dir(path, cap.detections)
    return cap, path


def test_writes_the_calibration_and_its_report(work, tmp_path):
    from mvmocap.io.calibration import load_rig, save_rig

    cap, path = work
    intrinsics = tmp_path / "intrinsics.toml"
    save_rig(cap.rig, intrinsics)
    out = tmp_path / "cams.yaml"
    result, written, report = calibrate_from_joints_to_file(path, out, intrinsics=intrinsics, progress=False)
    assert written == out and report == tmp_path / "cams_report.json"
    loaded = load_rig(out)
    assert loaded.names == cap.rig.names
    assert compare_calibrations(loaded, cap.rig).mean_rotation_error_deg < 0.5
    data = json.loads(report.read_text())
    assert [c["name"] for c in data["cameras"]] == list(cap.rig.names)
    assert data["focal_estimated"] is False
    np.testing.assert_allclose(loaded.R.numpy(), result.rig.R.numpy(), atol=1e-9)


def test_refused_calibration_writes_nothing(work, tmp_path):
    cap, path = work
    det = detections_for_calibration(path, tmp_path / "unused")
    keypoints = det.keypoints.copy()
    keypoints[1:] = 0.0
    poor = tmp_path / "poor"
    write_work_dir(poor, replace(det, keypoints=keypoints))
    out = tmp_path / "cams.toml"
    with pytest.raises(CalibrationRefused):
        calibrate_from_joints_to_file(poor, out, progress=False)
    assert not out.exists() and not report_path(out).exists()


def test_missing_source_is_a_missing_file_error(tmp_path):
    with pytest.raises(MissingFileError):
        detections_for_calibration(tmp_path / "nowhere", tmp_path / "work")


def test_report_and_work_folder_sit_beside_the_calibration(tmp_path):
    from mvmocap.calibrate.command import default_work_dir

    assert report_path(tmp_path / "a.yaml") == tmp_path / "a_report.json"
    assert report_path(tmp_path / "calib.qca.txt") == tmp_path / "calib_report.json"
    assert report_path(tmp_path / "easymocap") == tmp_path / "easymocap_report.json"
    assert default_work_dir(tmp_path / "cams.toml") == tmp_path / "cams_work"


def test_bad_height_is_refused_before_detection(tmp_path, monkeypatch):
    """The height is checked before detection starts (which takes minutes on long videos)."""
    from mvmocap.calibrate import command
    from mvmocap.errors import InputError

    def refuse(*args, **kwargs):
        raise AssertionError("detection started before the height was checked")

    monkeypatch.setattr(command, "detections_for_calibration", refuse)
    with pytest.raises(InputError, match="subject height"):
        command.calibrate_from_joints_to_file(tmp_path, tmp_path / "cams.yaml", height_m=170.0, progress=False)
    assert not (tmp_path / "cams.yaml").exists()
