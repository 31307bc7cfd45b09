"""Pose2Sim / Anipose TOML calibration.

One table per camera with ``name``, ``size`` [w, h], ``matrix`` (K),
``distortions`` (k1, k2, p1, p2[, k3]), ``rotation`` (Rodrigues vector,
world -> camera), ``translation`` (world -> camera) and ``fisheye``; plus a
``[metadata]`` table. Pose2Sim writes metres; Anipose writes the units of its
calibration board (often millimetres): pass ``units="mm"`` for those.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np

from mvmocap.errors import FileFormatError
from mvmocap.geometry.camera import Camera
from mvmocap.io.atomic import atomic_write_text
from mvmocap.io.safe_read import CALIBRATION_MAX_BYTES, load_toml

_UNIT_SCALE = {"m": 1.0, "mm": 1e-3, "cm": 1e-2}
# A camera farther than this from the origin in "metres" probably used millimetres.
_SUSPICIOUS_DISTANCE_M = 100.0


def read(path: Path, units: str = "m") -> list[Camera]:
    if units not in _UNIT_SCALE:
        raise FileFormatError(path, f"unknown units {units!r}; use one of {', '.join(_UNIT_SCALE)}")
    doc = load_toml(path, CALIBRATION_MAX_BYTES, "calibration file")
    cameras = []
    for key, table in doc.items():
        if key == "metadata" or not isinstance(table, dict):
            continue
        missing = [k for k in ("size", "matrix", "rotation", "translation") if k not in table]
        if missing:
            raise FileFormatError(path, f"[{key}] lacks {', '.join(missing)}")
        if table.get("fisheye", False):
            raise FileFormatError(path, f"[{key}] is a fisheye camera; only the pinhole model is supported")
        name = str(table.get("name", key))
        try:
            rvec = np.asarray(table["rotation"], dtype=np.float64).reshape(3, 1)
            cameras.append(
                Camera(
                    name=name,
                    K=np.asarray(table["matrix"], dtype=np.float64),
                    dist=np.asarray(table.get("distortions", [0.0] * 4), dtype=np.float64),
                    R=cv2.Rodrigues(rvec)[0],
                    t=np.asarray(table["translation"], dtype=np.float64) * _UNIT_SCALE[units],
                    size=tuple(float(v) for v in table["size"]),  # checked by Camera
                )
            )
        except (TypeError, ValueError) as exc:
            raise FileFormatError(path, f"[{key}]: {exc}") from None
    if units == "m" and any(np.linalg.norm(c.center) > _SUSPICIOUS_DISTANCE_M for c in cameras):
        warnings.warn(
            f"{path}: cameras more than {_SUSPICIOUS_DISTANCE_M:g} m from the origin; "
            "if this is an Anipose file in millimetres, read it with units='mm' (--units mm)",
            stacklevel=2,
        )
    return cameras


def _toml_value(value) -> str:
    """TOML literal for the few value kinds a calibration holds (floats keep ``repr`` precision)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(float(value))


def dumps(cameras: list[Camera]) -> str:
    blocks = []
    for i, cam in enumerate(cameras):
        dist = cam.dist if cam.dist[4] != 0 else cam.dist[:4]  # Pose2Sim's 4 when k3 is 0
        fields = {
            "name": cam.name,
            "size": [float(cam.size[0]), float(cam.size[1])],
            "matrix": cam.K,
            "distortions": dist,
            "rotation": cv2.Rodrigues(cam.R)[0].reshape(3),
            "translation": cam.t,
            "fisheye": False,
        }
        lines = [f"[cam_{i + 1:02d}]"] + [f"{k} = {_toml_value(v)}" for k, v in fields.items()]
        blocks.append("\n".join(lines))
    blocks.append("[metadata]\nadjusted = false\nerror = 0.0")
    return "\n\n".join(blocks) + "\n"


def write(cameras: list[Camera], path: Path) -> None:
    atomic_write_text(path, dumps(cameras))
