"""The sync stage inside the commands: ``detect``, ``calibrate --from-joints`` and ``reconstruct`` with ``--sync auto``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

from mvmocap.calibrate.from_joints import CalibrationResult, calibrate_from_joints
from mvmocap.detect.detections import Detections
from mvmocap.errors import MissingFileError
from mvmocap.geometry.camera import CameraRig
from mvmocap.io.atomic import atomic_write_text
from mvmocap.sync.result import SyncResult
from mvmocap.sync.stage import synchronise
from mvmocap.sync.tracks import CameraTrack, tracks_from_cache


def raw_tracks(source: str | Path, work_dir: str | Path, *, progress: bool = True, **detect_options) -> tuple[list[CameraTrack], str]:
    """Per-camera tracks over each camera's own frames, and the detector's name.

    ``source``: a ``mvmocap detect`` work folder (its cached cameras are used as they are) or a videos
    folder (detection runs, or reuses its cache, into ``work_dir``).
    """
    from mvmocap.detect import run
    from mvmocap.detect.cache import camera_file, load_camera, read_index

    source = Path(source)
    if not source.exists():
        raise MissingFileError(source, "videos or work folder")
    if (source / "detections" / "index.json").is_file():
        cameras = [load_camera(camera_file(source, c)) for c in read_index(source)]
    else:
        cameras = run(source, out=work_dir, progress=progress, own_frames=True, **detect_options)
    return tracks_from_cache(cameras), cameras[0].detector


def sync_path(work_dir: str | Path) -> Path:
    return Path(work_dir) / "sync.json"


def save_sync(result: SyncResult, path: str | Path) -> Path:
    atomic_write_text(path, json.dumps(result.to_dict(), indent=2) + "\n")
    return Path(path)


def detect_and_sync(videos_dir, out, *, pinned=None, progress: bool = True, **detect_options) -> tuple[Detections, SyncResult]:
    """``mvmocap detect --sync auto``: detect every camera over all its frames, estimate the offsets from
    the 2D motion alone (coarse: no cameras yet) and write them to ``OUT/sync.json``."""
    tracks, detector = raw_tracks(videos_dir, out, progress=progress, **detect_options)
    detections, result, _ = synchronise(tracks, pinned=pinned, detector=detector)
    save_sync(result, sync_path(out))
    return detections, result


def joints_calibrator(intrinsics: CameraRig | None, height_m: float, same_focal: bool = False) -> Callable[[Detections], CameraRig]:
    """The calibration from joints as a function of synchronised detections (forced: no refusal between rounds)."""
    def calibrate(detections: Detections) -> CameraRig:
        return calibrate_from_joints(detections, intrinsics, height_m=height_m, force=True, progress=False,
                                     same_focal=same_focal).rig

    return calibrate


def calibrate_with_sync(
    tracks: Sequence[CameraTrack], *, detector: str, intrinsics: CameraRig | None = None, height_m: float = 1.70,
    force: bool = False, same_focal: bool = False, pinned=None, progress: bool | Callable[[str], None] = True,
) -> tuple[CalibrationResult, SyncResult, Detections]:
    """Offsets and cameras together, without known cameras: coarse offsets -> calibrate -> one bundle adjustment
    of the cameras, joints and offsets (:mod:`mvmocap.sync.joint`), then the final calibration on the
    synchronised detections."""
    from mvmocap.console import console

    log = progress if callable(progress) else ((lambda line: console.print(f"[bold cyan]sync[/] {line}", highlight=False))
                                               if progress else None)
    detections, sync, _ = synchronise(list(tracks), pinned=pinned, detector=detector,
                                      calibrate=joints_calibrator(intrinsics, height_m, same_focal), log=log,
                                      focal_known=intrinsics is not None)
    result = calibrate_from_joints(detections, intrinsics, height_m=height_m, force=force, progress=progress,
                                   same_focal=same_focal)
    return result, sync, detections


def calibrate_with_sync_to_file(source, out, *, intrinsics=None, height_m: float = 1.70, force: bool = False,
                                same_focal: bool = False, out_format: str | None = None, work_dir=None,
                                pinned=None, progress: bool = True) -> tuple[CalibrationResult, SyncResult, Path, Path]:
    """``mvmocap calibrate --from-joints SOURCE --sync auto``: as
    :func:`mvmocap.calibrate.command.calibrate_from_joints_to_file`, the report holding the offsets too."""
    from mvmocap.calibrate.command import default_work_dir, report_path
    from mvmocap.io.calibration import load_rig, save_rig, writable_format

    writable_format(out, out_format)
    known = load_rig(intrinsics) if intrinsics is not None else None
    work_dir = default_work_dir(out) if work_dir is None else work_dir
    tracks, detector = raw_tracks(source, work_dir, progress=progress)
    result, sync, _ = calibrate_with_sync(tracks, detector=detector, intrinsics=known, height_m=height_m, force=force,
                                          same_focal=same_focal, pinned=pinned, progress=progress)
    written = save_rig(result.rig, out, out_format)
    report = report_path(written)
    atomic_write_text(report, json.dumps({**result.report.to_dict(), "sync": sync.to_dict()}, indent=2) + "\n")
    return result, sync, Path(written), report
