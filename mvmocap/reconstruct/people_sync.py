"""``--sync auto`` with several people: time offsets from one person, every person resampled.

Cameras that were not started together see everyone late or early by the same offset, so one
person seen by every camera is enough to find it:

1. track people within each camera in 2D (:func:`mvmocap.associate.tracks_2d.track_camera`);
2. the main person: one 2D track per camera, the assignment of the calibration bootstrap
   (:func:`mvmocap.reconstruct.people_calibrate.rank_assignments`: the most salient track and the
   tracks of the other cameras that fit one epipolar geometry with it). The offsets are not known
   yet, so each epipolar cost is the lowest over lags of up to ``MAX_LAG`` frames;
3. the offsets of that person's per-camera tracks. With known cameras, the top ``ASSIGNMENTS``
   assignments are compared by how well their tracks fit the *known* epipolar geometry at their
   best whole-frame lags (:func:`known_camera_lags`: all camera pairs jointly, median Sampson
   distance); the best gives the whole-frame offsets, then the sub-frame refinement of
   :func:`mvmocap.sync.refine.refine_offsets`. (In a diagnostic run on the uncut shared two-person
   capture, the 2D-motion coarse search of :mod:`mvmocap.sync.coarse` put cam04 18.6 frames off and
   the refinement stayed near there: 20.7 px residual, against 18.0 px from offsets 0.) Without cameras,
   first the check that the coarse search's pairwise lags agree (:func:`mvmocap.sync.agreement.check_lag_agreement`:
   every loop of three cameras closes within 9 frames; otherwise refused, one line: give the cameras or
   ``--offset``; on the shared two-person capture the loops miss by 73-79 frames, and the offsets this path
   returned before the check were 5-31 frames off. The main person is matched right there; the fitted
   fundamental matrices of the lag search absorb the motion of people who barely move, see
   ``benchmarks/multiperson_calibration.py --diagnose`` and the README), then
   :func:`mvmocap.sync.synchronise` (coarse search, alternated with a calibration from the main person's
   joints), then ``ROUNDS_WITHOUT_CAMERAS`` times: the known-camera steps with the estimated cameras, and the main person's calibration again on the
   synchronised tracks;
4. every 2D track of every camera is resampled onto the common timeline
   (:func:`mvmocap.sync.resample.interpolate`, per track so that two people are never blended), and
   the tracks present at each timeline frame fill the slots, the most salient (largest box) first.

Everything downstream (association, tracking, calibration from everyone's joints, the fits) then
runs on the resampled :class:`~mvmocap.detect.people.PeopleDetections`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from mvmocap.associate.tracks_2d import track_camera
from mvmocap.detect.people import PeopleDetections
from mvmocap.geometry.camera import CameraRig
from mvmocap.sync.resample import common_timeline, interpolate, resample_detections, sample_positions
from mvmocap.sync.result import SyncResult

ASSIGNMENTS = 4  # main-person assignments compared with known cameras
ROUNDS_WITHOUT_CAMERAS = 1  # without cameras: lags and refinement with the estimated cameras, then recalibration
MAX_LAG = 12  # frames of offset allowed when the main person is matched across cameras
# with cameras, the sub-frame refinement of every tracked person's residual (mvmocap.sync.refine_people) instead of
# the main person's: off by default, since on the shared two-person capture its offsets agreed with the cut less
# well (README, "Several people": 1.21 / 0.62 frames against 0.82 / 0.99)
EVERYONE = False
MIN_OVERLAP = 0.6  # a lag is scored only when the tracks share this fraction of the joints the best-overlapping lag shares


def synchronise_people(people: PeopleDetections, rig: CameraRig | None = None, *,
                       pinned: Mapping[str, float] | None = None,
                       calibrate: Callable | None = None,
                       everyone: bool = EVERYONE) -> tuple[PeopleDetections, SyncResult, CameraRig | None]:
    """Estimate each camera's offset from the main person and resample every person; see the module docstring.

    Args:
        people: every camera over its own frames from 0 (not synchronised; the same frame rate, or
            the rates in ``people.fps``).
        rig: known cameras (sub-frame refinement by the triangulation residual), or None.
        pinned: camera name -> offset in timeline frames, kept as given (``--offset``).
        calibrate: without ``rig``: synchronised single-person ``Detections`` -> cameras, alternated
            with the offsets (:func:`mvmocap.sync.workflows.joints_calibrator`); None: coarse offsets only.
        everyone: the sub-frame refinement with cameras averages every tracked person's residual
            (:func:`people_track_sets`); False: the main person's alone.
    Returns:
        The people on the common timeline, the :class:`SyncResult`, and the rig the offsets were
        refined with (``rig``, the main person's last calibration, or None).
    Raises:
        InputError: no person seen by every camera; without ``rig``, pairwise lags that do not agree
            (:func:`mvmocap.sync.agreement.check_lag_agreement`: the offsets would be wrong); offsets that leave
            no common frame, ...
    """
    from mvmocap.reconstruct.people_calibrate import rank_assignments
    from mvmocap.sync.agreement import check_lag_agreement
    from mvmocap.sync.stage import _pinned_indices, synchronise
    from mvmocap.sync.tracks import rate_ratios, reference_camera, tracks_from_detections

    ranked = rank_assignments(people, max_lag=MAX_LAG)
    tracks = tracks_from_detections(people.select(ranked[0][0]))  # (every camera's length: the timeline)
    assignments = [slots for slots, _ in ranked[:ASSIGNMENTS]]
    if rig is not None:
        rig = rig.subset(people.camera_names)
        sync, used_rig, _ = _synchronise_with_cameras(people, assignments, rig, pinned, everyone)
    else:  # without cameras, only offsets the pairs of cameras agree on (a wrong sync is refused, not returned)
        check_lag_agreement(tracks, rate_ratios(tracks, reference_camera(tracks)), _pinned_indices(tracks, pinned))
        _, sync, used_rig = synchronise(tracks, pinned=pinned, detector=people.detector, calibrate=calibrate)
        for _ in range(ROUNDS_WITHOUT_CAMERAS if used_rig is not None else 0):  # then as with known cameras
            sync, _, main = _synchronise_with_cameras(people, assignments, used_rig, pinned, everyone)
            used_rig = calibrate(resample_detections(main, sync.offsets, sync.ratios, detector=people.detector,
                                                     timeline_fps=sync.timeline_fps)).subset(people.camera_names)
        if used_rig is not None:
            sync = replace(sync, method="calibration from joints")
    timeline = common_timeline(tracks, sync.offsets, sync.ratios)
    return resample_people(people, sync.offsets, sync.ratios, timeline, sync.timeline_fps), sync, used_rig


def known_camera_lags(tracks, rig: CameraRig, reference: int, max_lag: int = 2 * MAX_LAG,
                      min_confidence: float = 0.3) -> tuple[np.ndarray, float]:
    """``(C,)`` whole-frame offsets (timeline frames, the reference's 0) that make every pair of cameras'
    tracks fit the pair's *known* epipolar geometry best, and that fit (pixels): the sum over camera pairs of
    the median Sampson distance at the lag the offsets imply, minimised over every combination of offsets
    in ``-max_lag..max_lag``. All pairs together: one pair alone is fooled when the person barely moves
    or when they share few frames. Equal frame rates assumed."""
    import itertools

    import torch

    from mvmocap.geometry.projection import undistort_points

    C = len(tracks)
    normalised = [undistort_points(torch.as_tensor(tr.keypoints[..., :2]), rig.K[c], rig.dist[c]).numpy()
                  for c, tr in enumerate(tracks)]
    lags = np.arange(-2 * max_lag, 2 * max_lag + 1)
    tables = {(c, d): _pair_costs(tracks[c].keypoints, tracks[d].keypoints, normalised[c], normalised[d],
                                  _essential(rig, c, d), float(rig.K[d, 0, 0]), lags, min_confidence)
              for c, d in itertools.combinations(range(C), 2)}
    free = [c for c in range(C) if c != reference]
    grids = np.meshgrid(*[np.arange(-max_lag, max_lag + 1)] * len(free), indexing="ij")
    offsets = np.zeros((C,) + grids[0].shape, np.int64) if free else np.zeros((C,), np.int64)
    for k, c in enumerate(free):
        offsets[c] = grids[k]
    total = sum(table[offsets[d] - offsets[c] + 2 * max_lag] for (c, d), table in tables.items())
    best = np.unravel_index(int(np.argmin(total)), np.shape(total))
    return np.array([float(offsets[c][best]) for c in range(C)]), float(np.min(total))


def _essential(rig: CameraRig, c: int, d: int) -> np.ndarray:
    """``(3, 3)`` essential matrix of cameras ``c`` -> ``d`` (``x_d^T E x_c = 0``, normalised coordinates)."""
    R, t = rig.R.numpy(), rig.t.numpy()
    R_rel = R[d] @ R[c].T
    t_rel = t[d] - R_rel @ t[c]
    return np.array([[0, -t_rel[2], t_rel[1]], [t_rel[2], 0, -t_rel[0]], [-t_rel[1], t_rel[0], 0]]) @ R_rel


def _pair_costs(a_kp, b_kp, a_norm, b_norm, essential, focal: float, lags: np.ndarray, min_confidence: float):
    """``(L,)`` median Sampson distance (pixels at ``focal``) of track ``a``'s frame ``f`` against track ``b``'s frame
    ``f - lag`` (the same instant when ``o_b - o_a = lag``) under the known ``essential`` matrix; ``*_kp (F, 23, 3)``
    pixels + confidence, ``*_norm (F, 23, 2)`` undistorted normalised. Lags without 30 shared joints get the
    worst measured cost, and so do lags sharing under ``MIN_OVERLAP`` of the most joints any lag shares."""
    from mvmocap.reconstruct.people_calibrate import MIN_POINTS, sampson_distance

    costs = np.full(len(lags), np.nan)
    counts = np.zeros(len(lags))
    for i, lag in enumerate(lags):
        f = np.arange(max(0, lag), min(len(a_kp), len(b_kp) + lag))
        if f.size == 0:
            continue
        both = (a_kp[f, :, 2] > min_confidence) & (b_kp[f - lag, :, 2] > min_confidence)
        counts[i] = both.sum()
        if both.sum() >= MIN_POINTS:
            distances = sampson_distance(essential, a_norm[f][both], b_norm[f - lag][both])
            costs[i] = float(np.median(distances)) * focal
    costs[counts < MIN_OVERLAP * counts.max()] = np.nan  # a lag that leaves few joints in common fits by chance
    return np.where(np.isfinite(costs), costs, np.nanmax(costs) if np.isfinite(costs).any() else np.inf)


def _synchronise_with_cameras(people: PeopleDetections, assignments: list[np.ndarray], rig: CameraRig,
                              pinned: Mapping[str, float] | None,
                              everyone: bool = EVERYONE) -> tuple[SyncResult, CameraRig, list]:
    """Offsets with known cameras: among the main-person ``assignments`` (``(C, F)`` slots each, best first by
    the fitted epipolar cost), the one whose tracks fit the known cameras best at their best whole-frame lags
    (:func:`known_camera_lags`), then the sub-frame refinement: of every person tracked in 3D at those lags
    (:func:`people_track_sets`, ``everyone``), or of the main person's tracks. Returns the offsets, ``rig`` and
    the chosen tracks."""
    from mvmocap.sync.refine import refine_offsets
    from mvmocap.sync.refine_people import refine_offsets_jointly
    from mvmocap.sync.stage import _pinned_indices
    from mvmocap.sync.tracks import rate_ratios, reference_camera, tracks_from_detections

    options = []
    for slots in assignments:
        tracks = tracks_from_detections(people.select(slots))
        reference = reference_camera(tracks)
        options.append((*known_camera_lags(tracks, rig, reference), tracks, reference))
    start, _, tracks, reference = min(options, key=lambda option: option[1])
    names = tuple(t.name for t in tracks)
    ratios = rate_ratios(tracks, reference)
    fixed = _pinned_indices(tracks, pinned)
    for c, value in fixed.items():
        start[c] = value
    fixed_list = sorted(fixed) if fixed else [reference]
    track_sets = people_track_sets(people, rig, start, ratios, tracks) if everyone else []
    if len(track_sets) > 1:  # every person tracked in 3D at the whole-frame offsets: their residuals together
        offsets, sigma, cost = refine_offsets_jointly(track_sets, rig, ratios, start, fixed_list)
    else:
        offsets, sigma, cost = refine_offsets(tracks, rig, ratios, start, fixed_list)
    for c in fixed_list:
        sigma[c] = 0.0
    result = SyncResult(camera_names=names, offsets=offsets, uncertainty=sigma, coarse=start, ratios=ratios,
                        fps=np.array([t.fps for t in tracks]), timeline_fps=float(tracks[reference].fps),
                        reference=names[reference], method="known cameras", pinned=tuple(names[c] for c in fixed),
                        residual_px=float(np.sqrt(cost)) if np.isfinite(cost) else np.nan)
    return result, rig, tracks


def people_track_sets(people: PeopleDetections, rig: CameraRig, offsets: np.ndarray, ratios: np.ndarray,
                      main: list, max_people: int | None = None, min_track_frames: int = 10) -> list[list]:
    """Every person's per-camera tracks over each camera's own frames, for the joint refinement: the people are
    put on the timeline at the whole-frame ``offsets (C,)``, associated across cameras and tracked in 3D with
    ``rig`` (:mod:`mvmocap.associate`), and each kept 3D track (``max_people``, default ``people.num_slots``;
    ``min_track_frames``) is taken back to the cameras' own frames: ``list[CameraTrack]`` per person, confidence
    0 where a camera does not see that person. Empty when the frame rates differ or the offsets are not whole
    frames (a timeline frame is then no camera frame). ``main``: the main person's tracks (names, rates, sizes)."""
    from mvmocap.associate import associate, select_tracks, track

    offsets = np.asarray(offsets, np.float64)
    if not (np.allclose(ratios, 1.0) and np.allclose(offsets, np.round(offsets))):
        return []
    offsets = np.round(offsets).astype(np.int64)
    timeline = common_timeline(main, offsets, ratios)
    synced = resample_people(people, offsets, ratios, timeline, float(main[0].fps or people.fps[0]))
    tracking = track(associate(synced.keypoints, synced.boxes, rig), synced.keypoints, synced.boxes, rig)
    kept, _ = select_tracks(tracking, max_people or people.num_slots, min_track_frames)
    sets = []
    for person in sorted(kept, key=lambda t: (-t.frames_3d, t.id)):
        cameras = []
        for c, template in enumerate(main):
            keypoints = np.zeros_like(template.keypoints)
            boxes = np.zeros_like(template.boxes)
            seen = np.flatnonzero(person.slots[c] >= 0)
            own = timeline[seen] - offsets[c]  # the camera's own frames (rate ratio 1)
            keypoints[own] = synced.keypoints[c, seen, person.slots[c, seen]]
            boxes[own] = synced.boxes[c, seen, person.slots[c, seen]]
            cameras.append(replace(template, keypoints=keypoints, boxes=boxes, mono3d=None))
        sets.append(cameras)
    return sets


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
