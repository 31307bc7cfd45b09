import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mvmocap import __version__

MVMOCAP = [sys.executable, "-m", "mvmocap.cli.main"]


def run(*args, cwd=None):
    return subprocess.run(MVMOCAP + list(args), capture_output=True, text=True, cwd=cwd, env={**os.environ, "COLUMNS": "200"})


def test_help_lists_the_commands_and_is_fast():
    start = time.perf_counter()
    result = run("--help")
    elapsed = time.perf_counter() - start
    assert result.returncode == 0
    for command in ("detect", "calibrate", "reconstruct", "train-synthetic", "eval"):
        assert command in result.stdout
        sub = run(command, "--help")
        assert sub.returncode == 0 and "Usage" in sub.stdout, command
    assert elapsed < 3.0  # generous for a loaded CI machine; ~0.2 s here


def test_help_does_not_import_torch():
    code = "import sys; from mvmocap.cli import main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"mvmocap {__version__}"


def test_calibrate_from_file_writes_a_valid_native_file(shared_demo, tmp_path):
    out = tmp_path / "cams.yaml"
    result = run("calibrate", "--from-file", str(shared_demo / "calibration" / "Calib.qca.txt"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(out.read_text())
    assert doc["format"] == "mvmocap-cameras/1" and len(doc["cameras"]) == 4
    assert "cam04" in result.stderr  # the summary table


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (None, ["--from-file", "{tmp}/missing.yaml", "--out", "{tmp}/o.yaml"], "not found"),
        ("format: [", ["--from-file", "{tmp}/in.yaml", "--out", "{tmp}/o.yaml"], "malformed YAML"),
        ("x", ["--from-file", "{tmp}/in.yaml", "--out", "{tmp}/o.yaml", "--format", "blender"], "unknown calibration format"),
        (None, ["--out", "{tmp}/o.yaml"], "exactly one of"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(setup, args, message, tmp_path):
    if setup is not None:
        (tmp_path / "in.yaml").write_text(setup)
    result = run("calibrate", *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.yaml").exists()


def test_eval_calibration_compares_resized_and_full_calibrations(shared_demo, tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "pose2sim_demo" / "calibration.yaml"
    result = run("eval", "calibration", "--estimate", str(example),
                 "--reference", str(shared_demo / "calibration" / "Calib.qca.txt"), "--json", str(tmp_path / "c.json"))
    assert result.returncode == 0, result.stderr
    import json

    doc = json.loads((tmp_path / "c.json").read_text())
    # The example is the same rig at half resolution: same poses, same field of view.
    assert doc["mean_rotation_error_deg"] < 1e-6 and doc["mean_center_error_pct"] < 1e-6
    assert doc["mean_focal_error_pct"] < 0.2


def test_eval_unknown_dataset_is_refused():
    result = run("eval", "--dataset", "h36m")
    assert result.returncode == 2 and "unknown dataset" in result.stderr


def test_eval_reconstructions_compares_two_outputs(tmp_path):
    import json

    from tests.io.test_joints3d import write_joints3d

    write_joints3d(tmp_path / "a" / "joints3d.npz")
    write_joints3d(tmp_path / "b" / "joints3d.npz", scale=0.9)
    result = run("eval", "reconstructions", "--reference", str(tmp_path / "a"), "--other", str(tmp_path / "b"),
                 "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    assert "ratio other / reference: 0.9000" in result.stdout and "lower" in result.stdout
    assert json.loads((tmp_path / "r.json").read_text())["ratio"] == pytest.approx(0.9)
    missing = run("eval", "reconstructions", "--reference", str(tmp_path / "a"), "--other", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr
