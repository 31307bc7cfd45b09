"""``--help``: boolean flags shown as flags; ``--method`` names every registered method."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from mvmocap.cli.main import app

runner = CliRunner()


def _help(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.output


def test_boolean_flags_take_no_value_in_the_help():
    for command in (["reconstruct"], ["detect"], ["calibrate"], ["train-synthetic"]):
        text = _help(*command)
        assert "<bool>" not in text, command
    text = _help("reconstruct")
    assert re.search(r"--render\s+Write overlay videos", text)
    assert "<str>" in text  # the other options keep their type


def test_method_help_lists_the_registered_methods():
    from mvmocap.methods import available_methods

    text = " ".join(_help("reconstruct").split())
    for name in available_methods():
        assert re.search(rf"(^|[\s|(]){re.escape(name)}([\s|:.(]|$)", text), name


def test_reconstruct_detector_is_checked_before_any_work(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    calibration = tmp_path / "c.yaml"
    calibration.write_text("format: mvmocap-cameras/1\ncameras: []\n")
    result = runner.invoke(app, ["reconstruct", str(videos), "--calibration", str(calibration), "--detector", "yolo",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "detector" in result.output and "'yolo'" in result.output
    assert not (tmp_path / "o").exists()
