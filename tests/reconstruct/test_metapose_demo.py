"""``reconstruct --method metapose`` and ``metapose+fit`` end to end on the shared demo capture, without a
calibration file (skipped when ../shared is absent), on its first 12 frames (BlazePose runs on them)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mvmocap.cli.main import app
from mvmocap.io.cameras_per_frame import load_cameras_per_frame

from ..conftest import SHARED_DEMO

FAST = "fit:\n  iters_shape: 20\n  iters_global: 5\n  iters_pose: 20\n  shape_frames: 4\n"


@pytest.mark.parametrize("method", ["metapose", "metapose+fit"])
def test_the_demo_reconstructs_without_a_calibration(method, tmp_path, monkeypatch, metapose_checkpoint):
    if not (SHARED_DEMO / "videos").is_dir():
        pytest.skip(f"shared demo capture absent ({SHARED_DEMO}); it lives next to the repository in ../shared")
    monkeypatch.setenv("MVMOCAP_METAPOSE_CHECKPOINT", str(metapose_checkpoint))
    out = tmp_path / "out"
    (tmp_path / "fast.yaml").write_text(FAST)
    result = CliRunner().invoke(app, ["reconstruct", str(SHARED_DEMO / "videos"), "--out", str(out), "--method", method,
                                      "--height", "1.75", "--config", str(tmp_path / "fast.yaml"), "-q", "--frames", "0:12"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    summary = report["summary"]
    cameras = load_cameras_per_frame(out)
    assert cameras.rig.names == ("cam01", "cam02", "cam03", "cam04")
    assert cameras.rig.num_frames == summary["frames"] and summary["valid_frames"] == summary["frames"]
    assert 1.5 < summary["height_m"] < 2.0
    assert summary["cameras_per_frame"]["subject_height_m"] == 1.75
    assert summary["median_reprojection_fit_px"] < 60  # of 1080 x 1920 px images, with a 4-step stage 2
    # the demo's cameras are on tripods: none may be flagged as moved
    assert summary["cameras_per_frame"]["moved_cameras"] == []
    centres = cameras.rig.centers()
    assert float(centres[..., 2].median()) > 0.3  # cameras above the floor: +Z is up
