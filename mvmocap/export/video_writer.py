"""Overlay video files: H.264 through the ffmpeg that ``imageio-ffmpeg`` ships in its wheel
(the optional ``video`` extra), else OpenCV's MPEG-4 Part 2 (``mp4v``), which every OpenCV has.

Frames are BGR uint8 ``(H, W, 3)`` of one size; odd sizes are padded by one black row/column
(H.264 in yuv420p needs even sizes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

H264_CRF = 23  # x264's default quality
H264_PRESET = "veryfast"  # about 4x x264's default "medium" speed, a slightly larger file


def h264_available() -> bool:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


class VideoWriter:
    """Write frames to ``path`` (an ``.mp4``); ``codec`` is ``"h264"`` or ``"mp4v"`` (see :attr:`codec`).

    Use as a context manager; the file is complete when the block exits without error.
    """

    def __init__(self, path: str | Path, fps: float, prefer_h264: bool = True):
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.codec = "h264" if prefer_h264 and h264_available() else "mp4v"
        self._sink = None
        self._size: tuple[int, int] | None = None

    def __enter__(self) -> "VideoWriter":
        return self

    def write(self, image: np.ndarray) -> None:
        if self._size is None:
            self._size = (image.shape[1] + image.shape[1] % 2, image.shape[0] + image.shape[0] % 2)
            self._open()
        if image.shape[1] != self._size[0] or image.shape[0] != self._size[1]:
            image = np.pad(image, ((0, self._size[1] - image.shape[0]), (0, self._size[0] - image.shape[1]), (0, 0)))
        if self.codec == "h264":
            self._sink.send(np.ascontiguousarray(image).tobytes())
        else:
            self._sink.write(image)

    def _open(self) -> None:
        if self.codec == "h264":
            import imageio_ffmpeg

            self._sink = imageio_ffmpeg.write_frames(
                str(self.path), self._size, fps=self.fps, codec="libx264", pix_fmt_in="bgr24", pix_fmt_out="yuv420p",
                quality=None, macro_block_size=1, ffmpeg_log_level="error",
                output_params=["-crf", str(H264_CRF), "-preset", H264_PRESET],
            )
            self._sink.send(None)  # start the encoder
        else:
            import cv2

            self._sink = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._size)

    def __exit__(self, *exc) -> None:
        if self._sink is None:
            return
        if self.codec == "h264":
            self._sink.close()
        else:
            self._sink.release()
        self._sink = None
