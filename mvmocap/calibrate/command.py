"""What ``mvmocap calibrate --from-joints`` does, as plain functions (the CLI stays a thin shell).

``calibrate_from_joints_to_file`` finds or computes the detections, calibrates,
refuses or writes the cameras (any supported format, atomically) and the
quality report as JSON beside them (``<out stem>_report.json``; the names
follow ``mvmocap/cli/calibrate.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from mvmocap.calibrate.from_joints import CalibrationResult, calibrate_from_joints, check_subject_height
from mvmocap.calibrate.init_frame_cameras import FrameCamerasFunction
from mvmocap.detect.detections import Detections
from mvmocap.errors import MissingFileError
from mvmocap.io.safe_read import json_safe


def detections_for_calibration(source: str | Path, work_dir: str | Path, *, progress: bool = True) -> Detections:
    """Detections from a ``mvmocap detect`` work folder, or computed (and cached) from a videos folder.

    ``source`` is a work folder when it holds ``detections/index.json``;
    otherwise it is a videos folder and detection runs (or reuses its cache)
    into ``work_dir``.
    """
    from mvmocap.detect import load, run
    from mvmocap.errors import InputError

    source = Path(source)
    if not source.exists():
        raise MissingFileError(source, "videos or work folder")
    if (source / "detections" / "index.json").is_file():
        return load(source)
    if (source / "people" / "index.json").is_file():
        raise InputError(f"{source} holds several people's detections (detect --max-people): calibrate from them "
                         "with --max-people N")
    return run(source, out=work_dir, progress=progress)


def _stem(out: str | Path) -> str:
    return Path(out).name.split(".")[0]


def report_path(out: str | Path) -> Path:
    """Where the quality report of calibration ``out`` goes: ``<out stem>_report.json`` beside it."""
    return Path(out).parent / f"{_stem(out)}_report.json"


def default_work_dir(out: str | Path) -> Path:
    """Where detections of a videos folder are cached by default: ``<out stem>_work`` beside ``out``."""
    return Path(out).parent / f"{_stem(out)}_work"


def calibrate_from_joints_to_file(
    source: str | Path,
    out: str | Path,
    *,
    intrinsics: str | Path | None = None,
    height_m: float = 1.70,
    force: bool = False,
    same_focal: bool = False,
    out_format: str | None = None,
    work_dir: str | Path | None = None,
    progress: bool | Callable[[str], None] = True,
    frame_cameras: FrameCamerasFunction | None = None,
) -> tuple[CalibrationResult, Path, Path]:
    """Calibrate from the joints in ``source`` and write the cameras to ``out``.

    Args:
        source: a ``mvmocap detect`` work folder, or a videos folder (detection runs).
        out: the calibration to write (format from the extension, or ``out_format``).
        intrinsics: a calibration file whose K and distortion are known (poses ignored);
            None to estimate the focal lengths.
        height_m, force, same_focal, frame_cameras: see :func:`calibrate_from_joints`.
        work_dir: where detection caches its results when ``source`` is a videos
            folder (default :func:`default_work_dir`).

    Returns:
        The result, the calibration path written and the report path written.
        Nothing is written when the calibration is refused (the error says why).
    """
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.calibration import load_rig, save_rig, writable_format

    writable_format(out, out_format)  # fail before the work when the output cannot be written
    check_subject_height(height_m)
    known = load_rig(intrinsics) if intrinsics is not None else None
    work_dir = default_work_dir(out) if work_dir is None else work_dir
    detections = detections_for_calibration(source, work_dir, progress=bool(progress))
    result = calibrate_from_joints(
        detections, known, height_m=height_m, force=force, progress=progress, same_focal=same_focal,
        frame_cameras=frame_cameras,
    )
    written = save_rig(result.rig, out, out_format)
    report = report_path(written)
    atomic_write_text(report, json.dumps(json_safe(result.report.to_dict()), indent=2, allow_nan=False) + "\n")
    return result, Path(written), report
