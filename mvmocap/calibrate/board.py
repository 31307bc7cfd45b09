"""Intrinsics from a calibration board (checkerboard or ChArUco) seen in images or a video per camera.

Board specification strings (the ``--board`` option):

- ``checkerboard:COLSxROWS:SQUARE`` inner corners and square side in metres, e.g. ``checkerboard:4x7:0.060``;
- ``charuco:COLSxROWS:SQUARE:MARKER:DICT`` squares, square and marker sides in metres and an OpenCV
  ArUco dictionary name, e.g. ``charuco:5x7:0.04:0.03:DICT_4X4_50``.

Per camera: the board is detected in every image (or in frames sampled from a video), views are
selected for coverage, ``cv2.calibrateCameraExtended`` runs, the worst views (error above
``OUTLIER_FACTOR`` x the median, at most a third) are dropped and it runs again. The result holds
the RMS reprojection error and the intrinsics' standard deviations. Refusals (no board seen, too
few views, blurred images) name the camera and say what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.errors import InputError

MIN_VIEWS = 5
MAX_VIEWS = 30
OUTLIER_FACTOR = 2.0
MIN_SHARPNESS_VARIANCE = 15.0  # variance of the Laplacian inside the board; below: blurred
VIDEO_CANDIDATES = 60  # frames sampled from a video before the coverage selection


@dataclass(frozen=True)
class Board:
    """A planar calibration board.

    Attributes:
        kind: ``"checkerboard"`` or ``"charuco"``.
        cols, rows: inner corners (checkerboard) or squares (ChArUco).
        square_m: square side, metres.
        marker_m: ArUco marker side, metres (ChArUco).
        dictionary: OpenCV ArUco dictionary name (ChArUco).
    """

    kind: str
    cols: int
    rows: int
    square_m: float
    marker_m: float = 0.0
    dictionary: str = ""

    def object_points(self) -> np.ndarray:
        """The board's corners in its own plane ``(N, 3)`` metres (z = 0), in detection order."""
        cols, rows = (self.cols, self.rows) if self.kind == "checkerboard" else (self.cols - 1, self.rows - 1)
        grid = np.stack(np.meshgrid(np.arange(cols), np.arange(rows)), -1).reshape(-1, 2)
        return np.concatenate([grid * self.square_m, np.zeros((len(grid), 1))], 1).astype(np.float32)


def parse_board(spec: str) -> Board:
    """``checkerboard:4x7:0.060`` or ``charuco:5x7:0.04:0.03:DICT_4X4_50`` -> :class:`Board`."""
    parts = spec.split(":")
    usage = "expected checkerboard:COLSxROWS:SQUARE_M or charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT"
    try:
        kind = parts[0].lower()
        cols, rows = (int(v) for v in parts[1].lower().split("x"))
        square = float(parts[2])
        if kind == "checkerboard" and len(parts) == 3:
            board = Board(kind, cols, rows, square)
        elif kind == "charuco" and len(parts) == 5:
            board = Board(kind, cols, rows, square, float(parts[3]), parts[4].upper())
        else:
            raise ValueError
    except (ValueError, IndexError):
        raise InputError(f"--board {spec!r}: {usage}") from None
    if min(cols, rows) < 2 or not 0 < square < 1 or (kind == "charuco" and not 0 < board.marker_m < square):
        raise InputError(f"--board {spec!r}: need at least 2x2 corners and 0 < marker < square < 1 m ({usage})")
    if kind == "charuco":
        import cv2

        if not hasattr(cv2.aruco, board.dictionary):
            raise InputError(f"--board {spec!r}: unknown ArUco dictionary {board.dictionary!r} (e.g. DICT_4X4_50)")
    return board


@dataclass(frozen=True)
class BoardView:
    """The board found in one image: ``corners (N, 2)`` pixels, ``ids (N,)`` indices into
    :meth:`Board.object_points`, its ``sharpness`` (variance of the Laplacian) and where it came from."""

    source: str
    corners: np.ndarray
    ids: np.ndarray
    sharpness: float


def detect_board(image_bgr: np.ndarray, board: Board, source: str = "") -> BoardView | None:
    """Find ``board`` in one BGR (or grey) image; None when it is not (completely, for a checkerboard) seen."""
    import cv2

    grey = image_bgr if image_bgr.ndim == 2 else cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    if board.kind == "checkerboard":
        corners = _checkerboard_corners(grey, (board.cols, board.rows))
        if corners is None:
            return None
        ids = np.arange(board.cols * board.rows)
    else:
        corners, ids = _charuco_corners(grey, board)
        if corners is None or len(ids) < 6:
            return None
    return BoardView(source, corners, ids, _sharpness(grey, corners))


def _checkerboard_corners(grey: np.ndarray, pattern: tuple[int, int]) -> np.ndarray | None:
    """Inner corners ``(N, 2)``: OpenCV's sector-based detector with its accurate corner refinement
    (then with the exhaustive search), the classic detector with sub-pixel refinement as a last resort."""
    import cv2

    for flags in (cv2.CALIB_CB_ACCURACY, cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY):
        ok, corners = cv2.findChessboardCornersSB(grey, pattern, flags=flags)
        if ok:
            return corners.reshape(-1, 2).astype(np.float64)
    ok, corners = cv2.findChessboardCorners(grey, pattern, flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not ok:
        return None
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    corners = cv2.cornerSubPix(grey, corners, (7, 7), (-1, -1), criteria)
    return corners.reshape(-1, 2).astype(np.float64)


def _charuco_corners(grey: np.ndarray, board: Board):
    import cv2

    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, board.dictionary))
    cv_board = cv2.aruco.CharucoBoard((board.cols, board.rows), board.square_m, board.marker_m, dictionary)
    corners, ids, _, _ = cv2.aruco.CharucoDetector(cv_board).detectBoard(grey)
    if corners is None or ids is None:
        return None, None
    return corners.reshape(-1, 2).astype(np.float64), ids.reshape(-1).astype(np.int64)


def _sharpness(grey: np.ndarray, corners: np.ndarray) -> float:
    """Variance of the Laplacian inside the board's bounding box (low = blurred)."""
    import cv2

    x0, y0 = np.floor(corners.min(0)).astype(int)
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
    patch = grey[max(y0, 0):y1, max(x0, 0):x1]
    return float(cv2.Laplacian(patch, cv2.CV_64F).var()) if patch.size else 0.0


def select_for_coverage(views: list[BoardView], image_size: tuple[int, int], count: int = MAX_VIEWS) -> list[BoardView]:
    """At most ``count`` views spread over the image (greedy farthest board centres, sharpest first)."""
    if len(views) <= count:
        return list(views)
    order = sorted(range(len(views)), key=lambda i: -views[i].sharpness)
    centres = np.array([views[i].corners.mean(0) / np.asarray(image_size) for i in order])
    chosen = [0]
    distance = np.linalg.norm(centres - centres[0], axis=1)
    while len(chosen) < count:
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(centres - centres[nxt], axis=1))
    return [views[order[i]] for i in sorted(chosen)]
