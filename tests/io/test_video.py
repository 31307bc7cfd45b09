"""Video / image-folder ingest: discovery, probing, the common frame range, reading."""

from __future__ import annotations

import warnings
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.io.video import (
    CameraSource,
    discover_cameras,
    iter_frames,
    open_camera,
    parse_frames,
    parse_offsets,
    plan_frames,
)


def write_video(path: Path, num_frames: int, size=(64, 48), fps=30.0) -> Path:
    """A small MJPG .avi whose frame k is uniformly grey at level 8 * k (decodable everywhere)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for k in range(num_frames):
        writer.write(np.full((size[1], size[0], 3), 8 * k, np.uint8))
    writer.release()
    return path


def write_images(folder: Path, num_frames: int, size=(40, 30)) -> Path:
    folder.mkdir(parents=True)
    for k in range(num_frames):
        cv2.imwrite(str(folder / f"img_{k}.png"), np.full((size[1], size[0], 3), 8 * k, np.uint8))
    return folder


def grey_level(image: np.ndarray) -> int:
    return int(round(image.mean() / 8))


def test_discover_videos_and_image_folders(tmp_path):
    write_video(tmp_path / "cam02.avi", 3)
    write_images(tmp_path / "cam01", 3)
    (tmp_path / ".hidden").write_text("ignored")
    cams = discover_cameras(tmp_path)
    assert [p.name for p in cams] == ["cam01", "cam02.avi"]
    sources = [open_camera(p) for p in cams]
    assert [s.name for s in sources] == ["cam01", "cam02"]
    assert sources[0].size == (40, 30) and sources[0].num_frames == 3 and not sources[0].is_video
    assert sources[1].size == (64, 48) and sources[1].num_frames == 3 and sources[1].fps == pytest.approx(30)


def test_image_folders_sort_naturally(tmp_path):
    folder = write_images(tmp_path / "cam", 12)
    source = open_camera(folder)
    assert [p.name for p in source.images[:3]] == ["img_0.png", "img_1.png", "img_2.png"]
    assert source.images[-1].name == "img_11.png"


@pytest.mark.parametrize("kind", ["video", "images"])
def test_iter_frames_reads_the_requested_frames(tmp_path, kind):
    path = write_video(tmp_path / "c.avi", 20) if kind == "video" else write_images(tmp_path / "c", 20)
    source = open_camera(path)
    wanted = np.array([0, 3, 4, 11, 19])
    got = list(iter_frames(source, wanted))
    assert [f for f, _ in got] == wanted.tolist()
    assert [grey_level(img) for _, img in got] == wanted.tolist()


def test_iter_frames_past_the_end_yields_none(tmp_path):
    source = open_camera(write_video(tmp_path / "c.avi", 4))
    got = dict(iter_frames(source, np.array([2, 6, 7])))
    assert got[2] is not None and got[6] is None and got[7] is None


def test_iter_frames_stops_cleanly_when_abandoned(tmp_path):
    source = open_camera(write_video(tmp_path / "c.avi", 30))
    frames = iter_frames(source, np.arange(30), prefetch=2)
    next(frames)
    frames.close()  # must not hang on the full queue


def test_parse_frames():
    assert parse_frames(None) == (0, None, 1)
    assert parse_frames("10:50:2") == (10, 50, 2)
    assert parse_frames(":20") == (0, 20, 1)
    assert parse_frames("5:") == (5, None, 1)
    for bad in ("a:b", "5:2", "0:10:0", "1:2:3:4", "-1:4"):
        with pytest.raises(InputError):
            parse_frames(bad)


def test_parse_offsets():
    assert parse_offsets(["cam02=3", "cam03=-1"]) == {"cam02": 3, "cam03": -1}
    assert parse_offsets({"a": 2}) == {"a": 2}
    assert parse_offsets(None) == {}
    for bad in (["cam02"], ["cam02=x"], ["=3"]):
        with pytest.raises(InputError):
            parse_offsets(bad)


def fake_source(name, n, fps=60.0):
    return CameraSource(name, Path(name), n, fps, (10, 10))


def test_plan_frames_common_range_with_offsets():
    sources = [fake_source("a", 100), fake_source("b", 100)]
    plan = plan_frames(sources, None, {"b": 3})
    # b started 3 frames late: timeline 3..99 exist in both (b's local 0..96)
    assert plan.frame_ids[0] == 3 and plan.frame_ids[-1] == 99
    np.testing.assert_array_equal(plan.local_frames("b"), plan.frame_ids - 3)
    np.testing.assert_array_equal(plan.local_frames("a"), plan.frame_ids)
    plan = plan_frames(sources, "0:20:5", {"b": 3})
    assert plan.frame_ids.tolist() == [5, 10, 15]


def test_plan_frames_warns_or_fails_on_mismatch():
    sources = [fake_source("a", 100), fake_source("b", 90, fps=30.0)]
    with pytest.warns(UserWarning, match="frame counts differ"):
        plan = plan_frames(sources)
    assert len(plan.frame_ids) == 90
    with pytest.raises(InputError, match="frame rates differ"):
        plan_frames(sources, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan_frames([fake_source("a", 10), fake_source("b", 10)], strict=True)


def test_plan_frames_errors():
    sources = [fake_source("a", 10), fake_source("b", 10)]
    with pytest.raises(InputError, match="unknown camera"):
        plan_frames(sources, None, {"zz": 1})
    with pytest.raises(InputError, match="no frame common"):
        plan_frames(sources, "20:30")


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(MissingFileError):
        discover_cameras(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no videos"):
        discover_cameras(tmp_path / "empty")
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "notes.txt").write_text("x")
    with pytest.raises(FileFormatError, match="unsupported file type '.txt'"):
        discover_cameras(odd)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(FileFormatError, match="broken.mp4"):
        open_camera(broken)
    empty = tmp_path / "empty.avi"
    write_video(empty, 0)
    with pytest.raises(FileFormatError, match="empty.avi"):
        open_camera(empty)


def test_folders_mvmocap_writes_beside_the_videos_are_skipped(tmp_path):
    write_video(tmp_path / "cam01.avi", 3)
    (tmp_path / "detections").mkdir()  # the work folder may be the videos folder
    (tmp_path / "detections" / "cam01.npz").write_bytes(b"")
    (tmp_path / "cam01_json").mkdir()  # an OpenPose export
    (tmp_path / "cam01_json" / "cam01_000000000000_keypoints.json").write_text("{}")
    assert [p.name for p in discover_cameras(tmp_path)] == ["cam01.avi"]
    (tmp_path / "other").mkdir()
    with pytest.raises(FileFormatError, match="no images"):
        discover_cameras(tmp_path)


def test_damaged_video_reads_without_decoder_noise_on_stderr(tmp_path):
    """FFmpeg's decoder complaints are silenced at the source (OPENCV_FFMPEG_LOGLEVEL)."""
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    video = tmp_path / "cam.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (160, 120))
    for _ in range(20):
        writer.write(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    writer.release()
    data = bytearray(video.read_bytes())
    for index in rng.integers(len(data) // 4, 3 * len(data) // 4, 100):  # damage the frames, keep the index
        data[index] = int(rng.integers(256))
    video.write_bytes(bytes(data))
    script = ("import numpy as np; from mvmocap.io.video import open_camera, iter_frames; "
              f"s = open_camera({str(video)!r}); print(sum(1 for _ in iter_frames(s, np.arange(s.num_frames))))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "20"  # damaged frames are still yielded (or None), never a crash
    assert "@ 0x" not in result.stderr, result.stderr


def test_plan_frames_warns_when_the_range_runs_past_the_capture():
    sources = [fake_source("a", 12), fake_source("b", 12)]
    with pytest.warns(UserWarning, match=r"--frames 10:20: the common timeline ends at frame 12; using frames 10:12 \(2 frames\)"):
        plan = plan_frames(sources, "10:20")
    assert plan.frame_ids.tolist() == [10, 11]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(plan_frames(sources, "2:12").frame_ids) == 10


def test_an_image_of_another_size_in_an_image_folder_is_one_clear_error(tmp_path):
    import cv2

    folder = tmp_path / "cam01"
    folder.mkdir()
    cv2.imwrite(str(folder / "000.png"), np.zeros((8, 12, 3), np.uint8))
    cv2.imwrite(str(folder / "001.png"), np.zeros((10, 12, 3), np.uint8))
    source = open_camera(folder)
    assert source.size == (12, 8)
    with pytest.raises(FileFormatError, match=r"001.png: image is 12x10, the other images of cam01 are 12x8"):
        list(iter_frames(source, np.array([0, 1])))


def test_a_fifo_named_like_a_video_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "cam01.mp4")
    with pytest.raises(FileFormatError, match="cam01.mp4: is not a regular file"):
        open_camera(tmp_path / "cam01.mp4")
