"""``reconstruct --static-rig``: MetaPose starts the calibration from joints; refused where it cannot apply."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mvmocap.calibrate.synthetic import SYNTHETIC_HEIGHT_M, make_capture
from mvmocap.cli.main import app
from mvmocap.errors import InputError
from mvmocap.evaluate.calibration import compare_calibrations
from mvmocap.reconstruct import ReconstructConfig
from mvmocap.reconstruct.pipeline import _calibrate_from_joints
from mvmocap.reconstruct.static_rig import check_static_rig


def _config(**values) -> ReconstructConfig:
    return ReconstructConfig.from_dict({"static_rig": True, **values})


def test_static_rig_starts_the_calibration_with_metapose_s1_without_a_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MVMOCAP_METAPOSE_CHECKPOINT", str(tmp_path / "absent.pt"))
    cap = make_capture(3, 40, seed=5)
    cfg = _config(subject_height_m=SYNTHETIC_HEIGHT_M)
    rig = _calibrate_from_joints(cap.detections, tmp_path / "out", cfg, progress=True)
    log = " ".join("".join(capsys.readouterr()).split())  # the console wraps long lines
    assert "MetaPose stage 1 starts the calibration (" in log and "metapose checkpoint not found" in log
    assert "initialisation: metapose-s1" in log
    assert compare_calibrations(rig, cap.rig).mean_rotation_error_deg < 1.0
    # the stage cache keeps the two apart: without --static-rig the calibration runs again, with today's starts
    cfg.static_rig = False
    _calibrate_from_joints(cap.detections, tmp_path / "out", cfg, progress=True)
    log = capsys.readouterr()
    assert "initialisation: " in log.err and "metapose" not in log.out + log.err
    again = _calibrate_from_joints(cap.detections, tmp_path / "out", cfg, progress=True)  # the same settings: cached
    assert "initialisation" not in "".join(capsys.readouterr())
    assert again.R.shape == rig.R.shape


@pytest.mark.parametrize("values, calibration, from_joints, message", [
    ({}, None, False, "needs --calibrate-from-joints or --method metapose"),
    ({}, "cams.yaml", True, "drop --calibration"),
    ({"detect": {"max_people": 2}}, None, True, "one person"),
    ({"detect": {"detector": "openpose-json"}}, None, True, "blazepose detector"),
])
def test_static_rig_is_refused_where_it_cannot_apply(values, calibration, from_joints, message):
    with pytest.raises(InputError, match=message):
        check_static_rig(_config(**values), calibration, from_joints)


def test_static_rig_with_metapose_calibrates_from_the_joints_and_without_it_changes_nothing():
    assert check_static_rig(_config(method="metapose"), None, False) is True
    assert check_static_rig(ReconstructConfig(), None, False) is False


def test_cli_refuses_static_rig_without_a_camera_estimate_and_writes_nothing(tmp_path):
    (tmp_path / "videos").mkdir()
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["reconstruct", str(tmp_path / "videos"), "--out", str(out), "--static-rig",
                                      "--calibration", str(tmp_path / "cams.yaml")])
    assert result.exit_code == 2
    assert "error: --static-rig estimates the cameras from the person: drop --calibration" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
