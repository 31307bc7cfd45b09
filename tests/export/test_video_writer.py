"""Overlay videos: H.264 when imageio-ffmpeg is installed, mp4v otherwise; both read back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mvmocap.export.video_writer import VideoWriter, h264_available


def _frames(count=6, size=(65, 48)):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (9, 9), 3)
    return [np.roll(base, 2 * k, axis=1) for k in range(count)]


def _read(path):
    capture = cv2.VideoCapture(str(path))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode(errors="replace")
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return fourcc, frames


@pytest.mark.parametrize("prefer_h264", [True, False])
def test_frames_come_back(tmp_path, prefer_h264):
    if prefer_h264 and not h264_available():
        pytest.skip("imageio-ffmpeg (the video extra) is not installed")
    path = tmp_path / "clip.mp4"
    frames = _frames()
    with VideoWriter(path, fps=25, prefer_h264=prefer_h264) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.codec == ("h264" if prefer_h264 else "mp4v")
    fourcc, back = _read(path)
    assert fourcc.lower() in (("avc1", "h264") if prefer_h264 else ("mp4v", "fmp4"))  # OpenCV names MPEG-4 part 2 FMP4
    assert len(back) == len(frames) and back[0].shape == (48, 66, 3)  # odd width padded to even
    error = np.abs(back[3][:, :65].astype(int) - frames[3].astype(int)).mean()
    assert error < 12  # lossy, but the same picture
