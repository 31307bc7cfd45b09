"""The Rerun recording: written from a run's files, read back with the SDK."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from mvmocap.cli.main import app
from mvmocap.geometry.camera import CameraRig
from mvmocap.io.calibration import save_rig
from tests.conftest import ring_cameras

pytest.importorskip("rerun", reason="rerun-sdk (the view extra) is not installed")

from tests.export.rerun_reader import frames_per_entity  # noqa: E402


@pytest.fixture()
def run_with_cameras(run_dir, tmp_path):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    save_rig(CameraRig.from_cameras(ring_cameras(3, np.random.default_rng(5))), folder / "cameras.yaml")
    return folder


def test_recording_holds_cameras_joints_and_mesh_on_one_timeline(run_with_cameras):
    result = CliRunner().invoke(app, ["view", str(run_with_cameras)])
    assert result.exit_code == 0, result.output
    frames = frames_per_entity(run_with_cameras / "recording.rrd")
    every, seen = set(range(10, 16)), set(range(10, 16)) - {12}  # frame 12: nobody seen
    assert frames["/world/triangulated"] == every
    assert frames["/world/body"] == seen and frames["/world/fitted"] == seen and frames["/world/skeleton"] == seen
    cameras = sorted(e for e in frames if e.startswith("/world/cameras/") and e.count("/") == 3)
    assert cameras == ["/world/cameras/cam01", "/world/cameras/cam02", "/world/cameras/cam03"]
    assert frames["/world/cameras/cam01"] == set() and "/world/cameras/cam01/image" in frames  # static pose + pinhole


def test_missing_rerun_is_one_line(run_with_cameras, monkeypatch):
    monkeypatch.setitem(sys.modules, "rerun", None)
    result = CliRunner().invoke(app, ["view", str(run_with_cameras)])
    assert result.exit_code == 2 and "needs rerun-sdk" in result.output
    assert not (run_with_cameras / "recording.rrd").exists()
