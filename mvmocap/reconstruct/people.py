"""``reconstruct --max-people N`` (N > 1): several people, a body per person.

detect every person (:mod:`mvmocap.detect.people_run`) -> cameras (a calibration file, or
``--calibrate-from-joints``: every person's joints, :mod:`mvmocap.reconstruct.people_calibrate`) ->
cross-view association + 3D tracking (:mod:`mvmocap.associate`) -> for each kept track, the
single-person stages on that track's frames (left/right repair, robust triangulation, the
fit of ``--method``, export) -> ``people.json`` and a colour-coded contact sheet.

Outputs (OUT):

* ``person_<k>/`` for each kept person, ``k = 0..N-1`` in order of first appearance: the
  single-person files (``smpl_params.npz``, ``joints3d.npz``, ``report.json``, ``cameras.yaml``)
  over the frames from the track's first to its last sighting (``frame_ids`` inside say which);
* ``people.json``: every 3D track (kept or dropped, with the reason), every 2D-only track
  (camera, frames), per-person figures (frames, median reprojection, height) and timings;
* ``overlays/contact_sheet.png`` with ``--render``: each person's fitted body and skeleton in
  its own colour (:data:`PERSON_COLOURS`), other detections in grey.

With ``--max-people 1`` (the default) none of this runs: :func:`mvmocap.reconstruct.run` is
the single-person pipeline, its outputs unchanged.
"""

from __future__ import annotations

import functools
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mvmocap.errors import InputError
from mvmocap.io.atomic import atomic_write_text

PERSON_COLOURS = ((40, 40, 230), (230, 120, 30), (40, 200, 40), (200, 40, 200), (30, 200, 230), (230, 230, 40))


@dataclass
class PeopleResult:
    """What :func:`run_people` produced (the files are in ``out``)."""

    out: Path
    people: list[dict]
    summary: dict
    timings: dict[str, float] = field(default_factory=dict)


