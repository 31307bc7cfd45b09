"""Synchronised multi-camera frame ingest: videos or per-camera image folders.

A camera is a video file (its stem is the camera name) or a folder of images
(the folder name is the camera name) inside one input folder. Frames are
numbered on a *common timeline*: a camera with offset ``k`` (it started ``k``
frames late) shows timeline frame ``i`` as its own frame ``i - k``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from mvmocap.errors import FileFormatError, InputError, MissingFileError

# FFmpeg (inside OpenCV) prints every decoder complaint ("[h264 @ 0x...] error at MB ...") on
# stderr; damaged frames are reported as unreadable instead. Set OPENCV_FFMPEG_LOGLEVEL=16 to see them.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class CameraSource:
    """One camera's frames on disk.

    Attributes:
        name: camera name (video stem or image-folder name).
        path: the video file or the image folder.
        num_frames: readable frames (for videos: the container's count, checked by reading).
        fps: frames per second (image folders: 0.0 = unknown).
        size: ``(width, height)`` pixels of the first frame.
        images: the sorted image files of an image folder; empty for a video.
    """

    name: str
    path: Path
    num_frames: int
    fps: float
    size: tuple[int, int]
    images: tuple[Path, ...] = ()

    @property
    def is_video(self) -> bool:
        return not self.images


@dataclass(frozen=True)
class FramePlan:
    """Which frames to read: ``frame_ids`` on the common timeline, per camera ``local[c] = frame_ids - offset[c]``."""

    frame_ids: np.ndarray
    offsets: dict[str, int]

    def local_frames(self, camera: str) -> np.ndarray:
        return self.frame_ids - self.offsets.get(camera, 0)


# -- native log noise --------------------------------------------------------------------

def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence C++ log lines (TFLite / absl) written straight to file descriptor 2 while a graph starts."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. captured): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_c_stdio()  # native logs may sit in C's stdio buffer: drop them while fd 2 is still /dev/null
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# -- discovery ------------------------------------------------------------------------


def _natural_key(path: Path) -> list:
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", path.name)]


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key
    )


def _is_derived_folder(folder: Path) -> bool:
    """Folders mvmocap itself may write beside the videos: the detection cache, OpenPose JSON."""
    return folder.name == "detections" or (folder.name.endswith("_json") and any(folder.glob("*.json")))


def discover_cameras(videos_dir: str | Path, *, allow_folders_without_images: bool = False) -> list[Path]:
    """The camera inputs of ``videos_dir``: video files and image folders, sorted by name.

    Hidden entries (``.name``) are ignored, and so are the folders mvmocap
    writes itself (``detections/`` when the work folder is the videos folder,
    ``<camera>_json/`` OpenPose exports). Any other file is an error (one clear
    message), so that a stray file is never silently taken for a camera or
    dropped. Other sub-folders without images are an error too, unless
    ``allow_folders_without_images``.
    """
    root = Path(videos_dir)
    if not root.exists():
        raise MissingFileError(root, "videos folder")
    if not root.is_dir():
        if root.suffix.lower() in VIDEO_SUFFIXES:
            raise InputError(f"{root}: give the folder that holds one video per camera, not a single video")
        raise FileFormatError(root, "not a folder: expected a folder of videos (one per camera) or of image folders")
    cameras: list[Path] = []
    for entry in sorted(root.iterdir(), key=_natural_key):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if _image_files(entry):
                cameras.append(entry)
            elif not (allow_folders_without_images or _is_derived_folder(entry)):
                raise FileFormatError(entry, "folder holds no images (" + ", ".join(IMAGE_SUFFIXES) + ")")
        elif entry.suffix.lower() in VIDEO_SUFFIXES:
            cameras.append(entry)
        else:
            raise FileFormatError(
                entry,
                f"unsupported file type {entry.suffix or '(none)'!r}: the videos folder may only hold videos "
                f"({', '.join(VIDEO_SUFFIXES)}) or per-camera image folders",
            )
    if not cameras:
        raise InputError(f"{root}: no videos ({', '.join(VIDEO_SUFFIXES)}) or image folders found")
    names = [p.stem if p.is_file() else p.name for p in cameras]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{root}: several inputs share the camera name(s) {', '.join(dupes)}")
    return cameras


def open_camera(path: str | Path) -> CameraSource:
    """Probe one camera input (video or image folder); a clear error if it cannot be read."""
    import cv2

    path = Path(path)
    if path.is_dir():
        images = _image_files(path)
        if not images:
            raise FileFormatError(path, "folder holds no images")
        first = cv2.imread(str(images[0]), cv2.IMREAD_COLOR)
        if first is None:
            raise FileFormatError(images[0], "cannot be read as an image (corrupted or unsupported)")
        height, width = first.shape[:2]
        return CameraSource(path.name, path, len(images), 0.0, (width, height), tuple(images))

    from mvmocap.io.safe_read import check_regular_file

    check_regular_file(path, "video file")  # a FIFO or device would block or never end
    with native_stderr_silenced():  # FFmpeg prints its own complaint about a broken file
        cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise FileFormatError(path, "cannot be opened as a video (corrupted file or unsupported codec)")
        with native_stderr_silenced():
            ok, frame = cap.read()
        if not ok or frame is None:
            raise FileFormatError(path, "video has zero readable frames (corrupted or empty)")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    height, width = frame.shape[:2]
    return CameraSource(path.stem, path, max(count, 1), fps, (width, height))


# -- the common frame range -------------------------------------------------------------


def parse_frames(spec: str | None) -> tuple[int, int | None, int]:
    """``"start:stop:step"`` (any part may be empty) -> ``(start, stop or None, step)``."""
    if spec is None or spec.strip() in ("", ":"):
        return 0, None, 1
    parts = spec.split(":")
    if len(parts) > 3:
        raise InputError(f"--frames {spec!r}: expected start:stop:step")
    try:
        values = [int(p) if p.strip() else None for p in parts] + [None] * (3 - len(parts))
    except ValueError:
        raise InputError(f"--frames {spec!r}: expected integers as start:stop:step") from None
    start, stop, step = values
    start = 0 if start is None else start
    step = 1 if step is None else step
    if start < 0 or step <= 0 or (stop is not None and stop <= start):
        raise InputError(f"--frames {spec!r}: need 0 <= start < stop and step >= 1")
    return start, stop, step


def parse_offsets(items: Sequence[str] | Mapping[str, int] | None) -> dict[str, int]:
    """``["cam02=3", ...]`` or a mapping -> ``{"cam02": 3}``."""
    if not items:
        return {}
    if isinstance(items, Mapping):
        return {str(k): int(v) for k, v in items.items()}
    offsets: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            offsets[name.strip()] = int(value)
        except ValueError:
            raise InputError(f"--offset {item!r}: expected CAMERA=FRAMES, e.g. cam02=3") from None
        if not sep or not name.strip():
            raise InputError(f"--offset {item!r}: expected CAMERA=FRAMES, e.g. cam02=3")
    return offsets


def plan_frames(
    sources: Sequence[CameraSource],
    frames: str | tuple[int, int | None, int] | None = None,
    offsets: Mapping[str, int] | None = None,
    *,
    strict: bool = False,
) -> FramePlan:
    """Timeline frames every camera has, restricted to ``frames``.

    Cameras with different frame counts or frame rates: a warning and the
    common range, or :class:`InputError` when ``strict``.
    """
    offsets = dict(offsets or {})
    names = [s.name for s in sources]
    unknown = sorted(set(offsets) - set(names))
    if unknown:
        raise InputError(f"--offset for unknown camera(s) {', '.join(unknown)}; cameras: {', '.join(names)}")
    counts = {s.name: s.num_frames for s in sources}
    rates = {s.name: round(s.fps, 3) for s in sources if s.fps > 0}
    problems = []
    if len(set(counts.values())) > 1:
        problems.append("frame counts differ (" + ", ".join(f"{n} {c}" for n, c in counts.items()) + ")")
    if len(set(rates.values())) > 1:
        problems.append("frame rates differ (" + ", ".join(f"{n} {r:g}" for n, r in rates.items()) + ")")
    if problems:
        if strict:
            raise InputError("cameras disagree: " + "; ".join(problems) + " (drop --strict to use the common range)")
        warnings.warn("cameras disagree: " + "; ".join(problems) + "; using the common frame range", stacklevel=2)
    first = max(offsets.get(n, 0) for n in names)
    last = min(counts[n] + offsets.get(n, 0) for n in names)  # exclusive
    start, stop, step = parse_frames(frames) if not isinstance(frames, tuple) else frames
    hi = last if stop is None else min(last, stop)
    lo = start if start >= first else start + -(-(first - start) // step) * step  # stay on start's grid
    if hi <= lo:
        raise InputError(
            f"no frame common to all cameras in the requested range (common timeline {first}:{last}, asked "
            f"{start}:{'' if stop is None else stop})"
        )
    if stop is not None and stop > last:
        warnings.warn(f"--frames {start}:{stop}: the common timeline ends at frame {last}; using frames {lo}:{hi} "
                      f"({len(range(lo, hi, step))} frames)", stacklevel=2)
    return FramePlan(np.arange(lo, hi, step, dtype=np.int64), {n: offsets.get(n, 0) for n in names})


# -- reading ------------------------------------------------------------------------------


def iter_frames(source: CameraSource, local_frames: np.ndarray, *, prefetch: int = 8) -> Iterator[tuple[int, np.ndarray | None]]:
    """Yield ``(local_frame, BGR uint8 image (H, W, 3) or None if unreadable)`` in increasing order.

    Videos are decoded sequentially (skipped frames are only grabbed, not
    decoded) in a background thread, so decoding overlaps the caller's work.
    """
    wanted = np.asarray(local_frames, dtype=np.int64)
    if wanted.size and (np.any(np.diff(wanted) <= 0) or wanted[0] < 0):
        raise InputError("frames must be increasing and non-negative")
    producer = _read_images if not source.is_video else _read_video
    out: queue.Queue = queue.Queue(maxsize=max(prefetch, 1))
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for item in producer(source, wanted):
                if stop.is_set():
                    return
                out.put(item)
        except BaseException as exc:  # handed to the consumer thread
            out.put(exc)
        out.put(done)

    thread = threading.Thread(target=work, name=f"read-{source.name}", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                out.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _read_images(source: CameraSource, wanted: np.ndarray) -> Iterator[tuple[int, np.ndarray | None]]:
    import cv2

    for frame in wanted:
        image = cv2.imread(str(source.images[frame]), cv2.IMREAD_COLOR) if frame < len(source.images) else None
        if image is not None and (image.shape[1], image.shape[0]) != tuple(source.size):
            raise FileFormatError(source.images[frame], f"image is {image.shape[1]}x{image.shape[0]}, the other images "
                                                        f"of {source.path.name} are {source.size[0]}x{source.size[1]}")
        yield int(frame), image


def _read_video(source: CameraSource, wanted: np.ndarray) -> Iterator[tuple[int, np.ndarray | None]]:
    import cv2

    cap = cv2.VideoCapture(str(source.path))
    if not cap.isOpened():
        raise FileFormatError(source.path, "cannot be opened as a video (corrupted file or unsupported codec)")
    try:
        position = 0
        for frame in wanted:
            image = None
            ended = False
            while position < frame:  # skip without decoding
                if not cap.grab():
                    ended = True
                    break
                position += 1
            if not ended:
                ok, image = cap.read()
                position += 1
                if not ok:
                    image = None
            yield int(frame), image
    finally:
        cap.release()
