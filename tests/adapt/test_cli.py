"""``mvmocap adapt`` on the command line: refused inputs give one line, exit 2, and leave nothing behind."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from mvmocap.cli.main import app
from tests.adapt.conftest import tiny_checkpoint

runner = CliRunner()


def _adapt(*args):
    return runner.invoke(app, ["adapt", *map(str, args), "--quiet"])


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_a_run_folder_without_a_fit_is_refused(run_dir, checkpoint, tmp_path):
    broken = tmp_path / "no_fit"
    shutil.copytree(run_dir, broken)
    (broken / "smpl_params.npz").unlink()
    out = tmp_path / "out"
    line = _one_error_line(_adapt(broken, "--out", out, "--checkpoint", checkpoint))
    assert "smpl_params.npz" in line and "fit" in line
    assert not out.exists()


def test_a_run_folder_without_detections_is_refused(run_dir, checkpoint, tmp_path):
    broken = tmp_path / "no_detections"
    shutil.copytree(run_dir, broken)
    shutil.rmtree(broken / "work")
    out = tmp_path / "out"
    line = _one_error_line(_adapt(broken, "--out", out, "--checkpoint", checkpoint))
    assert "detections" in line
    assert not out.exists()


def test_a_checkpoint_of_another_method_is_refused(run_dir, body_model, tmp_path):
    other = tiny_checkpoint(tmp_path / "mlp.pt", body_model, method="mlp")
    out = tmp_path / "out"
    line = _one_error_line(_adapt(run_dir, "--out", out, "--checkpoint", other))
    assert "'mlp'" in line and "volumetric" in line
    assert not out.exists()


def test_an_unknown_method_is_refused(run_dir, tmp_path):
    out = tmp_path / "out"
    line = _one_error_line(_adapt(run_dir, "--out", out, "--method", "metapose"))
    assert "volumetric" in line
    assert not out.exists()


def test_a_short_run_reports_the_loss(run_dir, checkpoint, tmp_path):
    out = tmp_path / "out"
    result = _adapt(run_dir, "--out", out, "--checkpoint", checkpoint, "--steps", 2, "--batch-size", 2,
                    "--refit-every", 5, "--frames", "0:6", "--cameras", "cam1,cam2")
    assert result.exit_code == 0, result.output
    assert "adapted to step 2" in result.output and "self-supervised loss" in result.output
    assert (out / "checkpoint.pt").is_file() and (out / "metrics.jsonl").is_file() and (out / "adapt.yaml").is_file()
