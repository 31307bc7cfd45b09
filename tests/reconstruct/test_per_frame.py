"""``reconstruct --method metapose[+fit]`` without a calibration: the per-frame camera stage, its files,
the moved-camera flag and the refusals (the detection stage replaced by a synthetic capture's detections)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from mvmocap.cli.main import app
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.io.cameras_per_frame import load_cameras_per_frame
from mvmocap.reconstruct import per_frame
from mvmocap.synth.mono3d import MonocularNoise
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.moving import HandHeld, moving_capture
from mvmocap.synth.sequence import SequenceConfig

FRAMES = 24
FAST = {"fit": {"iters_shape": 20, "iters_global": 5, "iters_pose": 20, "shape_frames": 4, "chunk_size": 12}}


@pytest.fixture(scope="module")
def capture():
    from mvmocap.body import load_body_model

    config = SequenceConfig(cameras=3, condition="clean", motion=MotionConfig(frames=FRAMES, fps=30.0))
    return moving_capture(load_body_model(None), config, 7, 0, HandHeld(yaw_deg=0.0, slide_m=0.0), MonocularNoise.none())


@pytest.fixture
def reconstruct(tmp_path, monkeypatch, metapose_checkpoint):
    """``reconstruct`` on ``detections`` (the detection stage patched): the CliRunner result."""
    monkeypatch.setenv("MVMOCAP_METAPOSE_CHECKPOINT", str(metapose_checkpoint))
    (tmp_path / "videos").mkdir()
    (tmp_path / "fast.yaml").write_text(yaml.safe_dump(FAST))

    def invoke(detections, *options):
        monkeypatch.setattr("mvmocap.reconstruct.pipeline._detect", lambda *args: detections)
        return CliRunner().invoke(app, ["reconstruct", str(tmp_path / "videos"), "--out", str(tmp_path / "out"), "-q",
                                        "--config", str(tmp_path / "fast.yaml"), *options])

    return invoke


@pytest.mark.parametrize("method", ["metapose", "metapose+fit"])
def test_runs_without_a_calibration_and_writes_the_per_frame_cameras(capture, reconstruct, tmp_path, method):
    result = reconstruct(capture.capture.detections, "--method", method, "--height", "1.6")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    cameras = load_cameras_per_frame(out)
    assert cameras.rig.names == capture.rig.names and cameras.rig.num_frames == FRAMES
    assert cameras.frame_ids.tolist() == list(range(FRAMES)) and bool(cameras.valid.all())
    rel = lambda R: R @ R[:, :1].transpose(-1, -2)  # noqa: E731
    torch.testing.assert_close(rel(cameras.rig.R), rel(capture.rig.R), atol=0.07, rtol=0)  # a 4-step stage 2
    report = json.loads((out / "report.json").read_text())
    section = report["summary"]["cameras_per_frame"]
    assert section["moved_cameras"] == [] and section["solver"] == "s2" and section["subject_height_m"] == 1.6
    assert report["inputs"]["calibration"] == "estimated per frame by the method"
    assert report["summary"]["valid_frames"] == FRAMES and report["summary"]["median_reprojection_fit_px"] < 20
    run_files = json.loads((out / "run.json").read_text())
    assert "cameras_per_frame.npz" in json.dumps(run_files) and (out / "cameras.yaml").is_file()


def _turned(detections_rig, camera: int, degrees: float):
    """The capture's cameras with ``camera`` yawing linearly to ``degrees`` about its centre."""
    F = detections_rig.num_frames
    yaw = torch.deg2rad(torch.linspace(0, degrees, F, dtype=torch.float64))
    turn = axis_angle_to_matrix(torch.stack([torch.zeros_like(yaw), torch.zeros_like(yaw), yaw], -1))
    R, t = detections_rig.R.clone(), detections_rig.t.clone()
    centre = detections_rig.centers()[:, camera]
    R[:, camera] = R[:, camera] @ turn.transpose(-1, -2)
    t[:, camera] = -(R[:, camera] @ centre[..., None]).squeeze(-1)
    return dataclasses.replace(detections_rig, R=R, t=t)


