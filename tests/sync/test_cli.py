from typer.testing import CliRunner

from mvmocap.cli.main import app

runner = CliRunner()


def test_unknown_sync_mode_is_exit_2(tmp_path):
    (tmp_path / "videos").mkdir()
    result = runner.invoke(app, ["detect", str(tmp_path / "videos"), "--out", str(tmp_path / "w"), "--sync", "maybe"])
    assert result.exit_code == 2
    assert "--sync 'maybe'" in result.output


def test_calibrate_sync_needs_from_joints(tmp_path):
    result = runner.invoke(app, ["calibrate", "--from-file", str(tmp_path / "x.yaml"), "--out", str(tmp_path / "o.yaml"),
                                 "--sync", "auto"])
    assert result.exit_code == 2
    assert "--sync auto needs --from-joints" in result.output


def test_reconstruct_refuses_a_bad_sync_value(tmp_path):
    result = runner.invoke(app, ["reconstruct", str(tmp_path), "--out", str(tmp_path / "o"), "--calibrate-from-joints",
                                 "--sync", "sometimes"])
    assert result.exit_code == 2
    assert "detect.sync must be 'none' or 'auto'" in result.output
