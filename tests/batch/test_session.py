"""Session discovery: trials with videos, image folders or OpenPose JSON; the calibration; clear errors."""

from __future__ import annotations

import pytest

from mvmocap.batch.session import discover_session, discover_trial, find_calibration
from mvmocap.errors import InputError, MissingFileError


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "S"
    _touch(root / "calibration" / "Calib.qca.txt")
    _touch(root / "calibration" / "intrinsics" / "cam01" / "board.png")  # Pose2Sim keeps board images there
    _touch(root / "Trial_video" / "videos" / "cam01.mp4")
    _touch(root / "Trial_images" / "videos" / "cam01" / "000001.png")
    _touch(root / "Trial_json" / "pose" / "cam01_json" / "t_000000000000_keypoints.json")
    _touch(root / "Trial_flat_json" / "cam01_json" / "t_000000000000_keypoints.json")
    _touch(root / "Trial_json" / "config.yaml")
    _touch(root / "notes" / "readme.txt")  # not a trial: no camera inputs
    return root


def test_discovers_every_kind_of_trial_and_the_calibration(layout):
    session = discover_session(layout)
    assert session.calibration == layout / "calibration" / "Calib.qca.txt"
    assert session.config is None
    by_name = {t.name: t for t in session.trials}
    assert sorted(by_name) == ["Trial_flat_json", "Trial_images", "Trial_json", "Trial_video"]
    assert by_name["Trial_video"].videos == layout / "Trial_video" / "videos" and by_name["Trial_video"].keypoints is None
    assert by_name["Trial_images"].inputs_dir == layout / "Trial_images" / "videos"
    json_trial = by_name["Trial_json"]
    assert json_trial.videos is None and json_trial.keypoints == layout / "Trial_json" / "pose"
    assert json_trial.inputs_dir == json_trial.keypoints and json_trial.config == layout / "Trial_json" / "config.yaml"
    assert by_name["Trial_flat_json"].keypoints == layout / "Trial_flat_json"


def test_output_folder_inside_the_session_is_not_a_trial(layout):
    out = layout / "out"
    _touch(out / "Trial_video" / "work" / "cam01_json" / "x_000000000000_keypoints.json")
    _touch(out / "videos" / "cam01.mp4")
    assert "out" in {t.name for t in discover_session(layout).trials}
    assert "out" not in {t.name for t in discover_session(layout, exclude=(out,)).trials}


def test_session_without_trials_is_a_clear_error(tmp_path):
    root = tmp_path / "S"
    _touch(root / "calibration" / "Calib.toml")
    _touch(root / "Trial_1" / "notes.txt")
    with pytest.raises(InputError, match="no trials found: a trial is a sub-folder with videos/"):
        discover_session(root)
    with pytest.raises(MissingFileError, match="session folder not found"):
        discover_session(tmp_path / "absent")


def test_calibration_lookup(tmp_path):
    root = tmp_path / "S"
    _touch(root / "Trial_1" / "videos" / "cam01.mp4")
    with pytest.raises(InputError, match="no calibration found"):
        discover_session(root)
    assert discover_session(root, calibrate_from_joints=True).calibration is None
    _touch(root / "calibration" / "Calib_a.toml")
    _touch(root / "calibration" / "Calib_b.qca.txt")
    with pytest.raises(InputError, match="several calibration files .*Calib_a.toml, Calib_b.qca.txt.*--calibration"):
        find_calibration(root)
    chosen = root / "calibration" / "Calib_a.toml"
    assert discover_session(root, calibration=chosen).calibration == chosen
    with pytest.raises(InputError, match="not both"):
        discover_session(root, calibration=chosen, calibrate_from_joints=True)
    easymocap = tmp_path / "E"
    _touch(easymocap / "calibration" / "intri.yml")
    _touch(easymocap / "calibration" / "extri.yml")
    assert find_calibration(easymocap) == easymocap / "calibration"
    beside = tmp_path / "B"
    _touch(beside / "calibration.yaml")
    assert find_calibration(beside) == beside / "calibration.yaml"


def test_folder_without_inputs_is_not_a_trial(tmp_path):
    _touch(tmp_path / "T" / "pose" / "notes.txt")
    assert discover_trial(tmp_path / "T") is None
