"""``--sync auto`` with several people: time offsets from one person, every person resampled.

Cameras that were not started together see everyone late or early by the same offset, so one
person seen by every camera is enough to find it:

1. track people within each camera in 2D (:func:`mvmocap.associate.tracks_2d.track_camera`);
2. the main person: one 2D track per camera, the assignment of the calibration bootstrap
   (:func:`mvmocap.reconstruct.people_calibrate.rank_assignments`: the most salient track and the
   tracks of the other cameras that fit one epipolar geometry with it). The offsets are not known
   yet, so each epipolar cost is the lowest over lags of up to ``MAX_LAG`` frames;
3. the offsets of that person's per-camera tracks (:func:`mvmocap.sync.synchronise`: coarse search,
   then sub-frame refinement with the cameras, or alternated with a calibration from the main
   person's joints without them);
4. every 2D track of every camera is resampled onto the common timeline
   (:func:`mvmocap.sync.resample.interpolate`, per track so that two people are never blended), and
   the tracks present at each timeline frame fill the slots, the most salient (largest box) first.

Everything downstream (association, tracking, calibration from everyone's joints, the fits) then
runs on the resampled :class:`~mvmocap.detect.people.PeopleDetections`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from mvmocap.associate.tracks_2d import track_camera
from mvmocap.detect.people import PeopleDetections
from mvmocap.geometry.camera import CameraRig
from mvmocap.sync.resample import common_timeline, interpolate, sample_positions
from mvmocap.sync.result import SyncResult

MAX_LAG = 12  # frames of offset allowed when the main person is matched across cameras


def synchronise_people(people: PeopleDetections, rig: CameraRig | None = None, *,
                       pinned: Mapping[str, float] | None = None,
                       calibrate: Callable | None = None) -> tuple[PeopleDetections, SyncResult, CameraRig | None]:
    """Estimate each camera's offset from the main person and resample every person; see the module docstring.

    Args:
        people: every camera over its own frames from 0 (not synchronised; the same frame rate, or
            the rates in ``people.fps``).
        rig: known cameras (sub-frame refinement by the triangulation residual), or None.
        pinned: camera name -> offset in timeline frames, kept as given (``--offset``).
        calibrate: without ``rig``: synchronised single-person ``Detections`` -> cameras, alternated
            with the offsets (:func:`mvmocap.sync.workflows.joints_calibrator`); None: coarse offsets only.
    Returns:
        The people on the common timeline, the :class:`SyncResult`, and the rig the offsets were
        refined with (``rig``, the main person's last calibration, or None).
    Raises:
        InputError: no person seen by every camera, offsets that leave no common frame, ...
    """
    from mvmocap.reconstruct.people_calibrate import rank_assignments
    from mvmocap.sync.stage import synchronise
    from mvmocap.sync.tracks import tracks_from_detections

    main_slots, _ = rank_assignments(people, max_lag=MAX_LAG)[0]
    tracks = tracks_from_detections(people.select(main_slots))
    _, sync, used_rig = synchronise(tracks, rig, pinned=pinned, detector=people.detector, calibrate=calibrate)
    timeline = common_timeline(tracks, sync.offsets, sync.ratios)
    return resample_people(people, sync.offsets, sync.ratios, timeline, sync.timeline_fps), sync, used_rig


def detect_and_synchronise(videos_dir, out, keypoints_dir, cfg, rig: CameraRig | None,
                           progress: bool) -> tuple[PeopleDetections, SyncResult, CameraRig | None]:
    """``reconstruct --max-people N --sync auto``: detect everyone over each camera's own frames, synchronise
    (with ``rig``, or alternated with the main person's calibration from joints), write ``OUT/sync.json``,
    and keep ``cfg.detect.frames`` of the common timeline. Returns the people, the offsets and ``rig`` as given
    (without one, the cameras are then calibrated from everyone's joints on the synchronised people)."""
    from mvmocap import detect
    from mvmocap.console import console
    from mvmocap.io.video import parse_frames, parse_offsets
    from mvmocap.sync.workflows import joints_calibrator, save_sync

    d = cfg.detect
    raw = detect.run(videos_dir, out=Path(out) / "work", detector="openpose-json" if keypoints_dir is not None
                     else d.detector, frames=None, offsets=[], strict=d.strict, device=cfg.device, progress=progress,
                     openpose_dir=keypoints_dir, scale=d.scale, max_people=d.max_people)
    calibrate = None if rig is not None else joints_calibrator(None, cfg.subject_height_m)
    people, sync, _ = synchronise_people(raw, rig, pinned=parse_offsets(list(d.offsets)), calibrate=calibrate)
    save_sync(sync, Path(out) / "sync.json")
    if progress:
        console.print(sync.to_text(), highlight=False)
    start, stop, step = parse_frames(d.frames)
    ids = people.frame_ids
    keep = (ids >= start) & ((ids < stop) if stop is not None else True) & ((ids - start) % step == 0)
    if not keep.all():
        people = PeopleDetections(people.camera_names, ids[keep], people.keypoints[:, keep], people.boxes[:, keep],
                                  people.image_sizes, people.fps, people.detector,
                                  mono3d=None if people.mono3d is None else people.mono3d[:, keep])
    return people, sync, rig


def resample_people(people: PeopleDetections, offsets, ratios, timeline: np.ndarray,
                    timeline_fps: float) -> PeopleDetections:
    """Every camera's 2D tracks at the ``timeline (T,)`` frames: ``offsets (C,)`` timeline frames,
    ``ratios (C,)`` timeline frames per camera frame (as :mod:`mvmocap.sync.resample`).

    A track is interpolated only between its own samples; at most ``people.num_slots`` tracks per
    camera and frame are kept, the largest boxes first. Masks and detector timings are not carried.
    """
    C, P = people.num_cameras, people.num_slots
    T = len(timeline)
    keypoints = np.zeros((C, T, P, 23, 3), np.float32)
    boxes = np.zeros((C, T, P, 5), np.float32)
    mono3d = None if people.mono3d is None else np.zeros((C, T, P, 23, 4), np.float32)
    for c in range(C):
        positions = sample_positions(timeline, offsets[c], ratios[c])
        resampled = [_resample_track(people, c, slots, positions) for slots in track_camera(people.keypoints[c],
                                                                                           people.boxes[c])]
        for t in range(T):
            here = [r for r in resampled if r[1][t, 4] > 0]
            here.sort(key=lambda r: -_diagonal(r[1][t]))
            for p, (kp, box, mono) in enumerate(here[:P]):
                keypoints[c, t, p], boxes[c, t, p] = kp[t], box[t]
                if mono3d is not None:
                    mono3d[c, t, p] = mono[t]
    return PeopleDetections(people.camera_names, np.asarray(timeline, np.int64), keypoints, boxes,
                            people.image_sizes, np.full(C, float(timeline_fps)), people.detector, mono3d=mono3d)


def _resample_track(people: PeopleDetections, camera: int, slots: np.ndarray, positions: np.ndarray):
    """One 2D track's keypoints ``(T, 23, 3)``, box ``(T, 5)`` and mono3d ``(T, 23, 4)`` (or None) at
    fractional frames ``positions (T,)``; confidence 0 where the track is not seen."""
    seen = slots >= 0
    index = np.where(seen, slots, 0)
    frames = np.arange(len(slots))

    def take(array: np.ndarray) -> np.ndarray:
        picked = array[camera, frames, index].astype(np.float64)
        return np.where(seen.reshape((-1,) + (1,) * (picked.ndim - 1)), picked, 0.0)

    keypoints = interpolate(take(people.keypoints), positions)
    boxes = interpolate(take(people.boxes), positions)
    mono = None if people.mono3d is None else interpolate(take(people.mono3d), positions)
    return keypoints, boxes, mono


def _diagonal(box: np.ndarray) -> float:
    return float(np.hypot(box[2] - box[0], box[3] - box[1]))
