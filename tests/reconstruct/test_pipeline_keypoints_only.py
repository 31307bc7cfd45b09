"""``reconstruct --keypoints DIR --calibration FILE`` without videos gives the video path's result."""

from __future__ import annotations

import shutil

import numpy as np
from typer.testing import CliRunner

from mvmocap.cli.main import app
from mvmocap.reconstruct import run
from tests.reconstruct.test_pipeline import EXAMPLE, FRAMES, capture, config  # noqa: F401  (module fixture)


def test_same_result_as_the_video_path(capture, tmp_path):  # noqa: F811
    root, _, _ = capture
    calibration = EXAMPLE / "calibration.yaml"
    with_videos = run(root / "videos", tmp_path / "videos", calibration=calibration, keypoints_dir=root / "json",
                      config=config(), progress=False)
    cfg = config()
    cfg.export.render = True  # asked for, but there is nothing to draw over
    without = run(None, tmp_path / "json_only", calibration=calibration, keypoints_dir=root / "json", config=cfg,
                  progress=False)
    assert not (tmp_path / "json_only" / "overlays").exists()
    a, b = (np.load(tmp_path / name / "smpl_params.npz") for name in ("videos", "json_only"))
    np.testing.assert_array_equal(a["valid"], b["valid"])
    ok = a["valid"].astype(bool)
    np.testing.assert_allclose(b["poses"][ok], a["poses"][ok], atol=1e-9)
    np.testing.assert_allclose(b["trans"][ok], a["trans"][ok], atol=1e-9)
    np.testing.assert_allclose(b["betas"], a["betas"], atol=1e-9)
    assert with_videos.summary["median_reprojection_fit_px"] == without.summary["median_reprojection_fit_px"]


def _cli(*args):
    return CliRunner().invoke(app, ["reconstruct", *map(str, args)])


def test_cli_errors_name_the_problem_and_write_nothing(capture, tmp_path):  # noqa: F811
    root, _, _ = capture
    calibration = EXAMPLE / "calibration.yaml"
    renamed = tmp_path / "renamed"
    shutil.copytree(root / "json", renamed)
    (renamed / "cam01_json").rename(renamed / "camA_json")
    result = _cli("--keypoints", renamed, "--calibration", calibration, "--out", tmp_path / "o1")
    assert result.exit_code == 2 and "no camera for camA" in result.output and "calibration: cam01" in result.output
    assert not (tmp_path / "o1").exists()

    short = tmp_path / "short"
    shutil.copytree(root / "json", short)
    sorted((short / "cam02_json").glob("*.json"))[-1].unlink()
    result = _cli("--keypoints", short, "--calibration", calibration, "--out", tmp_path / "o2")
    assert result.exit_code == 2 and f"cam01 {FRAMES}, cam02 {FRAMES - 1}" in result.output
    assert not (tmp_path / "o2").exists()

    result = _cli("--keypoints", root / "json", "--calibrate-from-joints", "--out", tmp_path / "o3")
    assert result.exit_code == 2 and "needs --calibration" in result.output and not (tmp_path / "o3").exists()
