"""End to end on the bundled example videos with synthetic OpenPose keypoints (no detector, fast fit)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mvmocap.errors import InputError
from mvmocap.io.calibration import load_rig, save_rig
from mvmocap.io.openpose import export_camera
from mvmocap.io.smpl_params import load_smpl_params
from mvmocap.reconstruct import ReconstructConfig, run

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "pose2sim_demo"
FRAMES = 12
NOBODY = (4, 5)  # frames where no camera sees anyone
FAST_FIT = {"iters_shape": 30, "iters_global": 10, "iters_pose": 30, "shape_frames": 4, "chunk_size": 6}


def synthetic_keypoints(rig) -> np.ndarray:
    """``(C, F, 23, 3)``: a standing, slowly turning body projected into ``rig``."""
    from mvmocap.body import load_body_model
    from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

    body = load_body_model(None, dtype=torch.float64)
    y_up_to_z_up = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=torch.float64)
    yaw = torch.linspace(0, 0.6, FRAMES, dtype=torch.float64)
    turn = axis_angle_to_matrix(torch.stack([torch.zeros_like(yaw), torch.zeros_like(yaw), yaw], -1))
    body_pose = torch.zeros(FRAMES, 23, 3, dtype=torch.float64)
    body_pose[:, 15, 2] = -0.8  # left shoulder down a little (index 16 - 1)
    body_pose[:, 16, 2] = 0.8
    body_pose[:, 17, 1] = -0.5 * torch.linspace(0, 1, FRAMES, dtype=torch.float64)  # left elbow bends
    out = body(global_orient=matrix_to_axis_angle(turn @ y_up_to_z_up), body_pose=body_pose,
               transl=torch.tensor([0.0, 0.0, 0.95], dtype=torch.float64).expand(FRAMES, 3))
    uv = rig.project(out.coco23).numpy()  # (F, C, 23, 2)
    conf = np.broadcast_to(body.coco23_available.numpy().astype(float), uv.shape[:-1]).copy()
    conf[list(NOBODY)] = 0.0
    kp = np.concatenate([uv, conf[..., None] * 0.9], axis=-1)
    kp[conf == 0] = 0.0
    return kp.transpose(1, 0, 2, 3)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """A videos folder (links to the bundled example) and synthetic OpenPose JSON for it."""
    root = tmp_path_factory.mktemp("capture")
    videos = root / "videos"
    videos.mkdir()
    for video in sorted((EXAMPLE / "videos").glob("*.mp4")):
        (videos / video.name).symlink_to(video)
    rig = load_rig(EXAMPLE / "calibration.yaml")
    keypoints = synthetic_keypoints(rig)
    for c, name in enumerate(rig.names):
        export_camera(root / "json", name, np.arange(FRAMES), keypoints[c])
    return root, rig, keypoints


def config() -> ReconstructConfig:
    return ReconstructConfig.from_dict({"fit": FAST_FIT, "detect": {"frames": f"0:{FRAMES}"}})


def test_outputs_are_complete_and_consistent(capture, tmp_path):
    root, rig, _ = capture
    out = tmp_path / "out"
    result = run(root / "videos", out, calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json",
                 config=config(), progress=False)
    for name in ("smpl_params.npz", "joints3d.npz", "cameras.yaml", "report.json", "config.yaml"):
        assert (out / name).is_file(), name
    with np.load(out / "smpl_params.npz") as data:
        assert data["poses"].shape == (FRAMES, 72) and data["trans"].shape == (FRAMES, 3)
        assert data["betas"].shape == (10,)
        assert float(data["mocap_framerate"]) == pytest.approx(60.0, rel=0.01)
        valid = data["valid"].astype(bool)
        assert not valid[list(NOBODY)].any() and valid.sum() == FRAMES - len(NOBODY)
        assert np.isnan(data["poses"][~valid]).all() and np.isfinite(data["poses"][valid]).all()
        np.testing.assert_array_equal(data["global_orient"], data["poses"][:, :3])
        assert str(data["body_model"]) == "open_neutral" and len(str(data["body_model_sha256"])) == 64
    loaded = load_smpl_params(out / "smpl_params.npz")
    assert loaded.params.num_frames == FRAMES and not loaded.params.valid[NOBODY[0]]
    with np.load(out / "joints3d.npz") as joints:
        assert joints["triangulated"].shape == (FRAMES, 23, 3)
        assert joints["fitted_reprojection_px"].shape == (FRAMES, 4, 23)
        assert joints["smpl_joints"].shape == (FRAMES, 24, 3)
        compared = joints["compared"]
        fitted_errors, triangulated_errors = joints["fitted_reprojection_px"], joints["triangulated_reprojection_px"]
    report = json.loads((out / "report.json").read_text())
    summary = report["summary"]
    assert compared.dtype == bool and compared.shape == (FRAMES, 4, 23)
    assert not compared[list(NOBODY)].any() and not compared[..., 17:].any() and compared.any()
    # torch's median (the lower middle value), as the report's
    assert summary["median_reprojection_fit_px"] == pytest.approx(float(torch.from_numpy(fitted_errors[compared]).median()))
    assert summary["median_reprojection_triangulation_px"] == pytest.approx(
        float(torch.from_numpy(triangulated_errors[compared]).median()))
    # Exact synthetic keypoints: triangulation is near-perfect and the fit lands within a few pixels.
    assert summary["median_reprojection_triangulation_px"] < 0.5
    assert summary["median_reprojection_fit_px"] < 6.0
    assert 1.55 < summary["height_m"] < 1.95
    assert set(report["timings_s"]) >= {"detect", "cameras", "triangulate", "fit", "export", "total"}
    assert len(report["frames"]) == FRAMES and len(report["cameras"]) == 4
    saved_config = yaml.safe_load((out / "config.yaml").read_text())  # the resolved values, defaults included
    assert saved_config["fit"].items() >= FAST_FIT.items() and len(saved_config["fit"]) > len(FAST_FIT)
    assert saved_config["body_model"] == os.environ.get("MVMOCAP_BODY_MODEL", "open_neutral")
    saved = load_rig(out / "cameras.yaml")
    assert saved.names == rig.names and torch.allclose(saved.R, rig.R)
    assert all(summary[k] == v for k, v in result.summary.items())


def test_rerun_resumes_from_the_cached_stages(capture, tmp_path):
    root, _, _ = capture
    out = tmp_path / "out"
    kwargs = dict(calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json", progress=False)
    run(root / "videos", out, config=config(), **kwargs)
    fit_entry = out / "stages" / "fit.npz"
    before = fit_entry.stat().st_mtime_ns
    second = run(root / "videos", out, config=config(), **kwargs)
    assert fit_entry.stat().st_mtime_ns == before  # reused, not refitted
    assert second.timings["fit"] < 5.0
    changed = config()
    changed.fit = dict(FAST_FIT, weight_shape=0.5)
    run(root / "videos", out, config=changed, **kwargs)
    assert fit_entry.stat().st_mtime_ns != before  # other settings: refitted
    assert not list(out.rglob("*.part*"))


def test_camera_without_detections_is_skipped(capture, tmp_path):
    root, rig, keypoints = capture
    json_dir = tmp_path / "json"
    for c, name in enumerate(rig.names):
        kp = keypoints[c].copy()
        if name == "cam03":
            kp[:] = 0
        export_camera(json_dir, name, np.arange(FRAMES), kp)
    with pytest.warns(UserWarning, match="cam03"):
        result = run(root / "videos", tmp_path / "out", calibration=EXAMPLE / "calibration.yaml",
                     keypoints_dir=json_dir, config=config(), progress=False)
    assert result.rig.names == ("cam01", "cam02", "cam04")


def test_fewer_than_two_usable_cameras_is_an_error(capture, tmp_path):
    root, rig, keypoints = capture
    json_dir = tmp_path / "json"
    for c, name in enumerate(rig.names):
        export_camera(json_dir, name, np.arange(FRAMES), keypoints[c] * (name == "cam01"))
    with pytest.raises(InputError, match="at least 2"), pytest.warns(UserWarning):
        run(root / "videos", tmp_path / "out", calibration=EXAMPLE / "calibration.yaml",
            keypoints_dir=json_dir, config=config(), progress=False)


def test_mismatched_camera_names_list_both_through_the_cli(capture, tmp_path):
    root, rig, _ = capture
    renamed = [c for c in rig.cameras()]
    from mvmocap.geometry.camera import Camera

    renamed = [Camera(f"view{i}", c.K, c.dist, c.R, c.t, c.size) for i, c in enumerate(renamed)]
    save_rig(renamed, tmp_path / "other.yaml")
    cmd = [sys.executable, "-m", "mvmocap.cli.main", "reconstruct", str(root / "videos"), "--out", str(tmp_path / "o"),
           "--calibration", str(tmp_path / "other.yaml"), "--keypoints", str(root / "json"), "--frames", f"0:{FRAMES}", "-q"]
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "300"})
    assert result.returncode == 2, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "videos: cam01, cam02, cam03, cam04" in lines[0] and "calibration: view0" in lines[0]
    assert "Traceback" not in result.stderr


def test_needs_exactly_one_camera_source(capture, tmp_path):
    root, _, _ = capture
    with pytest.raises(InputError, match="not both or neither"):
        run(root / "videos", tmp_path / "o", progress=False)


def test_unknown_config_option_is_a_clear_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("fit:\n  iters_pose: 3\nwrong_option: 1\n")
    with pytest.raises(InputError, match="unknown option"):
        ReconstructConfig.load(path)
    path.write_text("fit:\n  not_a_fit_option: 3\n")
    with pytest.raises(InputError, match="unknown fit option"):
        ReconstructConfig.load(path)
    path.write_text("fit:\n  refine_pose_prior: network\n")  # a known option with a refused value
    with pytest.raises(InputError, match=re.escape(f"{path}: refine_pose_prior must be one of regressor, rest")):
        ReconstructConfig.load(path)


def test_shipped_example_config_lists_the_defaults():
    from mvmocap.fit.smplify import FitConfig

    shipped = ReconstructConfig.load(REPO / "examples" / "configs" / "reconstruct.yaml")
    defaults = ReconstructConfig()
    assert shipped.fit_config().to_dict() == FitConfig(device="cpu").to_dict() == defaults.fit_config().to_dict()
    assert shipped.detect == defaults.detect and shipped.triangulation == defaults.triangulation
    assert shipped.method == defaults.method and shipped.export == defaults.export


def test_unknown_method_fails_before_any_work(capture, tmp_path):
    root, _, _ = capture
    cfg = config()
    cfg.method = "nope"
    with pytest.raises(InputError, match="unknown method 'nope'"):
        run(root / "videos", tmp_path / "o", calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json",
            config=cfg, progress=False)
    assert not (tmp_path / "o" / "work").exists()
