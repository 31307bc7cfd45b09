"""Sub-frame offsets with known cameras from several people at once.

:func:`mvmocap.sync.refine.refine_offsets` minimises the robust triangulation residual of one person's
per-camera tracks over the offsets. Cameras started at different times see everyone late by the same
offset, so with several people the cost combines every person's residual: each person is triangulated on
their own (never two people's joints together) with their own outlier truncation, and the people's mean
truncated squared errors are averaged (:class:`SummedCost`). The idea: people moving differently make the
cost sharper where one person barely moves. On the shared two-person capture it did not help (README,
"Several people"), so the main person's refinement stays the default
(``mvmocap.reconstruct.people_sync.EVERYONE``). The search (a grid then golden section, one camera at a
time, a few sweeps) and the block-bootstrap uncertainty are those of :mod:`mvmocap.sync.refine`.

``track_sets``: one list of :class:`~mvmocap.sync.tracks.CameraTrack` per person, each in the rig's camera
order and over each camera's own frames (confidence 0 where the person is not seen by that camera).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mvmocap.geometry.camera import CameraRig
from mvmocap.sync.refine import RefineSettings, ResidualCost, evaluation_frames, search_offsets
from mvmocap.sync.smooth import unswap_in_time
from mvmocap.sync.swaps import unswap_with_cameras
from mvmocap.sync.tracks import CameraTrack


class SummedCost:
    """Every person's :class:`ResidualCost` as one function of the offsets: the mean over the people of each one's
    mean truncated squared reprojection error (a person seen in few views weighs as much as one seen in many, and
    an observation appearing or vanishing at a whole-frame shift of a patchy track moves only that person's mean;
    pooling every observation instead measured worse on the shared capture, README); ``per_frame`` concatenates
    the people's frames (the block bootstrap)."""

    def __init__(self, costs: list[ResidualCost]):
        self.costs = costs

    def scale_truncation(self, offsets: np.ndarray) -> None:
        """Each person's own truncation (``TRUNCATE_MEDIANS`` x their median error): a person the detector sees
        badly does not loosen the outlier limit of the others."""
        for cost in self.costs:
            cost.scale_truncation(offsets)

    def per_frame(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [cost.per_frame(offsets) for cost in self.costs]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def __call__(self, offsets: np.ndarray) -> float:
        return float(np.mean([cost(offsets) for cost in self.costs]))


def refine_offsets_jointly(track_sets: list[list[CameraTrack]], rig: CameraRig, ratios: np.ndarray,
                           start: np.ndarray, fixed: list[int], settings: RefineSettings | None = None,
                           ) -> tuple[np.ndarray, np.ndarray, float]:
    """Sub-frame offsets ``(C,)`` from every person's tracks, their bootstrap standard deviations ``(C,)`` (0 for
    ``fixed`` cameras) and the final cost (px^2); arguments as :func:`mvmocap.sync.refine.refine_offsets`, with one
    list of per-camera tracks per person (each over the cameras' own frames; ``track_sets[0]`` sets the evaluated
    timeline frames)."""
    s = settings or RefineSettings()
    offsets = np.asarray(start, np.float64).copy()
    frames = evaluation_frames(track_sets[0], offsets, ratios, s.window + 1, s.max_frames)
    costs = []
    for tracks in track_sets:
        if s.unswap_with_cameras:
            tracks = [replace(t, keypoints=unswap_in_time(t.keypoints)) for t in tracks]
            tracks, _ = unswap_with_cameras(tracks, rig, ratios, offsets, min_confidence=s.min_confidence,
                                            threshold_px=s.truncate_px)
        costs.append(ResidualCost(tracks, rig, ratios, frames, s))
    cost = SummedCost(costs)
    cost.scale_truncation(offsets)
    return search_offsets(cost, offsets, fixed, s)
