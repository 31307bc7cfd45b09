"""Calibration from several people's joints at once.

Every person is a moving set of joints that the cameras must all explain, so several people
constrain the cameras more than one: more points, spread over more of the room and more depths.
The people's frames are stacked along the frame axis (person 0's frames, then person 1's, ...)
and :func:`mvmocap.calibrate.calibrate_from_joints` runs once on the stack:

* the bundle adjustment shares the cameras (and the focal lengths, when estimated) between all
  people, while each person keeps their own bone lengths (``frame_person``);
* the metric scale comes from person 0 and ``height_m`` is person 0's height; the floor and "up"
  come from everyone's feet and bodies.

Who is who across the cameras must be known: each person is a single-person
:class:`~mvmocap.detect.detections.Detections` over the same cameras (for example
``PeopleDetections.select(track.slots)`` after association with first cameras, see
:mod:`mvmocap.reconstruct.people_calibrate`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from mvmocap.calibrate.from_joints import CalibrationResult, calibrate_from_joints
from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig

MAX_FRAMES_PER_PERSON = 200


def stack_people(persons: Sequence[Detections]) -> tuple[Detections, np.ndarray]:
    """The people's frames one after the other, as one :class:`Detections` of ``sum(F_k)`` frames,
    and ``frame_person (sum F_k,)`` int: whose joints each frame holds (the index in ``persons``).

    Raises :class:`InputError` when the people are not seen by the same cameras in the same order.
    """
    if not persons:
        raise InputError("calibration from several people's joints needs at least one person")
    first = persons[0]
    for other in persons[1:]:
        if tuple(other.camera_names) != tuple(first.camera_names):
            raise InputError("every person must be seen by the same cameras, in the same order: "
                             f"{', '.join(first.camera_names)} against {', '.join(other.camera_names)}")

    def stacked(name: str):
        if any(getattr(p, name) is None for p in persons):
            return None
        return np.concatenate([getattr(p, name) for p in persons], axis=1)

    detections = Detections(
        camera_names=first.camera_names,
        frame_ids=np.concatenate([p.frame_ids for p in persons]),
        keypoints=stacked("keypoints"),
        boxes=stacked("boxes"),
        image_sizes=first.image_sizes,
        fps=first.fps,
        detector=first.detector,
        mono3d=stacked("mono3d"),
    )
    frame_person = np.concatenate([np.full(p.num_frames, k, np.int64) for k, p in enumerate(persons)])
    return detections, frame_person


def calibrate_from_people_joints(
    persons: Sequence[Detections],
    intrinsics: CameraRig | None = None,
    height_m: float = 1.70,
    force: bool = False,
    progress: bool | Callable[[str], None] = False,
    *,
    same_focal: bool = False,
    max_frames_per_person: int = MAX_FRAMES_PER_PERSON,
) -> CalibrationResult:
    """Cameras from the joints of every person in ``persons`` (person 0 gives the scale).

    Args:
        persons: one :class:`Detections` per person, the same C >= 2 cameras each (frames
            may differ; a person unseen in a frame has confidence 0 there).
        intrinsics, force, progress, same_focal: as :func:`calibrate_from_joints`.
        height_m: person 0's height, metres.
        max_frames_per_person: frames are subsampled evenly down to this many per person (on average).

    Returns:
        A :class:`CalibrationResult` whose ``points``, ``valid`` and ``frame_ids`` follow the stack.
    """
    detections, frame_person = stack_people(persons)
    return calibrate_from_joints(detections, intrinsics, height_m=height_m, force=force, progress=progress,
                                 same_focal=same_focal, max_frames=max_frames_per_person * len(persons),
                                 frame_person=frame_person)
