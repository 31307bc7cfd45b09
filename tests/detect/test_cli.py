"""``mvmocap detect`` through the command line: bad inputs give one clear line and exit code 2."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mvmocap.cli.main import app

from .conftest import write_video


def invoke(*args):
    return CliRunner().invoke(app, ["detect", *map(str, args)])


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:") and "Traceback" not in result.output
    return lines[0]


def test_empty_folder(tmp_path):
    (tmp_path / "videos").mkdir()
    assert "no videos" in one_error_line(invoke(tmp_path / "videos", "--out", tmp_path / "w"))


def test_missing_folder(tmp_path):
    assert "not found" in one_error_line(invoke(tmp_path / "nope", "--out", tmp_path / "w"))


def test_unsupported_file(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "cam01.avi", 3)
    (videos / "cam02.txt").write_text("hello")
    line = one_error_line(invoke(videos, "--out", tmp_path / "w"))
    assert "cam02.txt" in line and "unsupported file type" in line


def test_corrupted_video(tmp_path, rng):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "cam01.avi", 3)
    (videos / "cam02.mp4").write_bytes(rng.integers(0, 255, 5000).astype(np.uint8).tobytes())
    line = one_error_line(invoke(videos, "--out", tmp_path / "w"))
    assert "cam02.mp4" in line and "video" in line


def test_camera_with_zero_readable_frames(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "cam01.avi", 3)
    write_video(videos / "cam02.avi", 0)
    line = one_error_line(invoke(videos, "--out", tmp_path / "w"))
    assert "cam02.avi" in line


def test_bad_frames_and_offsets(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "cam01.avi", 3)
    assert "--frames" in one_error_line(invoke(videos, "--out", tmp_path / "w", "--frames", "5:1"))
    assert "unknown camera" in one_error_line(invoke(videos, "--out", tmp_path / "w", "--offset", "cam09=1"))


def test_openpose_json_import_through_cli(capture, tmp_path):
    videos, truth = capture
    result = invoke(videos, "--out", tmp_path / "w", "--detector", "openpose-json", "--quiet")
    assert result.exit_code == 0, result.output
    import mvmocap.detect

    det = mvmocap.detect.load(tmp_path / "w")
    np.testing.assert_allclose(det.keypoints[0], truth["cam01"], atol=2e-3)


def test_help_lists_the_options():
    result = CliRunner().invoke(app, ["detect", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--detector", "--frames", "--offset", "--strict", "--export-openpose", "--device"):
        assert option in result.output


@pytest.mark.parametrize("detector", ["detectron2"])
def test_missing_optional_detector(detector, capture, tmp_path):
    pytest.importorskip("mvmocap")
    try:
        import detectron2  # noqa: F401
        pytest.skip("detectron2 installed")
    except ImportError:
        pass
    videos, _ = capture
    import shutil

    for cam in ("cam01", "cam02"):
        shutil.rmtree(videos / f"{cam}_json")
    line = one_error_line(invoke(videos, "--out", tmp_path / "w", "--detector", detector))
    assert "detectron2" in line and "not installed" in line
