"""A run's folder: refused runs leave nothing, interrupted runs are marked, concurrent runs are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mvmocap.errors import InputError, MissingFileError
from mvmocap.geometry.camera import Camera
from mvmocap.io.calibration import save_rig
from mvmocap.io.openpose import export_camera
from mvmocap.reconstruct import pipeline, run
from mvmocap.reconstruct.run_state import MARKER, exclusive_run, is_complete, read_marker

from tests.reconstruct.test_pipeline import EXAMPLE, FRAMES, capture, config  # noqa: F401  (fixture)


@pytest.fixture
def no_detection(monkeypatch):
    """Fail the test if the detection stage is reached: the checks must come before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("detection started before the input was validated")

    monkeypatch.setattr(pipeline, "_detect", refuse)


def _run(root, out, **kwargs):
    options = dict(calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json", config=config(), progress=False)
    options.update(kwargs)
    return run(root / "videos", out, **options)


def test_mismatched_names_are_refused_before_detection_and_leave_nothing(capture, tmp_path, no_detection):
    root, rig, _ = capture
    renamed = [Camera(f"view{i}", c.K, c.dist, c.R, c.t, c.size) for i, c in enumerate(rig.cameras())]
    save_rig(renamed, tmp_path / "other.yaml")
    with pytest.raises(InputError, match="no camera for cam01"):
        _run(root, tmp_path / "o", calibration=tmp_path / "other.yaml")
    assert not (tmp_path / "o").exists()


def test_missing_body_model_is_refused_before_detection(capture, tmp_path, no_detection):
    root, _, _ = capture
    cfg = config()
    cfg.body_model = str(tmp_path / "nowhere.pkl")
    with pytest.raises(MissingFileError):
        _run(root, tmp_path / "o", config=cfg)
    assert not (tmp_path / "o").exists()


def test_refusal_after_detection_removes_the_folder_it_created(capture, tmp_path):
    root, rig, keypoints = capture
    json_dir = tmp_path / "json"
    for c, name in enumerate(rig.names):  # only cam01 sees anybody: refused after detection
        export_camera(json_dir, name, np.arange(FRAMES), keypoints[c] * (name == "cam01"))
    with pytest.raises(InputError, match="at least 2"), pytest.warns(UserWarning):
        _run(root, tmp_path / "o", keypoints_dir=json_dir)
    assert not (tmp_path / "o").exists()
    existing = tmp_path / "mine"
    (existing / "notes.txt").parent.mkdir()
    (existing / "notes.txt").write_text("keep me")
    with pytest.raises(InputError), pytest.warns(UserWarning):
        _run(root, existing, keypoints_dir=json_dir)
    assert (existing / "notes.txt").read_text() == "keep me"  # a folder the user made is never removed
    assert not is_complete(existing) and not (existing / "config.yaml").exists()


def test_finished_run_is_marked_and_a_changed_file_unmarks_it(capture, tmp_path):
    root, _, _ = capture
    out = tmp_path / "o"
    _run(root, out)
    marker = read_marker(out)
    assert marker["status"] == "complete"
    assert set(marker["files"]) == {"smpl_params.npz", "joints3d.npz", "cameras.yaml", "report.json", "config.yaml"}
    assert is_complete(out)
    (out / "report.json").write_text("{}")
    assert not is_complete(out)


def test_interrupted_run_is_marked_incomplete_and_a_rerun_completes_it(capture, tmp_path, monkeypatch):
    root, _, _ = capture
    out = tmp_path / "o"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_write_report", interrupt)  # SIGINT after the fit and the npz files
        with pytest.raises(KeyboardInterrupt):
            _run(root, out)
    assert (out / "smpl_params.npz").is_file()  # finished work is kept for the rerun ...
    assert json.loads((out / MARKER).read_text())["status"] == "running"  # ... but not taken for a result
    assert not is_complete(out) and not (out / "report.json").exists()
    _run(root, out)
    assert is_complete(out)


def test_second_run_into_the_same_folder_is_refused(capture, tmp_path):
    root, _, _ = capture
    out = tmp_path / "o"
    with exclusive_run(out):
        with pytest.raises(InputError, match="another mvmocap run"):
            _run(root, out)
    assert not (out / "smpl_params.npz").exists()
    _run(root, out)  # the lock is released with its holder
    assert is_complete(out)


def test_output_path_that_is_a_file_is_refused(capture, tmp_path):
    root, _, _ = capture
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write the output folder"):
        _run(root, blocker / "o")
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("height", [0.0, -1.7, 170.0, float("nan")])
def test_implausible_height_is_refused_by_the_settings(height):
    from mvmocap.reconstruct import ReconstructConfig

    with pytest.raises(InputError, match="subject.height"):  # NaN: refused as not finite
        ReconstructConfig.from_dict({"subject_height_m": height})