def test_the_report_flags_the_camera_that_turned(capture, tmp_path):
    rig = _turned(capture.rig, camera=2, degrees=40.0)
    scene = type("Scene", (), {"rig": rig, "summary": {"solver": "s1"}})()
    cameras = per_frame.PerFrameCameras(rig, scene, torch.ones(FRAMES, 3, dtype=torch.bool))
    section = per_frame.write_outputs(tmp_path, cameras, capture.capture.detections)
    assert section["moved_cameras"] == [rig.names[2]]
    # the 0.5 s windows (15 frames) average the ends of a 24-frame linear turn in: 40 degrees reads as about 28
    assert 25.0 < section["motion"][rig.names[2]]["rotation_deg"] < 40.0
    assert section["moved_threshold"]["rotation_deg"] == per_frame.ESTIMATED_MOVED_ROTATION_DEG
    mean = cameras.mean_rig()
    assert mean.names == rig.names and torch.allclose(mean.R[0], rig.R[0, 0])


def _refused(result, tmp_path, message):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_overlays_and_several_people_are_refused(capture, reconstruct, tmp_path):
    _refused(reconstruct(capture.capture.detections, "--method", "metapose+fit", "--render"), tmp_path, "--render")
    _refused(reconstruct(capture.capture.detections, "--method", "metapose", "--max-people", "2"), tmp_path,
             "one person")


def test_with_a_calibration_the_body_comes_from_its_triangulation(capture, reconstruct, tmp_path):
    from mvmocap.io.calibration import save_rig

    save_rig(capture.rig.at(0), tmp_path / "cams.yaml")
    for name in capture.rig.names:  # the calibrated path checks the video names against the calibration
        (tmp_path / "videos" / f"{name}.mp4").write_bytes(b"")
    result = reconstruct(capture.capture.detections, "--method", "metapose", "--calibration", str(tmp_path / "cams.yaml"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out" / "cameras_per_frame.npz").exists()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "cameras_per_frame" not in report["summary"] and report["summary"]["median_reprojection_fit_px"] < 15


def test_detections_without_monocular_3d_are_refused(capture, reconstruct, tmp_path):
    detections = dataclasses.replace(capture.capture.detections, mono3d=None)
    _refused(reconstruct(detections, "--method", "metapose"), tmp_path, "monocular 3D")
    # a detector without monocular 3D is refused before it runs
    _refused(reconstruct(capture.capture.detections, "--method", "metapose", "--detector", "detectron2"), tmp_path,
             "only the blazepose detector")


def test_nobody_seen_by_two_cameras_at_once_is_refused(capture, reconstruct, tmp_path):
    keypoints = capture.capture.detections.keypoints.copy()  # (C, F, 23, 3)
    for c in range(3):  # each camera sees the person in its own third of the clip
        keypoints[c, np.arange(FRAMES) // (FRAMES // 3) != c] = 0.0
    detections = dataclasses.replace(capture.capture.detections, keypoints=keypoints)
    _refused(reconstruct(detections, "--method", "metapose"), tmp_path, "no person detected in at least 2 views")


def test_one_camera_is_refused(capture, reconstruct, tmp_path):
    detections = capture.capture.detections.subset_cameras(capture.rig.names[:1])
    _refused(reconstruct(detections, "--method", "metapose"), tmp_path, "at least 2")


def test_a_camera_never_estimated_is_skipped(capture, reconstruct, tmp_path):
    keypoints = capture.capture.detections.keypoints.copy()
    keypoints[2, :, 3:] = 0.0  # camera 3 sees three joints in every frame: MetaPose needs four
    detections = dataclasses.replace(capture.capture.detections, keypoints=keypoints)
    result = reconstruct(detections, "--method", "metapose")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "cam3" in result.output
    assert load_cameras_per_frame(tmp_path / "out").rig.names == capture.rig.names[:2]
