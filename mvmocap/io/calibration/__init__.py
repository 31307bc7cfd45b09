"""Camera-calibration files: read and write every supported format.

Formats (``format`` names): ``native`` (our YAML, ``mvmocap-cameras/1``),
``toml`` (Pose2Sim / Anipose), ``easymocap`` (``intri.yml`` + ``extri.yml``),
``qualisys`` (``.qca.txt``, read only). All are converted to the project
convention (OpenCV cameras, ``x_cam = R x_world + t``, metres) on reading.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.geometry.camera import Camera, CameraRig, check_plausible
from mvmocap.io.calibration import easymocap, native, pose2sim_toml, qualisys
from mvmocap.io.safe_read import CALIBRATION_MAX_BYTES, check_regular_file, read_head

FORMATS = ("native", "toml", "easymocap", "qualisys")
_READERS = {"native": native.read, "toml": pose2sim_toml.read, "easymocap": easymocap.read, "qualisys": qualisys.read}
_WRITERS = {"native": native.write, "toml": pose2sim_toml.write, "easymocap": easymocap.write}


def detect_format(path: str | Path) -> str:
    """Guess a calibration format from the path: extension, then name, then content."""
    path = Path(path)
    name = path.name.lower()
    if path.is_dir() or not path.suffix or name in ("intri.yml", "extri.yml", "intri.yaml", "extri.yaml"):
        return "easymocap"
    if name.endswith((".qca.txt", ".qca")):
        return "qualisys"
    if name.endswith(".toml"):
        return "toml"
    if name.endswith((".yaml", ".yml")):
        if read_head(path).lstrip().startswith(b"%YAML:1."):
            return "easymocap"
        return "native"
    raise InputError(
        f"{path}: cannot tell the calibration format from the name; "
        f"use a .yaml/.toml/.qca.txt name, a folder (no extension) for EasyMocap, or --format ({', '.join(FORMATS)})"
    )


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown calibration format {fmt!r}; known: {', '.join(FORMATS)}")
    return fmt


def load_cameras(path: str | Path, format: str | None = None, **options) -> list[Camera]:
    """Read a calibration file (or EasyMocap folder) into validated cameras.

    ``options`` go to the format's reader (e.g. ``units="mm"`` for TOML).
    Raises :class:`MissingFileError` or :class:`FileFormatError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path, "calibration file")
    if not path.is_dir():
        check_regular_file(path, "calibration file", CALIBRATION_MAX_BYTES)
    fmt = _check_format(format or detect_format(path))
    try:
        cameras = _READERS[fmt](path, **options)
        for camera in cameras:
            check_plausible(camera)
    except InputError as exc:  # a camera failed validation: say which file
        raise FileFormatError(path, str(exc)) from None
    if not cameras:
        raise FileFormatError(path, "no cameras in the file")
    names = [c.name for c in cameras]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileFormatError(path, f"duplicate camera names: {', '.join(dupes)}")
    _check_rig_scale(path, cameras)
    return cameras


# Camera centres of a real rig are between these distances apart (metres): outside, the units are wrong.
RIG_SPAN_RANGE_M = (0.05, 1000.0)


def _check_rig_scale(path: Path, cameras: list[Camera]) -> None:
    """Refuse a rig whose cameras are all within 5 cm, or spread over more than 1 km: a file in
    metres read as millimetres (or the reverse), which would triangulate nonsense."""
    if len(cameras) < 2:
        return
    centres = np.stack([c.center for c in cameras])
    span = float(np.max(np.linalg.norm(centres[:, None] - centres[None], axis=-1)))
    lo, hi = RIG_SPAN_RANGE_M
    if span < lo:
        raise FileFormatError(path, f"the cameras are at most {span * 1000:.3g} mm apart: wrong units? "
                                    "(a file in metres labelled 'units: mm' or read with --units mm)")
    if span > hi:
        raise FileFormatError(path, f"the cameras are {span:.3g} m apart: wrong units? "
                                    "(a file in millimetres read as metres; use 'units: mm' or --units mm)")


def load_rig(path: str | Path, format: str | None = None, **options) -> CameraRig:
    """Read a calibration into a float64 :class:`CameraRig` (see :func:`load_cameras`)."""
    return CameraRig.from_cameras(load_cameras(path, format, **options))


def save_rig(rig: CameraRig | list[Camera], path: str | Path, format: str | None = None) -> Path:
    """Write cameras to ``path`` in ``format`` (guessed from the path when None), atomically.

    For EasyMocap, ``path`` is a folder (or its ``intri.yml``/``extri.yml``)
    that receives both files. Returns the path written.
    """
    cameras = rig.cameras() if isinstance(rig, CameraRig) else list(rig)
    path = Path(path)
    _WRITERS[writable_format(path, format)](cameras, path)
    return path


def writable_format(path: str | Path, format: str | None = None) -> str:
    """The format :func:`save_rig` would write to ``path``; raises if unknown or read-only.

    Call it before long work so a bad ``--out`` fails first.
    """
    fmt = _check_format(format or detect_format(Path(path)))
    if fmt not in _WRITERS:
        raise InputError(f"writing the {fmt} format is not supported (it is read only); write native, toml or easymocap")
    return fmt
