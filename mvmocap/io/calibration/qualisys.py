"""Qualisys ``.qca.txt`` calibration (read only).

Conventions, checked on the shared demo by triangulating its videos:
``transform`` x, y, z is the camera centre C in world millimetres; its matrix
M (r11 r12 r13 / r21 ...) maps world axes into the Qualisys camera frame
(x right, y up, z backward), so the OpenCV world -> camera rotation is
``R = diag(1, -1, -1) @ M`` and ``t = -R @ C / 1000``. Focal lengths,
principal point and distortion coefficients are stored in 1/64-pixel units;
the principal point is relative to the ``fov_video`` origin. The image size
is the ``fov_video`` rectangle.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from mvmocap.errors import FileFormatError
from mvmocap.geometry.camera import Camera
from mvmocap.io.safe_read import CALIBRATION_MAX_BYTES, read_bytes

_SUBPIXELS = 64.0
_QUALISYS_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


def _float(element: ET.Element, key: str, path: Path, name: str) -> float:
    try:
        return float(element.attrib[key])
    except KeyError:
        raise FileFormatError(path, f"camera {name!r}: <{element.tag}> lacks attribute {key!r}") from None
    except ValueError:
        raise FileFormatError(path, f"camera {name!r}: <{element.tag}> {key}={element.attrib[key]!r} is not a number") from None


def _child(camera: ET.Element, tag: str, path: Path, name: str) -> ET.Element:
    element = camera.find(tag)
    if element is None:
        raise FileFormatError(path, f"camera {name!r} has no <{tag}>")
    return element


def read(path: Path) -> list[Camera]:
    text = read_bytes(path, CALIBRATION_MAX_BYTES, "calibration file")
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:  # no entity expansion from a user file
        raise FileFormatError(path, "refused XML: document type or entity declarations are not allowed")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise FileFormatError(path, f"malformed XML: {exc}") from None
    except RecursionError:
        raise FileFormatError(path, "refused XML: nested too deeply") from None
    cameras = []
    for index, cam in enumerate(root.iter("camera")):
        if cam.attrib.get("active", "1") == "0":
            continue
        name = cam.attrib.get("serial") or f"cam{index + 1:02d}"
        if cam.attrib.get("viewrotation", "0") not in ("0", ""):
            raise FileFormatError(path, f"camera {name!r}: viewrotation={cam.attrib['viewrotation']} is not supported")
        fov = _child(cam, "fov_video", path, name)
        left, top = _float(fov, "left", path, name), _float(fov, "top", path, name)
        width = _float(fov, "right", path, name) - left + 1
        height = _float(fov, "bottom", path, name) - top + 1
        tr = _child(cam, "transform", path, name)
        M = np.array([[_float(tr, f"r{i}{j}", path, name) for j in (1, 2, 3)] for i in (1, 2, 3)])
        center_mm = np.array([_float(tr, k, path, name) for k in ("x", "y", "z")])
        R = _QUALISYS_TO_OPENCV @ M
        intr = _child(cam, "intrinsic", path, name)

        def px(key: str) -> float:
            return _float(intr, key, path, name) / _SUBPIXELS

        K = np.array(
            [
                [px("focalLengthU"), 0.0, px("centerPointU") - left],
                [0.0, px("focalLengthV"), px("centerPointV") - top],
                [0.0, 0.0, 1.0],
            ]
        )
        dist = np.array(
            [
                px("radialDistortion1"),
                px("radialDistortion2"),
                px("tangentalDistortion1"),
                px("tangentalDistortion2"),
                px("radialDistortion3"),
            ]
        )
        try:
            cameras.append(Camera(name=name, K=K, dist=dist, R=R, t=-R @ center_mm / 1000.0, size=(width, height)))
        except ValueError as exc:
            raise FileFormatError(path, str(exc)) from None
    if not cameras:
        raise FileFormatError(path, "no <camera> elements found (is this a Qualisys .qca.txt file?)")
    return cameras
