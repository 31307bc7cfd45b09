"""Left/right swap handling: find the views whose left and right labels disagree with the others.

2D detectors sometimes label a person's left side as right in one view (a
back view looks like a front view). Given cameras, a view is flipped when
triangulating with its labels swapped explains the frame's joints clearly
better. Only the agreement between views matters: bone lengths are shared
by left and right, so a frame whose views are all swapped is harmless.
"""

from __future__ import annotations

import numpy as np

from mvmocap.calibrate.observations import Observations
from mvmocap.calibrate.pinhole import Pinholes, reprojection_errors, triangulate

SWAP_GAIN = 0.7  # the flipped labelling must cost less than this fraction of the current one


def frame_costs(cams: Pinholes, obs: Observations, cap_px: float) -> np.ndarray:
    """``(F,)`` sum over views and joints of the truncated squared reprojection error."""
    points, valid = triangulate(cams, obs.uv, obs.weight, threshold_px=cap_px)
    errors = np.minimum(reprojection_errors(cams, points, obs.uv), cap_px)
    errors = np.where(valid[None], errors, cap_px)
    return np.where(obs.weight > 0, errors**2, 0.0).sum((0, 2))


def find_swaps(cams: Pinholes, obs: Observations, *, cap_px: float = 30.0) -> np.ndarray:
    """``(C, F)`` bool: the views to flip so that all views of a frame agree on left and right.

    Cameras are visited in turn; each flip is kept only when it lowers the
    frame's robust cost below ``SWAP_GAIN`` times its cost before.
    """
    C, F = obs.weight.shape[:2]
    swaps = np.zeros((C, F), dtype=bool)
    current = obs
    cost = frame_costs(cams, current, cap_px)
    for c in range(C):
        trial_views = np.zeros((C, F), dtype=bool)
        trial_views[c] = True
        trial = current.flipped(trial_views)
        trial_cost = frame_costs(cams, trial, cap_px)
        better = trial_cost < SWAP_GAIN * cost
        if better.any():
            views = np.zeros((C, F), dtype=bool)
            views[c] = better
            current = current.flipped(views)
            swaps[c] ^= better
            cost = np.where(better, trial_cost, cost)
    return swaps
