"""Left/right swaps: the views whose labels disagree with the others are found and flipped."""

from __future__ import annotations

import numpy as np
import torch

from mvmocap.calibrate.observations import prepare_observations
from mvmocap.calibrate.pinhole import Pinholes
from mvmocap.calibrate.swaps import find_swaps
from mvmocap.calibrate.synthetic import make_capture


def _truth(rig):
    return Pinholes(rig.R.numpy(), rig.t.numpy(), torch.stack([rig.K[:, 0, 0], rig.K[:, 1, 1]], -1).numpy())


def _agree(found: np.ndarray, swapped: np.ndarray) -> float:
    """Fraction of frames whose views end up with consistent labels (all flipped or none)."""
    relative = found ^ swapped
    return float((relative.all(0) | ~relative.any(0)).mean())


def test_swapped_views_are_found_with_four_cameras():
    cap = make_capture(4, 50, seed=21, swaps=0.1)
    obs = prepare_observations(cap.detections, cap.rig)
    found = find_swaps(_truth(cap.rig), obs)
    assert _agree(found, cap.swapped) >= 0.96
    assert found.sum() <= cap.swapped.sum() + 3


def test_two_cameras_only_need_to_agree():
    cap = make_capture(2, 50, seed=22, swaps=0.15)
    obs = prepare_observations(cap.detections, cap.rig)
    found = find_swaps(_truth(cap.rig), obs)
    assert _agree(found, cap.swapped) >= 0.9
