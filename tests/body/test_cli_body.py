"""``mvmocap body preview`` and the CLI's handling of bad body-model input."""

from __future__ import annotations

from typer.testing import CliRunner

from mvmocap.cli.main import app

runner = CliRunner()


def test_preview_writes_a_png(tmp_path):
    out = tmp_path / "preview.png"
    result = runner.invoke(app, ["body", "preview", "open_female", "--out", str(out), "--betas", "1,-0.5"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*tmp*"))


def test_missing_model_exits_2(tmp_path):
    result = runner.invoke(app, ["body", "preview", str(tmp_path / "SMPL_NEUTRAL.pkl"), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "not found" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()


def test_bad_betas_exit_2(tmp_path):
    result = runner.invoke(app, ["body", "preview", "--betas", "1,a", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "--betas" in result.output
