"""Calibration from joints with several people in view (``reconstruct --max-people N --calibrate-from-joints``).

The cross-view association needs cameras, so the cameras are bootstrapped from one person:

1. track people within each camera in 2D (:func:`mvmocap.associate.tracks_2d.track_camera`);
2. the anchor is the most salient track (longest and largest) of the camera where it is most salient;
3. for every other camera, each of its ``candidates`` most salient tracks that share frames with the
   anchor is a candidate for the same person, scored by the epipolar geometry of the two views'
   joints (a fundamental matrix fitted by least median of squares; the median Sampson distance in
   pixels): the same person moving through many poses fits one epipolar geometry, two different
   people do not;
4. the assignments (one track per camera) are calibrated from that person's joints
   (:func:`mvmocap.calibrate.calibrate_from_joints`) in order of mean epipolar cost, and the first
   that the calibration's checks accept is kept. The calibration's own reprojection error does not
   choose: on the shared two-person capture, wrong assignments reached 6.2-6.4 px after its outlier
   rejection, as low as the right one (6.4 px), while the epipolar cost ranked the right one first.

Then every person's joints are used (:func:`calibrate_people_cameras`), ``rounds`` times:

5. associate the detections across cameras and track them (:mod:`mvmocap.associate`) with the
   current cameras, keep the ``max_people`` longest 3D tracks;
6. calibrate from all their joints at once (:func:`mvmocap.calibrate.from_people.calibrate_from_people_joints`:
   shared cameras, each person's own bone lengths; the scale from the person seen longest, whose
   height is ``height_m``).

The multi-person pipeline then runs with those cameras as with a calibration file. On the shared
two-person capture, rounds 1 and 2 took the mean rotation error from 5.9 deg (the one-person
bootstrap) to 3.9 deg then 2.8 deg; a third round did not lower it (README, "Several people").
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from mvmocap.associate.tracks_2d import CONFIDENT, track_camera, track_salience
from mvmocap.errors import InputError

CANDIDATES = 3  # tracks tried per camera
ROUNDS = 2  # association with the current cameras, then calibration from everyone's joints
TRIALS = 3  # assignments calibrated at most (the first accepted is kept)
MIN_SHARED_FRAMES = 10
MIN_POINTS = 30  # joint correspondences for a fundamental matrix
LAG_SEARCH_POINTS = 120  # correspondences per lag when the cameras may be out of sync


@dataclass
class PeopleCalibration:
    """What :func:`calibrate_from_people` chose.

    Attributes:
        result: the :class:`mvmocap.calibrate.CalibrationResult` of the chosen assignment.
        slots: ``(C, F)`` int, the chosen person's slot per camera and frame (-1 unseen).
        tried: per assignment calibrated (``trials`` at most, in epipolar order): ``slots``, ``epipolar_px``
            (mean over cameras), ``reprojection_px`` (median over cameras; inf and ``refused`` where the
            calibration was refused) and ``result``.
    """

    result: object
    slots: np.ndarray
    tried: list[dict] = field(default_factory=list)


@dataclass
class PeopleCameras:
    """What :func:`calibrate_people_cameras` found.

    Attributes:
        result: the final :class:`mvmocap.calibrate.CalibrationResult` (every kept person's joints).
        bootstrap: the one-person :class:`PeopleCalibration` it started from.
        rounds: per round, ``{"people": n, "frames_3d": [...], "frames_per_camera": [[...]], "rig": CameraRig}``
            (the people calibrated from, person 0 first, and the round's cameras).
        person_slots: ``(N, C, F)`` int, the slots of the people of the last round, person 0 first
            (the one whose height gives the scale).
    """

    result: object
    bootstrap: PeopleCalibration
    rounds: list[dict]
    person_slots: np.ndarray


def calibrate_people_cameras(people, intrinsics=None, *, height_m: float = 1.70, max_people: int = 2,
                             min_track_frames: int = 10, rounds: int = ROUNDS, force: bool = False,
                             same_focal: bool = False, progress=False,
                             segments: list[slice] | None = None, max_overlap: float | None = None) -> PeopleCameras:
    """Cameras from every person's joints; see the module docstring (steps 1-6).

    Args:
        people: :class:`mvmocap.detect.people.PeopleDetections` of C >= 2 synchronised cameras.
        intrinsics, same_focal: as :func:`mvmocap.calibrate.calibrate_from_joints` (None: focal lengths estimated).
        height_m: the height of the person seen longest (the metric scale).
        max_people, min_track_frames: which 3D tracks calibrate (as ``reconstruct --max-people``).
        rounds: association + calibration rounds after the bootstrap (>= 1).
        force: keep the final cameras even when a sanity check fails (the rounds before are always kept).
        segments: frame ranges associated and tracked on their own (several trials end to end: the same cameras,
            other people), ``max_people`` kept in each; None: one.
        max_overlap: a person's joints in a view where another detection's box covers more than this share of
            the person's box are left out of the calibration (:func:`unoccluded`); None: every joint is used.
    Raises:
        InputError: no person seen by every camera, or nobody tracked in 3D.
        CalibrationRefused: the bootstrap or the final calibration was refused.
    """
    from mvmocap.associate import associate, select_tracks, track
    from mvmocap.calibrate.from_people import calibrate_from_people_joints

    if rounds < 1:
        raise InputError(f"calibration rounds must be >= 1, got {rounds}")
    bootstrap = calibrate_from_people(people, intrinsics, height_m=height_m, same_focal=same_focal)
    rig, history = bootstrap.result.rig, []
    for round_ in range(rounds):
        kept = []  # (frames in 3D, slots (C, F)) per kept person
        for segment in segments or [slice(0, people.num_frames)]:  # each tracked on its own: no identity crosses
            kp, boxes = people.keypoints[:, segment], people.boxes[:, segment]
            tracking = track(associate(kp, boxes, rig), kp, boxes, rig)
            for t in sorted(select_tracks(tracking, max_people, min_track_frames)[0], key=lambda t: t.id):
                slots = np.full((people.num_cameras, people.num_frames), -1, np.int64)
                slots[:, segment] = t.slots
                kept.append((t.frames_3d, slots))
        if not kept:
            raise InputError("calibration from joints: with the first cameras, nobody was tracked in 3D "
                             f"for {min_track_frames} frames or more")
        kept.sort(key=lambda t: -t[0])  # person 0, seen longest, gives the scale (stable: first seen first)
        last = round_ == rounds - 1
        persons = [unoccluded(people, slots, max_overlap) for _, slots in kept]
        result = calibrate_from_people_joints(persons, intrinsics, height_m=height_m, force=force or not last,
                                              progress=progress if last else False, same_focal=same_focal)
        rig = result.rig
        history.append({"people": len(kept), "frames_3d": [frames for frames, _ in kept], "rig": rig,
                        "frames_per_camera": [[int((s >= 0).sum()) for s in slots] for _, slots in kept]})
    return PeopleCameras(result, bootstrap, history, np.stack([slots for _, slots in kept]))


def unoccluded(people, slots: np.ndarray, max_overlap: float | None):
    """``people.select(slots)`` (one person's :class:`~mvmocap.detect.detections.Detections`) with confidence 0 in
    every camera and frame where another detection's box covers more than ``max_overlap`` of the person's box
    (two people overlapping in a view: the detector mixes their joints). ``slots (C, F)`` int, -1 unseen."""
    from mvmocap.associate.tracks_2d import box_iou

    person = people.select(slots)
    if max_overlap is None:
        return person
    keypoints = person.keypoints.copy()
    for c, f in zip(*np.nonzero(slots >= 0)):
        own = people.boxes[c, f, slots[c, f]]
        others = np.delete(people.boxes[c, f], slots[c, f], axis=0)
        others = others[others[:, 4] > 0]
        if others.size == 0:
            continue
        area = max((own[2] - own[0]) * (own[3] - own[1]), 1e-9)
        iou = box_iou(own[None], others)[0]
        other_area = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
        covered = iou * (area + other_area) / (1 + iou) / area  # intersection = iou (a + b) / (1 + iou), over a
        if covered.max() > max_overlap:
            keypoints[c, f, :, 2] = 0.0
    return replace(person, keypoints=keypoints)


def calibrate_from_people(people, intrinsics=None, *, height_m: float = 1.70, candidates: int = CANDIDATES,
                          trials: int = TRIALS, same_focal: bool = False, progress=False) -> PeopleCalibration:
    """Cameras from the joints of one person among several; see the module docstring.

    Args:
        people: :class:`mvmocap.detect.people.PeopleDetections` of C >= 2 synchronised cameras.
        intrinsics, same_focal: as :func:`mvmocap.calibrate.calibrate_from_joints`.
        height_m: that person's height (the metric scale).
        candidates: tracks tried per camera; trials: assignments calibrated at most.
    Raises:
        InputError: no person seen by every camera in enough shared frames.
        CalibrationRefused: every assignment tried was refused by the calibration's checks.
    """
    from mvmocap.calibrate import CalibrationRefused, calibrate_from_joints

    tried = []
    for slots, epipolar in rank_assignments(people, candidates)[:trials]:
        try:
            result = calibrate_from_joints(people.select(slots), intrinsics, height_m=height_m, progress=progress,
                                           same_focal=same_focal)
        except CalibrationRefused as refused:
            tried.append({"epipolar_px": epipolar, "reprojection_px": float("inf"), "refused": str(refused),
                          "slots": slots})
            continue
        reprojection = float(np.median([cam.reprojection_px for cam in result.report.cameras]))
        tried.append({"epipolar_px": epipolar, "reprojection_px": reprojection, "slots": slots, "result": result})
        return PeopleCalibration(result, slots, tried)  # the first in epipolar order that calibrates
    raise CalibrationRefused("calibration from joints: every assignment of the people across cameras was refused: "
                             + "; ".join(t["refused"] for t in tried))


def rank_assignments(people, candidates: int = CANDIDATES, max_lag: int = 0) -> list[tuple[np.ndarray, float]]:
    """Every assignment of one 2D track per camera to the same person, best first:
    ``(slots (C, F) int, mean epipolar cost px)``. The anchors are the ``candidates`` most salient
    tracks of the camera holding the most salient one; see the module docstring. ``max_lag``: the
    cameras may be out of sync by up to this many frames (each cost is the lowest over the lags)."""
    tracks = [track_camera(people.keypoints[c], people.boxes[c]) for c in range(people.num_cameras)]
    salience = [track_salience(t, people.boxes[c], float(np.hypot(*people.image_sizes[c])))
                for c, t in enumerate(tracks)]
    anchor_camera = int(np.argmax([s.max(initial=0.0) for s in salience]))
    ranked = []
    for k in np.argsort(-salience[anchor_camera])[:candidates]:
        options = _candidates_per_camera(people, tracks, salience, anchor_camera, tracks[anchor_camera][k], candidates,
                                         max_lag)
        for combo in itertools.product(*options):
            costs = [cost for _, cost in combo if cost is not None]
            if all(np.isfinite(costs)):
                ranked.append((np.stack([track for track, _ in combo]), float(np.mean(costs))))
    if not ranked:
        raise InputError("calibration from joints: no person is seen by every camera in "
                         f"{MIN_SHARED_FRAMES} shared frames or more")
    ranked.sort(key=lambda item: item[1])
    return ranked


def _candidates_per_camera(people, tracks, salience, anchor_camera: int, anchor: np.ndarray,
                           candidates: int, max_lag: int = 0) -> list[list[tuple[np.ndarray, float]]]:
    """Per camera, ``(track slots (F,), epipolar cost px with the anchor)`` of its candidate tracks (the anchor
    alone, cost None, in its camera)."""
    options = []
    for c in range(people.num_cameras):
        if c == anchor_camera:
            options.append([(anchor, None)])
            continue
        order = np.argsort(-salience[c])[:candidates]
        options.append([(tracks[c][k], lagged_epipolar_cost(people.keypoints[anchor_camera], anchor, people.keypoints[c],
                                                            tracks[c][k], max_lag)) for k in order])
    return options


def epipolar_cost(keypoints_a: np.ndarray, slots_a: np.ndarray, keypoints_b: np.ndarray, slots_b: np.ndarray,
                  max_points: int | None = None) -> float:
    """Median Sampson distance (pixels) of the joints of track ``a`` in one camera and track ``b`` in another
    under the fundamental matrix they fit best (least median of squares); inf with fewer than
    ``MIN_SHARED_FRAMES`` shared frames or ``MIN_POINTS`` joints.

    ``keypoints_*: (F, P, 23, 3)`` pixels + confidence; ``slots_*: (F,)`` int, -1 unseen.
    ``max_points``: use at most this many correspondences, evenly spaced (faster); None: all.
    """
    shared = np.flatnonzero((slots_a >= 0) & (slots_b >= 0))
    if shared.size < MIN_SHARED_FRAMES:
        return float("inf")
    a = keypoints_a[shared, slots_a[shared]]  # (S, 23, 3)
    b = keypoints_b[shared, slots_b[shared]]
    both = (a[..., 2] > CONFIDENT) & (b[..., 2] > CONFIDENT)
    if both.sum() < MIN_POINTS:
        return float("inf")
    pa, pb = a[both][:, :2].astype(np.float64), b[both][:, :2].astype(np.float64)
    if max_points is not None and len(pa) > max_points:
        keep = np.linspace(0, len(pa) - 1, max_points).round().astype(int)
        pa, pb = pa[keep], pb[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F, _ = cv2.findFundamentalMat(pa, pb, cv2.FM_LMEDS)
    if F is None or F.shape != (3, 3):
        return float("inf")
    return float(np.median(sampson_distance(F, pa, pb)))


def lagged_epipolar_cost(keypoints_a, slots_a, keypoints_b, slots_b, max_lag: int) -> float:
    """The lowest :func:`epipolar_cost` with track ``b`` shifted by every lag in ``-max_lag..max_lag`` frames
    (``b``'s frame ``f + lag`` against ``a``'s frame ``f``): for cameras not yet synchronised."""
    if max_lag == 0:
        return epipolar_cost(keypoints_a, slots_a, keypoints_b, slots_b)
    F = len(slots_b)

    def shifted(lag: int, max_points: int | None) -> float:
        frames = np.clip(np.arange(F) + lag, 0, F - 1)
        slots = np.where((np.arange(F) + lag >= 0) & (np.arange(F) + lag < F), slots_b[frames], -1)
        return epipolar_cost(keypoints_a, slots_a, keypoints_b[frames], slots, max_points=max_points)

    costs = [shifted(lag, LAG_SEARCH_POINTS) for lag in range(-max_lag, max_lag + 1)]  # a quick look at every lag
    return shifted(int(np.argmin(costs)) - max_lag, None) if np.isfinite(min(costs)) else float("inf")


def sampson_distance(F: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """``(N,)`` Sampson distance (pixels) of correspondences ``pa, pb (N, 2)`` under ``F (3, 3)``
    (``pb^T F pa = 0``)."""
    xa = np.concatenate([pa, np.ones((len(pa), 1))], axis=1)
    xb = np.concatenate([pb, np.ones((len(pb), 1))], axis=1)
    Fa, Fb = xa @ F.T, xb @ F  # F xa, F^T xb
    algebraic = (xb * Fa).sum(1)
    return np.abs(algebraic) / np.sqrt(Fa[:, 0] ** 2 + Fa[:, 1] ** 2 + Fb[:, 0] ** 2 + Fb[:, 1] ** 2 + 1e-12)


def calibrate_people_to_file(source, out, *, max_people: int, intrinsics=None, height_m: float = 1.70,
                             force: bool = False, same_focal: bool = False, out_format: str | None = None,
                             work_dir=None, min_track_frames: int = 10, sync: bool = False, pinned=None,
                             progress: bool = True):
    """``mvmocap calibrate --from-joints SOURCE --max-people N``: as
    :func:`mvmocap.calibrate.command.calibrate_from_joints_to_file`, from every person's joints.

    ``source``: a ``mvmocap detect --max-people`` work folder (``people/index.json``) or a videos folder
    (people are detected, or their cache reused, into ``work_dir``). ``sync``: the cameras were not started
    together; offsets from the main person (:func:`mvmocap.reconstruct.people_sync.synchronise_people`,
    ``pinned`` offsets kept), then everyone resampled. The report adds ``"people"``: the bootstrap and each
    round (people, their 3D frames), and ``"sync"``. Returns ``(PeopleCameras, calibration path, report path)``.
    """
    import json
    from pathlib import Path

    from mvmocap.calibrate.command import default_work_dir, report_path
    from mvmocap.calibrate.from_joints import check_subject_height
    from mvmocap.detect.people_run import check_max_people, load_people, run_people
    from mvmocap.errors import MissingFileError
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.calibration import load_rig, save_rig, writable_format
    from mvmocap.io.safe_read import json_safe

    writable_format(out, out_format)  # fail before the work when the output cannot be written
    check_subject_height(height_m)
    check_max_people(max_people)
    known = load_rig(intrinsics) if intrinsics is not None else None
    source = Path(source)
    if not source.exists():
        raise MissingFileError(source, "videos or work folder")
    if (source / "people" / "index.json").is_file():
        people = load_people(source)
    else:
        people = run_people(source, default_work_dir(out) if work_dir is None else work_dir, max_people=max_people,
                            progress=progress)
    offsets = None
    if sync:
        from mvmocap.reconstruct.people_sync import synchronise_people
        from mvmocap.sync.workflows import joints_calibrator

        people, offsets, _ = synchronise_people(people, pinned=pinned,
                                                calibrate=joints_calibrator(known, height_m, same_focal))
    found = calibrate_people_cameras(people, known, height_m=height_m, max_people=max_people,
                                     min_track_frames=min_track_frames, force=force, same_focal=same_focal,
                                     progress=progress)
    written = save_rig(found.result.rig, out, out_format)
    report = report_path(written)
    record = {**found.result.report.to_dict(), "people": {
        "bootstrap_epipolar_px": found.bootstrap.tried[-1]["epipolar_px"],
        "rounds": [{"people": r["people"], "frames_3d": r["frames_3d"]} for r in found.rounds]},
        "sync": None if offsets is None else offsets.to_dict()}
    atomic_write_text(report, json.dumps(json_safe(record), indent=2, allow_nan=False) + "\n")
    return found, Path(written), report
