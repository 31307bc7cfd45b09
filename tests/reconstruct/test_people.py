"""``reconstruct --max-people N``: a body per person, on a synthetic two-person capture (OpenPose JSON)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from mvmocap.cli.main import app
from mvmocap.io.calibration import save_rig
from mvmocap.io.openpose import write_frame
from mvmocap.reconstruct import ReconstructConfig, run
from mvmocap.reconstruct.people_render import mesh_colour
from mvmocap.synth.crowd import crossing_walks, observe, ring_rig

FRAMES = 8
SIZE = (480, 270)
FAST_FIT = {"iters_shape": 30, "iters_global": 10, "iters_pose": 30, "shape_frames": 4, "chunk_size": 4}


def _write_crowd(root, frames: int, seed: int, *, mirrored: bool = False):
    """Two people walking in 4 cameras: tiny videos, per-frame OpenPose JSON with both, a calibration.
    ``mirrored``: the crowd's template mirrored into a real body (the calibration's checks want one)."""
    rng = np.random.default_rng(seed)
    rig = ring_rig(4, size=SIZE, focal=275.0)
    joints, heights = crossing_walks(2, frames, rng)
    if mirrored:
        joints[..., 0] *= -1
    scene = observe(rig, joints, np.ones((2, frames), bool), rng, noise=0.003, outliers=0.0)
    videos = root / "videos"
    videos.mkdir(parents=True)
    for c, name in enumerate(rig.names):
        writer = cv2.VideoWriter(str(videos / f"{name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, SIZE)
        for _ in range(frames):
            writer.write(np.zeros((SIZE[1], SIZE[0], 3), np.uint8))
        writer.release()
        for f in range(frames):
            present = scene.boxes[c, f, :, 4] > 0
            write_frame(videos / f"{name}_json" / f"{name}_{f:012d}_keypoints.json",
                        scene.keypoints[c, f, present].astype(np.float32), "body25")
    save_rig(rig, root / "cameras.yaml")
    return root, scene, heights


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    return _write_crowd(tmp_path_factory.mktemp("crowd"), FRAMES, 0)


def test_two_people_give_two_bodies(crowd, tmp_path):
    root, scene, heights = crowd
    cfg = ReconstructConfig.from_dict({"detect": {"max_people": 2, "min_track_frames": 5}, "fit": FAST_FIT,
                                       "export": {"render": True, "render_stride": 4}})
    result = run(root / "videos", tmp_path / "out", calibration=root / "cameras.yaml", keypoints_dir=root / "videos",
                 config=cfg, progress=False)
    record = json.loads((tmp_path / "out" / "people.json").read_text())
    assert record["summary"]["people"] == 2 and len(result.people) == 2
    assert not (tmp_path / "out" / "smpl_params.npz").exists()  # the single-person files live per person
    sheet = cv2.imread(str(tmp_path / "out" / "overlays" / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] == 3 * 360  # first, middle, last frame
    pixels = sheet.reshape(-1, 3).astype(float)
    for k in range(2):  # each person's mesh in its own colour (the videos are black)
        colour = mesh_colour(k)
        cosine = pixels @ colour / (np.linalg.norm(pixels, axis=1) * np.linalg.norm(colour) + 1e-9)
        assert (cosine > 0.999).sum() > 300
    assert (tmp_path / "out" / "overlays" / "cam1.mp4").stat().st_size > 0
    for k in range(2):
        folder = tmp_path / "out" / f"person_{k}"
        for name in ("smpl_params.npz", "joints3d.npz", "report.json", "cameras.yaml"):
            assert (folder / name).is_file()
        joints = np.load(folder / "joints3d.npz")["triangulated"]
        root_k = joints[:, [11, 12]].mean(1)
        truth = scene.joints[:, :, [11, 12]].mean(2)  # (2, F, 3)
        person = int(np.argmin(np.linalg.norm(truth - root_k[None], axis=-1).mean(1)))
        assert np.linalg.norm(truth[person] - root_k, axis=-1).max() < 0.05  # the right person, every frame
        assert record["persons"][k]["median_reprojection_fit_px"] < 10


def test_max_people_zero_is_refused_before_any_work(crowd, tmp_path):
    root, _, _ = crowd
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["reconstruct", str(root / "videos"), "--out", str(out), "--calibration",
                                      str(root / "cameras.yaml"), "--max-people", "0"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "max_people (--max-people) must be an integer >= 1" in lines[0]
    assert not out.exists()


def test_several_people_calibrate_the_cameras_from_everyone_s_joints(tmp_path):
    from mvmocap.evaluate.calibration import compare_calibrations
    from mvmocap.io.calibration import load_rig

    root, scene, _ = _write_crowd(tmp_path / "crowd", 16, 1, mirrored=True)
    config = tmp_path / "fast.yaml"
    config.write_text(yaml.safe_dump({"fit": FAST_FIT, "detect": {"min_track_frames": 10}}))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["reconstruct", str(root / "videos"), "--out", str(out), "--calibrate-from-joints",
                                      "--max-people", "2", "--keypoints", str(root / "videos"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "cameras from the joints of 2 people" in result.output
    record = json.loads((out / "people.json").read_text())
    assert record["summary"]["people"] == 2
    errors = compare_calibrations(load_rig(out / "person_0" / "cameras.yaml"), scene.rig)
    assert errors.mean_rotation_error_deg < 1.0 and errors.mean_center_error_pct < 3.0


def test_calibrate_from_joints_with_max_people_on_a_people_work_folder(tmp_path):
    from mvmocap.evaluate.calibration import compare_calibrations
    from mvmocap.io.calibration import load_rig

    root, scene, _ = _write_crowd(tmp_path / "crowd", 16, 1, mirrored=True)
    work = tmp_path / "work"
    runner = CliRunner()
    detected = runner.invoke(app, ["detect", str(root / "videos"), "--out", str(work), "--detector", "openpose-json",
                                   "--max-people", "2"])
    assert detected.exit_code == 0, detected.output
    single = runner.invoke(app, ["calibrate", "--from-joints", str(work), "--out", str(tmp_path / "one.yaml")])
    assert single.exit_code == 2 and "with --max-people N" in single.output  # one person's calibration: refused
    result = runner.invoke(app, ["calibrate", "--from-joints", str(work), "--out", str(tmp_path / "cal.yaml"),
                                 "--max-people", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "cal_report.json").read_text())
    assert report["people"]["rounds"][-1]["people"] == 2
    errors = compare_calibrations(load_rig(tmp_path / "cal.yaml"), scene.rig)
    assert errors.mean_rotation_error_deg < 1.0 and errors.mean_center_error_pct < 3.0
