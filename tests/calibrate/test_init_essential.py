"""Essential matrices chained through the view graph (OpenCV RANSAC + PnP)."""

from __future__ import annotations

import numpy as np

from mvmocap.calibrate.init_essential import init_from_essential, pair_geometry
from mvmocap.calibrate.observations import prepare_observations
from mvmocap.calibrate.synthetic import make_capture

from .conftest import rotation_errors_deg


def test_pair_geometry_matches_the_true_relative_pose():
    cap = make_capture(2, 40, seed=5, noise_px=0.5, outliers=0.0, swaps=0.0)
    obs = prepare_observations(cap.detections, cap.rig)
    pair = pair_geometry(obs, 0, 1)
    R = cap.rig.R.numpy()
    t = cap.rig.t.numpy()
    R_rel = R[1] @ R[0].T
    t_rel = t[1] - R_rel @ t[0]
    angle = np.degrees(np.arccos(np.clip((np.trace(pair.R @ R_rel.T) - 1) / 2, -1, 1)))
    assert angle < 0.5
    assert np.dot(pair.t, t_rel / np.linalg.norm(t_rel)) > 0.999
    assert pair.parallax_deg > 10


def test_init_from_essential_places_every_camera(capture4, observations4):
    cams = init_from_essential(observations4)
    assert cams is not None
    assert rotation_errors_deg(cams.R, capture4.rig.R.numpy()).max() < 3.0
