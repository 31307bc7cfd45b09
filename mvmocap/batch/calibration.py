"""One calibration from the people of every trial (``mvmocap batch --calibrate-from-joints``).

The cameras do not move within a session, so their poses are estimated once, from the
detections of all trials put end to end: more frames and more poses than any one trial
holds. The result is ``OUT/calibration/cameras.yaml`` (native format), which every trial
then reads like a calibration file.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.io.atomic import atomic_write_text
from mvmocap.reconstruct.stage_cache import stage_key

CAMERAS_FILE = "cameras.yaml"
SIZE_TOLERANCE = 0.05  # as reconstruct's calibration against video (mvmocap.reconstruct.pipeline.SIZE_TOLERANCE)


def concatenate_trials(per_trial: list[Detections]) -> Detections:
    """The trials' detections end to end, over the cameras they all have.

    Frame ids are renumbered 0..F-1 (the trials share no timeline). A camera missing
    from some trial is dropped with a warning; cameras whose image size differs between
    trials are an :class:`InputError` (a different camera, or a resized video).
    """
    common, parts, sizes = common_cameras(per_trial)
    frames = sum(d.num_frames for d in parts)
    return Detections(
        camera_names=tuple(common),
        frame_ids=np.arange(frames),
        keypoints=np.concatenate([d.keypoints for d in parts], axis=1),
        boxes=np.concatenate([d.boxes for d in parts], axis=1),
        image_sizes=sizes,
        fps=np.asarray(parts[0].fps),
        detector=parts[0].detector,
    )


def common_cameras(per_trial: list) -> tuple[list[str], list, np.ndarray]:
    """The cameras every trial has (in the first trial's order), each trial restricted to them
    (``subset_cameras``: :class:`Detections` or :class:`~mvmocap.detect.people.PeopleDetections`), and their
    image sizes (:func:`session_image_sizes`). A camera missing from some trial is dropped with a warning; fewer
    than 2 common cameras, or no trial, is an :class:`InputError`."""
    if not per_trial:
        raise InputError("no trial detections to calibrate from")
    common = [n for n in per_trial[0].camera_names if all(n in d.camera_names for d in per_trial)]
    dropped = sorted({n for d in per_trial for n in d.camera_names} - set(common))
    if dropped:
        warnings.warn(f"camera(s) {', '.join(dropped)} missing from some trials: not used for the session calibration",
                      stacklevel=3)
    if len(common) < 2:
        raise InputError(f"the trials share {len(common)} camera(s); a session calibration needs at least 2")
    parts = [d.subset_cameras(common) for d in per_trial]
    return common, parts, session_image_sizes(parts, common)


def session_image_sizes(parts, names) -> np.ndarray:
    """``(C, 2)`` each camera's image size over the trials: the largest. Sizes within ``SIZE_TOLERANCE`` are the
    same camera's pixels cropped or padded at the right or bottom edge (as ``reconstruct`` reads a calibration
    whose size differs from the video's; e.g. Pose2Sim's batch trials, 1080 and 1088 px wide), with a warning;
    a larger difference (a resized or rotated video) is an :class:`InputError`."""
    every = np.stack([np.asarray(d.image_sizes) for d in parts])  # (trials, C, 2)
    sizes = every.max(0)
    changed = [c for c in range(len(names)) if (every[:, c] != sizes[c]).any()]
    refused = [names[c] for c in changed if (every[:, c] / sizes[c] < 1 - SIZE_TOLERANCE).any()]
    if refused:
        raise InputError(f"camera(s) {', '.join(refused)} change image size between trials by more than "
                         f"{SIZE_TOLERANCE:.0%}; calibrate such trials separately")
    if changed:
        seen = [" / ".join(sorted({f"{w}x{h}" for w, h in every[:, c]})) for c in changed]
        warnings.warn("camera(s) " + ", ".join(f"{names[c]} ({s} px)" for c, s in zip(changed, seen))
                      + " change image size between trials: taken as the same pixels cropped at the edge",
                      stacklevel=4)
    return sizes


def calibrate_session(per_trial: list[Detections], out_dir: str | Path, height_m: float, *, progress: bool = True) -> Path:
    """Estimate the cameras once from all trials; write and return ``out_dir/cameras.yaml``.

    A rerun with the same detections and height reuses the file (``key.txt`` beside it).
    """
    from mvmocap.calibrate.from_joints import calibrate_from_joints
    from mvmocap.io.calibration import save_rig

    out_dir = Path(out_dir)
    joined = concatenate_trials(per_trial)
    key = stage_key("session-calibration/1", joined.keypoints, joined.image_sizes, height_m)
    cameras, key_file = out_dir / CAMERAS_FILE, out_dir / "key.txt"
    if cameras.is_file() and key_file.is_file() and key_file.read_text().strip() == key:
        return cameras
    result = calibrate_from_joints(joined, None, height_m=height_m, progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_rig(result.rig, cameras)
    atomic_write_text(out_dir / "report.json", json.dumps(
        {"trials": len(per_trial), "frames": joined.num_frames, **result.report.to_dict()}, indent=1, default=str))
    atomic_write_text(key_file, key + "\n")
    return cameras
