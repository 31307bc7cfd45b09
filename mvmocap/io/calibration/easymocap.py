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


def _folder(path: Path) -> Path:
    return path if path.is_dir() or not path.suffix else path.parent


class _Storage:
    """Read-only view of an OpenCV FileStorage file with errors naming the file."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise MissingFileError(path, "EasyMocap calibration file")
        self.path = path
        try:
            self.fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
        except cv2.error as exc:
            raise FileFormatError(path, f"malformed OpenCV YAML: {exc.err}") from None
        if not self.fs.isOpened():
            raise FileFormatError(path, "cannot be opened as OpenCV YAML")

    def names(self) -> list[str]:
        node = self.fs.getNode("names")
        if node.empty() or not node.isSeq():
            raise FileFormatError(self.path, "no 'names' list")
        return [node.at(i).string() or str(int(node.at(i).real())) for i in range(node.size())]

    def matrix(self, key: str) -> np.ndarray:
        node = self.fs.getNode(key)
        mat = None if node.empty() else node.mat()
        if mat is None:
            raise FileFormatError(self.path, f"no matrix {key!r}")
        return np.asarray(mat, dtype=np.float64)

    def number(self, key: str) -> float | None:
        node = self.fs.getNode(key)
        return None if node.empty() else float(node.real())


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
            width, height = round(2 * K[0, 2]), round(2 * K[1, 2])
            warnings.warn(f"{intri.path}: no W_/H_ for camera {name!r}; image size guessed as {width}x{height}", stacklevel=2)
        rot_node = extri.fs.getNode(f"Rot_{name}")
        R = extri.matrix(f"Rot_{name}") if not rot_node.empty() else cv2.Rodrigues(extri.matrix(f"R_{name}"))[0]
        try:
            cameras.append(
                Camera(
                    name=name,
                    K=K,
                    dist=intri.matrix(f"dist_{name}").reshape(-1),
                    R=R,
                    t=extri.matrix(f"T_{name}").reshape(-1),
                    size=(int(width), int(height)),
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
