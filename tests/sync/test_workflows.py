import json

import numpy as np
from typer.testing import CliRunner

from mvmocap.detect.cache import CameraDetections, save_camera, write_index
from mvmocap.sync.synthetic import make_unsynced_capture


def _work_folder(tmp_path, capture):
    work = tmp_path / "work"
    for track in capture.tracks:
        frames = np.arange(track.num_frames)
        save_camera(work, CameraDetections(track.name, "synthetic", "{}", frames, frames, track.keypoints,
                                           track.boxes, track.image_size, track.fps))
    write_index(work, [t.name for t in capture.tracks], "synthetic")
    return work


def test_calibrate_from_joints_with_sync_auto_writes_offsets_and_cameras(tmp_path):
    from mvmocap.cli.main import app

    true = np.array([0.0, 4.3, -2.6])
    capture = make_unsynced_capture(true, num_frames=50, seed=11, noise_px=1.0)
    work = _work_folder(tmp_path, capture)
    out = tmp_path / "cams.yaml"
    result = CliRunner().invoke(app, ["calibrate", "--from-joints", str(work), "--sync", "auto", "--out", str(out),
                                      "--height", "1.69", "--force"])
    assert result.exit_code == 0, result.output
    assert "time offsets (calibration from joints" in result.output
    report = json.loads((tmp_path / "cams_report.json").read_text())
    offsets = np.array([c["offset_frames"] for c in report["sync"]["cameras"]])
    assert np.abs(offsets - true).max() < 0.3
    assert out.is_file()


def test_detect_work_folder_with_offsets_beyond_the_length_is_exit_2(tmp_path):
    from mvmocap.cli.main import app

    capture = make_unsynced_capture([0.0, 2.0], num_frames=40, seed=4)
    work = _work_folder(tmp_path, capture)
    result = CliRunner().invoke(app, ["calibrate", "--from-joints", str(work), "--sync", "auto", "--offset", "cam01=0", "--offset", "cam02=90",
                                      "--out", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2
    assert "exceed the videos' length" in result.output and "cam02" in result.output
    assert not (tmp_path / "c.yaml").exists()