def run_people(videos_dir, out, *, rig, body_model, calibration, keypoints_dir, config,
               progress: bool = True) -> PeopleResult:
    """Reconstruct up to ``config.detect.max_people`` people; see the module docstring.

    ``rig`` (loaded from ``calibration``) and ``body_model`` come from the pipeline's checks, which
    also ran :func:`check_people_inputs`.
    """
    from mvmocap.associate import associate, select_tracks, track
    from mvmocap.reconstruct.pipeline import _detect, _rig_for, log_stage

    cfg = config
    out = Path(out)
    timings: dict[str, float] = {}
    start = time.perf_counter()

    log = functools.partial(log_stage, progress)
    tick = time.perf_counter()
    d = cfg.detect
    sync = None
    if d.sync == "auto":  # cameras not started together: offsets from the main person, everyone resampled
        from mvmocap.reconstruct.people_sync import detect_and_synchronise

        people, sync, rig = detect_and_synchronise(videos_dir, out, keypoints_dir, cfg, rig, progress)
    else:
        people = _detect(videos_dir, out, keypoints_dir, cfg, progress)  # PeopleDetections, as max_people > 1
    timings["detect"] = time.perf_counter() - tick
    if rig is None:  # --calibrate-from-joints
        tick = time.perf_counter()
        rig = people_cameras(people, out, cfg, progress)
        timings["cameras"] = time.perf_counter() - tick
    else:
        rig = _rig_for(rig, calibration, people)
    people = people.subset_cameras(rig.names)

    tick = time.perf_counter()
    clusters = associate(people.keypoints, people.boxes, rig)
    timings["associate"] = time.perf_counter() - tick
    tick = time.perf_counter()
    tracking = track(clusters, people.keypoints, people.boxes, rig)
    kept, dropped = select_tracks(tracking, d.max_people, d.min_track_frames)
    kept.sort(key=lambda t: (t.frame_span[0], t.id))
    timings["track"] = time.perf_counter() - tick
    log(f"{len(tracking.tracks)} 3D track(s), {len(kept)} kept, {len(tracking.tracks_2d)} 2D-only track(s)")
    if not kept:
        warnings.warn("nobody was seen in 3D (two cameras or more) long enough: no person reconstructed; "
                      "people.json lists what was seen", stacklevel=2)

    persons, fits = [], []
    tick = time.perf_counter()
    for k, person_track in enumerate(kept):
        first, last = person_track.frame_span
        detections = people.select(person_track.slots).subset_frames(np.arange(first, last + 1))
        summary, fit = reconstruct_person(detections, rig, out / f"person_{k}", body_model, cfg, calibration,
                                          keypoints_dir, progress)
        fits.append((first, fit))
        persons.append({"person": k, "track": person_track.id, "folder": f"person_{k}",
                        "first_frame": int(people.frame_ids[first]), "last_frame": int(people.frame_ids[last]),
                        "frames_3d": person_track.frames_3d, "reentries": person_track.reentries,
                        "body_size_m": person_track.size_m, **summary})
        log(f"person {k}: frames {persons[-1]['first_frame']}..{persons[-1]['last_frame']}, median reprojection "
            f"{summary['median_reprojection_fit_px']:.1f} px, height {summary['height_m']:.2f} m")
    timings["fit_and_export"] = time.perf_counter() - tick
    if cfg.export.render and kept:
        tick = time.perf_counter()
        from mvmocap.reconstruct.people_render import render_people_overlays

        render_people_overlays(out, videos_dir, people, rig, kept, fits, body_model, cfg)
        timings["render"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - start
    summary = _write_people_json(out, people, tracking, kept, dropped, persons, timings, sync)
    return PeopleResult(out, persons, summary, timings)


def people_cameras(people, out: Path, cfg, progress: bool):
    """Cameras from every person's joints (:func:`~mvmocap.reconstruct.people_calibrate.calibrate_people_cameras`),
    cached in ``OUT/stages`` like the single-person calibration."""
    from mvmocap.geometry.camera import CameraRig
    from mvmocap.reconstruct.people_calibrate import calibrate_people_cameras
    from mvmocap.reconstruct.pipeline import log_stage
    from mvmocap.reconstruct.stage_cache import StageCache, stage_key

    d = cfg.detect
    cache = StageCache(out)
    key = stage_key("people-calibration/1", people.keypoints, people.image_sizes, cfg.subject_height_m,
                    d.max_people, d.min_track_frames)
    cached = cache.load("calibration", key)
    if cached is not None:
        return CameraRig(tuple(str(n) for n in cached["names"]),
                         *(torch.from_numpy(cached[k]) for k in ("K", "dist", "R", "t", "sizes")))
    found = calibrate_people_cameras(people, height_m=cfg.subject_height_m, max_people=d.max_people,
                                     min_track_frames=d.min_track_frames)
    rig = found.result.rig
    log_stage(progress, f"cameras from the joints of {found.rounds[-1]['people']} people "
              f"({len(found.rounds)} rounds after a one-person start), median reprojection "
              f"{np.median([c.reprojection_px for c in found.result.report.cameras]):.1f} px")
    cache.save("calibration", key, {"names": np.array(rig.names),
                                    **{k: getattr(rig, k).numpy() for k in ("K", "dist", "R", "t", "sizes")}})
    return rig


def check_people_inputs(calibrate_from_joints: bool, videos_dir=None, sync: str = "none") -> None:
    """Refuse what the multi-person path does not do, before any work."""
    if videos_dir is None:
        raise InputError("--max-people > 1 needs the videos folder (keypoints-only input is read as one person)")


def reconstruct_person(detections, rig, out: Path, body_model, cfg, calibration, keypoints_dir, progress: bool):
    """The single-person stages after detection, on one person's :class:`Detections`, into ``out``."""
    from mvmocap.detect.left_right import fix_left_right
    from mvmocap.reconstruct import pipeline

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    detections, flips = fix_left_right(detections, rig)
    keypoints = pipeline._keypoints_tensor(detections, cfg.triangulation.min_confidence)
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2], threshold_px=cfg.triangulation.threshold_px)
    timings["triangulate"] = time.perf_counter() - tick
    tick = time.perf_counter()
    fit = pipeline._fit(keypoints, rig, body_model, tri, detections, cfg, out, progress)
    timings["fit"] = time.perf_counter() - tick
    tick = time.perf_counter()
    fit_err = rig.reprojection_errors(fit.keypoints3d.detach().to(torch.float64), keypoints[..., :2])
    compared = pipeline._comparison_mask(keypoints, tri, fit.params.valid.cpu())
    summary = pipeline._export(out, detections, rig, tri, fit, fit_err, compared, body_model, cfg)
    summary["left_right_swaps_repaired"] = int(flips.sum())
    timings["export"] = time.perf_counter() - tick
    pipeline._write_report(out, detections, rig, tri, fit, fit_err, compared, summary, timings, cfg, calibration,
                           keypoints_dir, flips)
    return summary, fit


def _write_people_json(out: Path, people, tracking, kept, dropped, persons, timings, sync=None) -> dict:
    kept_ids = {t.id: k for k, t in enumerate(kept)}
    tracks = [{"track": t.id, "person": kept_ids.get(t.id), "frames_3d": t.frames_3d,
               "first_frame": int(people.frame_ids[t.frame_span[0]]), "last_frame": int(people.frame_ids[t.frame_span[1]]),
               "body_size_m": t.size_m, "reentries": t.reentries, "dropped": dropped.get(t.id)}
              for t in tracking.tracks]
    tracks_2d = [{"track": t.id, "camera": people.camera_names[t.camera], "frames": t.frames}
                 for t in tracking.tracks_2d]
    detect_s = float(people.seconds.sum()) if people.seconds is not None else None
    summary = {
        "people": len(kept), "tracks_3d": len(tracking.tracks), "tracks_2d": len(tracks_2d),
        "detector_seconds": detect_s,
        "association_and_tracking_seconds": timings["associate"] + timings["track"],
    }
    if detect_s:
        summary["association_and_tracking_share_of_detection"] = summary["association_and_tracking_seconds"] / detect_s
    record = {"summary": summary, "sync": None if sync is None else sync.to_dict(), "persons": persons,
              "tracks_3d": tracks, "tracks_2d": tracks_2d,
              "timings_s": {k: round(v, 3) for k, v in timings.items()}}
    atomic_write_text(out / "people.json", json.dumps(record, indent=1, allow_nan=True).replace("NaN", "null"))
    return summary
