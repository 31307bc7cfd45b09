"""``calibrate --board SPEC --images DIR``: every camera's intrinsics from its board images or video.

``DIR`` holds one entry per camera: a folder of images or a video file. The camera name is the
folder name or video stem, without Pose2Sim's ``int_`` prefix and ``_img`` suffix
(``int_cam01_img`` -> ``cam01``). See :mod:`mvmocap.calibrate.board` for the board and the views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from mvmocap.calibrate.board import (
    MIN_SHARPNESS_VARIANCE,
    MIN_VIEWS,
    OUTLIER_FACTOR,
    VIDEO_CANDIDATES,
    Board,
    BoardView,
    detect_board,
    select_for_coverage,
)
from mvmocap.errors import FileFormatError, InputError, MissingFileError

STD_NAMES = ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2", "k3")


@dataclass(frozen=True)
class IntrinsicsResult:
    """One camera's board calibration.

    Attributes:
        name: camera name.  K: ``(3, 3)`` pixels.  dist: ``(5,)`` k1 k2 p1 p2 k3.  size: (width, height).
        rms_px: RMS reprojection error of the views kept, pixels.
        std: standard deviations of fx, fy, cx, cy (pixels) and k1 k2 p1 p2 k3.
        images: images (or sampled frames) looked at; detected: with the board; used: kept in the end.
        dropped: the views the outlier pass or the blur check removed (their file names).
    """

    name: str
    K: np.ndarray
    dist: np.ndarray
    size: tuple[int, int]
    rms_px: float
    std: np.ndarray
    images: int
    detected: int
    used: int
    dropped: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "name": self.name, "fx": float(self.K[0, 0]), "fy": float(self.K[1, 1]), "cx": float(self.K[0, 2]),
            "cy": float(self.K[1, 2]), "dist": [float(v) for v in self.dist], "rms_px": self.rms_px,
            "std": {n: float(v) for n, v in zip(STD_NAMES, self.std)}, "images": self.images,
            "detected": self.detected, "used": self.used, "dropped": list(self.dropped),
        }


def camera_name(path: Path) -> str:
    stem = path.stem if path.is_file() else path.name
    return re.sub(r"_img$", "", re.sub(r"^int_", "", stem))


def camera_inputs(images_dir: str | Path) -> list[tuple[str, Path]]:
    """``(camera name, folder or video)`` for every camera in ``images_dir``, sorted by name."""
    from mvmocap.io.video import discover_cameras

    root = Path(images_dir)
    if not root.exists():
        raise MissingFileError(root, "board images folder")
    return [(camera_name(p), p) for p in discover_cameras(root)]


def board_views(path: Path, board: Board) -> tuple[list[BoardView], tuple[int, int], int]:
    """The board in every image of a folder (or in frames sampled from a video) -> (views, size, images looked at)."""
    import cv2

    from mvmocap.io.video import iter_frames, open_camera

    source = open_camera(path)
    frames = np.arange(source.num_frames)
    if source.is_video and len(frames) > VIDEO_CANDIDATES:
        frames = np.unique(np.linspace(0, len(frames) - 1, VIDEO_CANDIDATES).round().astype(np.int64))
    views = []
    for frame, image in iter_frames(source, frames):
        if image is None:
            continue
        if (image.shape[1], image.shape[0]) != source.size:
            raise FileFormatError(path, f"images of one camera must share one size; frame {frame} is "
                                        f"{image.shape[1]}x{image.shape[0]}, the first {source.size[0]}x{source.size[1]}")
        label = source.images[frame].name if source.images else f"frame {frame}"
        view = detect_board(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), board, label)
        if view is not None:
            views.append(view)
    return views, source.size, len(frames)


def calibrate_camera(name: str, views: list[BoardView], board: Board, size: tuple[int, int], images: int) -> IntrinsicsResult:
    """OpenCV's calibration of one camera with an outlier pass; refuses too few or blurred views."""
    where = f"camera {name}"
    if not views:
        raise InputError(f"{where}: the board ({board.kind} {board.cols}x{board.rows}) was not found in any of its "
                         f"{images} images; check the board size (inner corners for a checkerboard), the lighting "
                         "and the focus, or leave this camera out")
    sharp = [v for v in views if v.sharpness >= MIN_SHARPNESS_VARIANCE]
    blurred = tuple(v.source for v in views if v.sharpness < MIN_SHARPNESS_VARIANCE)
    if len(sharp) < MIN_VIEWS:
        reason = (f"{len(blurred)} of them are blurred (sharpness below {MIN_SHARPNESS_VARIANCE:g})" if blurred
                  else "too few")
        raise InputError(f"{where}: only {len(sharp)} usable board views of {images} images ({len(views)} with the "
                         f"board; {reason}); at least {MIN_VIEWS} are needed: take more sharp images with the board "
                         "at different positions and angles, filling the image")
    chosen = select_for_coverage(sharp, size)
    K, dist, std, errors = _calibrate(chosen, board, size)
    limit = OUTLIER_FACTOR * float(np.median(errors))
    worst = np.argsort(-errors)[: max(len(chosen) // 3, 0)]
    drop = [int(i) for i in worst if errors[i] > limit and len(chosen) - 1 >= MIN_VIEWS]
    if drop:
        kept = [v for i, v in enumerate(chosen) if i not in drop]
        K, dist, std, errors = _calibrate(kept, board, size)
        chosen = kept
    rms = float(np.sqrt(np.mean(errors ** 2)))
    dropped = blurred + tuple(v.source for i, v in enumerate(select_for_coverage(sharp, size)) if i in drop)
    return IntrinsicsResult(name, K, dist, size, rms, std, images, len(views), len(chosen), dropped)


def _calibrate(views: list[BoardView], board: Board, size: tuple[int, int]):
    """``cv2.calibrateCameraExtended`` -> (K, dist (5,), std (9,), per-view RMS errors (V,))."""
    import cv2

    grid = board.object_points()
    objects = [grid[v.ids].reshape(-1, 1, 3) for v in views]
    images = [v.corners.astype(np.float32).reshape(-1, 1, 2) for v in views]
    flags = cv2.CALIB_FIX_K3 if len(views) < 10 else 0  # few views: no 6th-order radial term
    rms, K, dist, _, _, std_intr, _, per_view = cv2.calibrateCameraExtended(objects, images, size, None, None, flags=flags)
    dist = np.pad(np.asarray(dist, np.float64).reshape(-1)[:5], (0, max(0, 5 - np.asarray(dist).size)))
    return np.asarray(K, np.float64), dist, np.asarray(std_intr, np.float64).reshape(-1)[:9], np.asarray(per_view).reshape(-1)


def calibrate_board_intrinsics(images_dir: str | Path, board: Board, log: Callable[[str], None] | None = None,
                               *, views_out: list | None = None) -> list[IntrinsicsResult]:
    """Every camera of ``images_dir``: board views -> intrinsics. Refuses (InputError) before writing anything.

    ``views_out``: a list that receives every camera's sharp board views (for the extrinsics).
    """
    results = []
    for name, path in camera_inputs(images_dir):
        views, size, images = board_views(path, board)
        if log:
            log(f"{name}: board found in {len(views)} of {images} images")
        results.append(calibrate_camera(name, views, board, size, images))
        if views_out is not None:
            views_out.append([v for v in views if v.sharpness >= MIN_SHARPNESS_VARIANCE])
    return results


def board_rig(images_dir: str | Path, board: Board, *, extrinsics: bool = False,
              log: Callable[[str], None] | None = None):
    """Intrinsics of every camera and, with ``extrinsics``, the poses from simultaneous views
    (:mod:`mvmocap.calibrate.board_extrinsics`) -> (results, CameraRig, bundle adjustment RMS px or None)."""
    from mvmocap.geometry.camera import Camera, CameraRig

    views: list = []
    results = calibrate_board_intrinsics(images_dir, board, log, views_out=views)
    if not extrinsics:
        return results, intrinsics_rig(results), None
    if len(results) < 2:
        raise InputError("extrinsics from a board need at least two cameras")
    from mvmocap.calibrate.board_extrinsics import board_extrinsics

    poses, rms = board_extrinsics(views, [r.name for r in results], board, [r.K for r in results],
                                  [r.dist for r in results])
    cameras = [Camera(r.name, r.K, r.dist, T[:3, :3], T[:3, 3], r.size) for r, T in zip(results, poses)]
    return results, CameraRig.from_cameras(cameras), rms


def intrinsics_rig(results: list[IntrinsicsResult]):
    """The intrinsics as a :class:`CameraRig` for the calibration writers; every pose is the identity
    (R = I, t = 0: a file for ``--intrinsics``, not for triangulation)."""
    from mvmocap.geometry.camera import Camera, CameraRig

    cameras = [Camera(r.name, r.K, r.dist, np.eye(3), np.zeros(3), r.size) for r in results]
    return CameraRig.from_cameras(cameras)


def calibrate_board_to_file(images_dir: str | Path, board_spec: str, out: str | Path, *, out_format: str | None = None,
                            extrinsics: bool = False,
                            log: Callable[[str], None] | None = None) -> tuple[list[IntrinsicsResult], Path, Path]:
    """``mvmocap calibrate --board SPEC --images DIR --out FILE [--extrinsics]``: intrinsics of every camera
    (and poses), written (any supported format) with a JSON report beside it (``<out stem>_report.json``)."""
    import json

    from mvmocap.calibrate.command import report_path
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.calibration import save_rig, writable_format

    board = parse_board_spec(board_spec)
    writable_format(out, out_format)
    results, rig, rms = board_rig(images_dir, board, extrinsics=extrinsics, log=log)
    written = save_rig(rig, out, out_format)
    report = report_path(written)
    poses = "identity (intrinsics only)" if rms is None else "from simultaneous board views (world = the board)"
    atomic_write_text(report, json.dumps({"board": board_spec, "poses": poses, "extrinsics_rms_px": rms,
                                          "cameras": [r.to_dict() for r in results]}, indent=2) + "\n")
    return results, Path(written), report


def parse_board_spec(spec: str) -> Board:
    from mvmocap.calibrate.board import parse_board

    return parse_board(spec)


def intrinsics_table_rows(results: list[IntrinsicsResult]) -> list[tuple[str, ...]]:
    """Rows of the printed table: camera, fx fy (± std), cx cy (± std), RMS, views used / with board / images."""
    return [(r.name, f"{r.K[0, 0]:.1f} ± {r.std[0]:.1f}, {r.K[1, 1]:.1f} ± {r.std[1]:.1f}",
             f"{r.K[0, 2]:.1f} ± {r.std[2]:.1f}, {r.K[1, 2]:.1f} ± {r.std[3]:.1f}", f"{r.rms_px:.3f}",
             f"{r.used}/{r.detected}/{r.images}") for r in results]
