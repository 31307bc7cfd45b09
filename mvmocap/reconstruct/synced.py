"""``reconstruct --sync auto``: detections and cameras for videos that were not started together.

Detect every camera over all its own frames, then (with a calibration file) refine the
offsets with the known cameras, or (``--calibrate-from-joints``) estimate them as extra
parameters of the calibration's bundle adjustment (:mod:`mvmocap.sync.joint`); the 2D tracks
are resampled onto the common timeline (:mod:`mvmocap.sync`).
"""

from __future__ import annotations

from pathlib import Path

from mvmocap.detect.detections import Detections
from mvmocap.geometry.camera import CameraRig
from mvmocap.io.video import parse_frames, parse_offsets
from mvmocap.reconstruct.config import ReconstructConfig
from mvmocap.sync.result import SyncResult


def synchronised_inputs(videos_dir, out: Path, keypoints_dir, cfg: ReconstructConfig, calibration,
                        progress: bool) -> tuple[Detections, CameraRig, SyncResult]:
    """Synchronised detections (on ``cfg.detect.frames`` of the common timeline), their cameras and the offsets."""
    import numpy as np

    from mvmocap.console import console
    from mvmocap.sync.stage import synchronise
    from mvmocap.sync.workflows import joints_calibrator, raw_tracks, save_sync

    d = cfg.detect
    tracks, detector = raw_tracks(
        videos_dir, out / "work", progress=progress, detector="openpose-json" if keypoints_dir is not None else d.detector,
        device=cfg.device, openpose_dir=keypoints_dir, scale=d.scale,
    )
    pinned = parse_offsets(list(d.offsets))
    if calibration is not None:
        from mvmocap.io.calibration import load_rig

        detections, sync, rig = synchronise(tracks, load_rig(calibration), pinned=pinned, detector=detector)
    else:
        detections, sync, _ = synchronise(tracks, pinned=pinned, detector=detector,
                                          calibrate=joints_calibrator(None, cfg.subject_height_m))
        rig = None
    save_sync(sync, out / "sync.json")
    if progress:
        console.print(sync.to_text(), highlight=False)
    start, stop, step = parse_frames(d.frames)
    ids = detections.frame_ids
    keep = np.flatnonzero((ids >= start) & ((ids < stop) if stop is not None else True) & ((ids - start) % step == 0))
    if len(keep) < len(ids):
        detections = detections.subset_frames(keep)
    return detections, rig, sync
