"""One session calibration from every person of every trial (``mvmocap batch --calibrate-from-joints
--max-people N``).

As :mod:`mvmocap.batch.calibration`, the cameras are estimated once from all trials put end to end, here
from everyone's joints (:func:`mvmocap.reconstruct.people_calibrate.calibrate_people_cameras`: a bootstrap
from one person, then rounds of association and calibration from every kept person, each with their own
bone lengths). The trials share cameras, not people, so no track may join a person of one trial to someone
of the next: each trial is associated and tracked in 3D on its own (``segments``; the 3D tracker's re-entry
rule has no time limit and would otherwise give a trial's person the identity of someone of size and place
alike in the trial before), with up to ``max_people`` people kept per trial, and ``SEPARATOR_FRAMES`` empty
frames between two trials end the per-camera 2D tracks of the bootstrap (``mvmocap.associate.tracks_2d.MAX_GAP``
= 10 unseen frames).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mvmocap.batch.calibration import common_cameras
from mvmocap.detect.people import PeopleDetections
from mvmocap.io.atomic import atomic_write_text
from mvmocap.reconstruct.stage_cache import stage_key

SEPARATOR_FRAMES = 15  # empty frames between two trials: more than the 2D tracker bridges (10)


def concatenate_people_trials(per_trial: list[PeopleDetections],
                              separator: int = SEPARATOR_FRAMES) -> PeopleDetections:
    """The trials' people end to end over the cameras they all have, ``separator`` empty frames between
    two trials (frame ids renumbered 0..F-1). The slot axis is padded to the widest trial. A camera missing
    from some trial is dropped with a warning (:func:`mvmocap.batch.calibration.common_cameras`)."""
    common, parts, sizes = common_cameras(per_trial)
    C, P = len(common), max(d.num_slots for d in parts)
    keypoints, boxes = [], []
    for k, d in enumerate(parts):
        pad = ((0, 0), (0, 0), (0, P - d.num_slots))
        keypoints.append(np.pad(d.keypoints, pad + ((0, 0), (0, 0))))
        boxes.append(np.pad(d.boxes, pad + ((0, 0),)))
        if k < len(parts) - 1:  # nobody: no track crosses into the next trial
            keypoints.append(np.zeros((C, separator, P, 23, 3), np.float32))
            boxes.append(np.zeros((C, separator, P, 5), np.float32))
    keypoints, boxes = np.concatenate(keypoints, 1), np.concatenate(boxes, 1)
    return PeopleDetections(tuple(common), np.arange(keypoints.shape[1]), keypoints, boxes, sizes,
                            np.asarray(parts[0].fps), parts[0].detector)


def calibrate_session_people(per_trial: list[PeopleDetections], out_dir: str | Path, height_m: float, max_people: int,
                             *, progress: bool = True) -> Path:
    """Estimate the cameras once from every person of every trial; write and return ``out_dir/cameras.yaml``
    (and ``report.json``: the calibration report, the trials, the people and their 3D frames per round).
    ``height_m`` is the height of the person seen longest in 3D (the metric scale). A rerun with the same
    detections, height and ``max_people`` reuses the file (``key.txt`` beside it)."""
    from mvmocap.batch.calibration import CAMERAS_FILE
    from mvmocap.io.calibration import save_rig
    from mvmocap.reconstruct.people_calibrate import calibrate_people_cameras

    out_dir = Path(out_dir)
    joined = concatenate_people_trials(per_trial)
    key = stage_key("session-calibration-people/1", joined.keypoints, joined.image_sizes, height_m, max_people)
    cameras, key_file = out_dir / CAMERAS_FILE, out_dir / "key.txt"
    if cameras.is_file() and key_file.is_file() and key_file.read_text().strip() == key:
        return cameras
    starts = np.cumsum([0] + [d.num_frames + SEPARATOR_FRAMES for d in per_trial])
    segments = [slice(int(a), int(a) + d.num_frames) for a, d in zip(starts, per_trial)]
    found = calibrate_people_cameras(joined, height_m=height_m, max_people=max_people, progress=progress,
                                     segments=segments)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_rig(found.result.rig, cameras)
    record = {"trials": len(per_trial), "frames": joined.num_frames, "max_people_per_trial": max_people,
              "people": [{"people": r["people"], "frames_3d": r["frames_3d"]} for r in found.rounds],
              **found.result.report.to_dict()}
    atomic_write_text(out_dir / "report.json", json.dumps(record, indent=1, default=str))
    atomic_write_text(key_file, key + "\n")
    return cameras
