"""EasyMocap calibration: ``intri.yml`` (K_, dist_, H_, W_) and ``extri.yml`` (R_, Rot_, T_).

OpenCV FileStorage YAML; ``R_<name>`` is a Rodrigues vector and ``Rot_<name>``
the matrix (world -> camera), ``T_<name>`` metres. EasyMocap itself does not
always store the image size: when ``H_``/``W_`` are absent the size is taken
as twice the principal point, with a warning (as Pose2Sim's converter does).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.geometry.camera import Camera
from mvmocap.io.atomic import atomic_write_text
from mvmocap.io.safe_read import CALIBRATION_MAX_BYTES, read_text


_MAX_MATRIX_SIDE = 16  # calibration matrices are 3x3, 3x1, 1x5


def _folder(path: Path) -> Path:
    return path if path.is_dir() or not path.suffix else path.parent


class _Storage:
    """Read-only view of an OpenCV FileStorage file with errors naming the file."""

    def __init__(self, path: Path):
        if not path.exists():
            raise MissingFileError(path, "EasyMocap calibration file")
        self.path = path
        text = read_text(path, CALIBRATION_MAX_BYTES, "calibration file")
        if not text.lstrip().startswith("%YAML"):
            raise FileFormatError(path, "not an OpenCV YAML file (no %YAML header)")
        try:
            self.fs = cv2.FileStorage(text, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY)
        except (cv2.error, SystemError) as exc:  # OpenCV's parser errors (SystemError: an error set on return)
            raise FileFormatError(path, f"malformed OpenCV YAML: {getattr(exc, 'err', None) or _cause(exc)}") from None
        if not self.fs.isOpened():
            raise FileFormatError(path, "cannot be opened as OpenCV YAML")

    def node(self, key: str):
        """The node ``key`` of the top-level mapping (OpenCV raises when the top level is not a mapping)."""
        try:
            return self.fs.getNode(key)
        except cv2.error as exc:
            raise FileFormatError(self.path, f"malformed OpenCV YAML: {exc.err}") from None

    def names(self) -> list[str]:
        node = self.node("names")
        if node.empty() or not node.isSeq():
            raise FileFormatError(self.path, "no 'names' list")
        names = []
        for i in range(node.size()):
            item = node.at(i)
            if item.isString():
                names.append(item.string())
            elif item.isInt():
                names.append(str(item.real()).removesuffix(".0"))
            else:
                raise FileFormatError(self.path, f"names[{i}] is not a string")
        return names

    def matrix(self, key: str) -> np.ndarray:
        """An ``!!opencv-matrix`` read field by field: OpenCV's own ``FileNode.mat()`` corrupts
        memory on some malformed nodes (a missing ``cols``), so it is never called."""
        node = self.node(key)
        if node.empty():
            raise FileFormatError(self.path, f"no matrix {key!r}")
        rows, cols, data = (node.getNode(k) if node.isMap() else None for k in ("rows", "cols", "data"))
        if rows is None or not (rows.isInt() and cols.isInt() and data.isSeq()):
            raise FileFormatError(self.path, f"{key!r} is not a matrix (an !!opencv-matrix with rows, cols and data)")
        shape = (int(rows.real()), int(cols.real()))
        if not (1 <= shape[0] <= _MAX_MATRIX_SIDE and 1 <= shape[1] <= _MAX_MATRIX_SIDE) or data.size() != shape[0] * shape[1]:
            raise FileFormatError(self.path, f"{key!r} is not a matrix: {data.size()} values for {shape[0]}x{shape[1]}")
        items = [data.at(i) for i in range(data.size())]
        if not all(item.isReal() or item.isInt() for item in items):
            raise FileFormatError(self.path, f"{key!r} holds values that are not numbers")
        return np.array([item.real() for item in items], dtype=np.float64).reshape(shape)

    def number(self, key: str) -> float | None:
        node = self.node(key)
        if node.empty():
            return None
        if not (node.isInt() or node.isReal()):
            raise FileFormatError(self.path, f"{key!r} is not a number")
        return float(node.real())


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return (getattr(inner, "err", None) or str(inner or exc)).strip().splitlines()[-1][:200]


def _rotation(extri: _Storage, name: str) -> np.ndarray:
    if not extri.node(f"Rot_{name}").empty():
        return extri.matrix(f"Rot_{name}")
    rvec = extri.matrix(f"R_{name}")
    if rvec.size != 3 or not np.all(np.isfinite(rvec)):
        raise FileFormatError(extri.path, f"R_{name} must be 3 finite numbers (a Rodrigues vector)")
    return cv2.Rodrigues(rvec.reshape(3, 1))[0]


def read(path: Path) -> list[Camera]:
    folder = _folder(path)
    intri, extri = _Storage(folder / "intri.yml"), _Storage(folder / "extri.yml")
    names = intri.names()
    missing = sorted(set(names) - set(extri.names()))
    if missing:
        raise FileFormatError(extri.path, f"no extrinsics for camera(s) {', '.join(missing)}")
    cameras = []
    for name in names:
        K = intri.matrix(f"K_{name}")
        width, height = intri.number(f"W_{name}"), intri.number(f"H_{name}")
        if width is None or height is None:
            if K.shape != (3, 3) or not np.all(np.isfinite(K)):
                raise FileFormatError(intri.path, f"K_{name} must be a finite 3x3 matrix")
            width, height = 2 * K[0, 2], 2 * K[1, 2]
            warnings.warn(f"{intri.path}: no W_/H_ for camera {name!r}; image size guessed as "
                          f"{width:.0f}x{height:.0f}", stacklevel=2)
        try:
            cameras.append(
                Camera(
                    name=name,
                    K=K,
                    dist=intri.matrix(f"dist_{name}").reshape(-1),
                    R=_rotation(extri, name),
                    t=extri.matrix(f"T_{name}").reshape(-1),
                    size=(width, height),
                )
            )
        except ValueError as exc:
            raise FileFormatError(folder, str(exc)) from None
    return cameras


def _opencv_matrix(key: str, m: np.ndarray) -> list[str]:
    m = np.atleast_2d(m)
    data = ", ".join(repr(float(v)) for v in m.reshape(-1))
    return [f"{key}: !!opencv-matrix", f"  rows: {m.shape[0]}", f"  cols: {m.shape[1]}", "  dt: d", f"  data: [{data}]"]


def _header(cameras: list[Camera]) -> list[str]:
    return ["%YAML:1.0", "---", "names:"] + [f'  - "{c.name}"' for c in cameras]


def write(cameras: list[Camera], path: Path) -> None:
    folder = _folder(path)
    intri, extri = _header(cameras), _header(cameras)
    for cam in cameras:
        intri += _opencv_matrix(f"K_{cam.name}", cam.K)
        intri += _opencv_matrix(f"dist_{cam.name}", cam.dist.reshape(1, 5))
        intri += [f"H_{cam.name}: {cam.size[1]}", f"W_{cam.name}: {cam.size[0]}"]
        extri += _opencv_matrix(f"R_{cam.name}", cv2.Rodrigues(cam.R)[0])
        extri += _opencv_matrix(f"Rot_{cam.name}", cam.R)
        extri += _opencv_matrix(f"T_{cam.name}", cam.t.reshape(3, 1))
    atomic_write_text(folder / "intri.yml", "\n".join(intri) + "\n")
    atomic_write_text(folder / "extri.yml", "\n".join(extri) + "\n")
