"""Our calibration format: YAML ``format: mvmocap-cameras/1`` (see README "Formats").

Floats are written with ``repr`` so a read-write cycle is exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mvmocap.errors import FileFormatError
from mvmocap.geometry.camera import Camera
from mvmocap.io.atomic import atomic_write_text
from mvmocap.io.safe_read import CALIBRATION_MAX_BYTES, load_yaml

FORMAT_TAG = "mvmocap-cameras/1"
_UNIT_SCALE = {"m": 1.0, "mm": 1e-3, "cm": 1e-2}


def read(path: Path) -> list[Camera]:
    doc = load_yaml(path, CALIBRATION_MAX_BYTES, "calibration file")
    if not isinstance(doc, dict):
        raise FileFormatError(path, "expected a YAML mapping with 'format' and 'cameras'")
    if doc.get("format") != FORMAT_TAG:
        raise FileFormatError(path, f"'format' must be {FORMAT_TAG!r}, found {doc.get('format')!r}")
    units = doc.get("units", "m")
    if not isinstance(units, str) or units not in _UNIT_SCALE:
        raise FileFormatError(path, f"unknown units {units!r}; use one of {', '.join(_UNIT_SCALE)}")
    entries = doc.get("cameras")
    if not isinstance(entries, list):
        raise FileFormatError(path, "'cameras' must be a list")
    cameras = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise FileFormatError(path, f"camera #{i + 1} is not a mapping")
        missing = [k for k in ("name", "size", "K", "R", "t") if k not in entry]
        if missing:
            raise FileFormatError(path, f"camera #{i + 1} lacks {', '.join(missing)}")
        try:
            cameras.append(
                Camera(
                    name=str(entry["name"]),
                    K=np.asarray(entry["K"], dtype=np.float64),
                    dist=np.asarray(entry.get("dist", [0.0] * 5), dtype=np.float64),
                    R=np.asarray(entry["R"], dtype=np.float64),
                    t=np.asarray(entry["t"], dtype=np.float64) * _UNIT_SCALE[units],
                    size=tuple(entry["size"]),
                )
            )
        except (TypeError, ValueError) as exc:  # includes InputError from Camera's validation
            raise FileFormatError(path, f"camera #{i + 1}: {exc}") from None
    return cameras


def _row(values) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def _matrix(m: np.ndarray) -> str:
    return "[" + ", ".join(_row(r) for r in m) + "]"


def dumps(cameras: list[Camera]) -> str:
    """The YAML text for ``cameras``."""
    lines = [f"format: {FORMAT_TAG}", "units: m", "cameras:"]
    for cam in cameras:
        lines += [
            f"  - name: {json.dumps(cam.name)}",
            f"    size: [{cam.size[0]}, {cam.size[1]}]          # width, height in pixels",
            f"    K: {_matrix(cam.K)}",
            f"    dist: {_row(cam.dist)}   # k1, k2, p1, p2, k3",
            f"    R: {_matrix(cam.R)}   # world -> camera",
            f"    t: {_row(cam.t)}   # world -> camera, metres",
        ]
    return "\n".join(lines) + "\n"


def write(cameras: list[Camera], path: Path) -> None:
    atomic_write_text(path, dumps(cameras))
