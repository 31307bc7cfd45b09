"""``mvmocap eval --dataset synthetic --sequence``: bad options give exit 2 and one line; a small run
prints the table and writes its JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mvmocap.cli.eval_sequence import split_values
from mvmocap.cli.main import app


def _eval(*args):
    return CliRunner().invoke(app, ["eval", "--dataset", "synthetic", *map(str, args)], env={"COLUMNS": "200"})


@pytest.mark.parametrize("args, message", [
    (["--cameras", "1"], "--cameras must be between 2 and 8"),
    (["--cameras", "two"], "--cameras takes whole numbers"),
    (["--methods", "fit,nope"], "unknown method 'nope'"),
    (["--rig-family", "nowhere"], "unknown rig family nowhere"),
    (["--pose-family", "flying"], "unknown pose family flying"),
    (["--condition", "foggy"], "unknown condition"),
    (["--methods", "triangulation-selfcal"], "run it with --uncalibrated"),
    (["--frames", "3"], "--frames must be between"),
])
def test_bad_options_exit_2_with_one_line(args, message, tmp_path):
    out = tmp_path / "result.json"
    result = _eval("--sequence", *args, "--out", out)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output
    assert "Traceback" not in result.output and not out.exists()


def test_sequence_options_need_sequence():
    result = _eval("--cameras", "2")
    assert result.exit_code == 2 and "only apply with --sequence" in result.output


def test_a_small_run_prints_the_table_and_writes_json(tmp_path, monkeypatch):
    from mvmocap.console import console

    monkeypatch.setattr(console, "_width", 200)  # the shared console's width is fixed when it is created
    out = tmp_path / "result.json"
    result = _eval("--sequence", "--cameras", "2,3", "--condition", "clean", "--clips", "1", "--frames", "10",
                   "--methods", "triangulation", "--out", out)
    assert result.exit_code == 0, result.output
    assert "triangulation" in result.output and "PA-MPJPE" in result.output
    doc = json.loads(out.read_text())
    assert [cell["cameras"] for cell in doc["cells"]] == [2, 3]
    assert doc["cells"][0]["methods"]["triangulation"]["mpjpe"] < 1e-3  # clean evidence triangulates exactly
    assert doc["settings"]["frames"] == 10 and doc["temporal_handling"]


def test_list_options_split_on_commas_and_repeat():
    assert split_values(["2,4", " 8 "]) == ("2", "4", "8") and split_values(None) == ()


def test_single_frame_options_are_refused_with_sequence():
    result = _eval("--sequence", "--method", "fit", "--views", "4")
    assert result.exit_code == 2 and "--method, --views do not apply with --sequence" in result.output
