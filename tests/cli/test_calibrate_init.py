"""``mvmocap calibrate --from-joints --init auto|metapose|metapose-s1``: the start of the bundle adjustment."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mvmocap.calibrate.synthetic import SYNTHETIC_HEIGHT_M, make_capture
from mvmocap.cli.main import app
from mvmocap.evaluate.calibration import compare_calibrations
from mvmocap.io.calibration import load_rig
from tests.calibrate.test_command import write_work_dir

runner = CliRunner()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    cap = make_capture(3, 40, seed=23)
    path = tmp_path_factory.mktemp("work")
    write_work_dir(path, cap.detections)
    return cap, path


def _calibrate(*args, env=None):
    return runner.invoke(app, ["calibrate", *map(str, args)], env={"COLUMNS": "200", **(env or {})})


def test_init_metapose_s1_calibrates_and_reports_its_start(work, tmp_path):
    cap, path = work
    out = tmp_path / "cams.yaml"
    result = _calibrate("--from-joints", path, "--init", "metapose-s1", "--height", SYNTHETIC_HEIGHT_M, "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "cams_report.json").read_text())
    assert report["initialisation"].startswith("metapose-s1 f=")
    assert 0 < report["initialisation_s"] < report["runtime_s"]
    assert "initialisation: metapose-s1" in result.output
    assert compare_calibrations(load_rig(out), cap.rig).mean_rotation_error_deg < 1.0


@pytest.mark.parametrize("args, message", [
    (["--init", "essential"], "--init must be one of auto, metapose, metapose-s1, got 'essential'"),
    (["--init", "metapose"], "absent.pt: metapose checkpoint not found"),
    (["--init", "metapose-s1", "--max-people", "2"], "--init metapose-s1 works with --from-joints for one person"),
    (["--init", "metapose-s1", "--sync", "auto"], "no --sync auto"),
])
def test_bad_init_is_one_line_exit_2_before_any_work(work, tmp_path, args, message):
    _, path = work
    out = tmp_path / "cams.yaml"
    result = _calibrate("--from-joints", path, "--out", out, *args,
                        env={"MVMOCAP_METAPOSE_CHECKPOINT": str(tmp_path / "absent.pt")})
    assert result.exit_code == 2
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output
    assert not out.exists() and not (tmp_path / "cams_report.json").exists()


def test_init_needs_from_joints(tmp_path):
    (tmp_path / "in.yaml").write_text("x")
    result = _calibrate("--from-file", tmp_path / "in.yaml", "--init", "metapose-s1", "--out", tmp_path / "o.yaml")
    assert result.exit_code == 2 and "works with --from-joints" in result.output
