"""Gauge: metric scale from height, floor at z = 0, +Z up, origin under the pelvis."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.calibrate.gauge import body_chain_length, fit_gauge
from mvmocap.calibrate.pinhole import Pinholes, rodrigues
from mvmocap.calibrate.synthetic import SYNTHETIC_HEIGHT_M, make_capture


@pytest.mark.parametrize("seed", [0, 1])
def test_gauge_undoes_an_arbitrary_similarity(seed):
    cap = make_capture(3, 80, seed=seed)
    rig = cap.rig
    rng = np.random.default_rng(seed)
    s, Q, u = rng.uniform(0.2, 5.0), rodrigues(rng.normal(size=3)), rng.normal(size=3) * 3
    cams = Pinholes(rig.R.numpy(), rig.t.numpy(), np.ones((3, 2))).transformed(s, Q, u)
    points = s * cap.joints @ Q.T + u
    valid = np.ones(points.shape[:2], dtype=bool)
    gauge = fit_gauge(cams, points, valid, height_m=SYNTHETIC_HEIGHT_M)
    world = gauge.apply_points(points)
    # metres within the anthropometric approximation, +Z up, feet on the floor
    assert gauge.scale * s == pytest.approx(1.0, rel=0.06)
    np.testing.assert_allclose(world[:, 15:, 2].min(1).mean(), 0.0, atol=0.06)
    head_up = world[:, 0, 2] - world[:, 11:13, 2].mean(1)
    assert (head_up > 0.4).all()
    pelvis = world[:, 11:13].mean((0, 1))
    np.testing.assert_allclose(pelvis[:2], 0.0, atol=1e-9)
    # cameras moved consistently: projections unchanged
    moved = gauge.apply_cameras(cams)
    np.testing.assert_allclose(moved.project(world), cams.project(points), atol=1e-6)
    # the true floor normal, once the gauge is undone, is +Z
    up_true = Q @ np.array([0.0, 0.0, 1.0])
    assert np.degrees(np.arccos(np.clip(gauge.Q[2] @ up_true, -1, 1))) < 8.0
    assert np.linalg.det(gauge.Q) == pytest.approx(1.0)


def test_chain_length_scales_with_the_body():
    cap = make_capture(2, 20, seed=3)
    valid = np.ones(cap.joints.shape[:2], dtype=bool)
    assert body_chain_length(2 * cap.joints, valid) == pytest.approx(2 * body_chain_length(cap.joints, valid))
    assert 0.8 < body_chain_length(cap.joints, valid) / SYNTHETIC_HEIGHT_M < 0.95


def test_no_legs_no_scale():
    from mvmocap.errors import InputError

    cap = make_capture(3, 20, seed=4)
    rig = cap.rig
    cams = Pinholes(rig.R.numpy(), rig.t.numpy(), np.ones((3, 2)))
    valid = np.ones(cap.joints.shape[:2], dtype=bool)
    valid[:, 11:] = False  # hips, legs and feet never triangulated
    with pytest.raises(InputError, match="metric scale"):
        fit_gauge(cams, cap.joints, valid)
