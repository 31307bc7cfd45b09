"""The global bundle adjustment: analytic gradient, convergence, focal lengths, bone priors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvmocap.calibrate.bundle_adjust import CAMERA_DOF, _Problem, bone_groups, bundle_adjust
from mvmocap.calibrate.pinhole import Pinholes, rodrigues, triangulate
from mvmocap.keypoints import COCO23, COCO23_LIMBS, flip_permutation

from .conftest import rotation_errors_deg


def test_bone_groups_pair_each_bone_with_its_mirror():
    limbs, group = bone_groups()
    perm = flip_permutation(COCO23)
    for (i, j), g in zip(limbs, group):
        mirror = sorted((perm[i], perm[j]))
        k = [sorted(b) for b in limbs.tolist()].index(mirror)
        assert group[k] == g
    assert len(set(group.tolist())) < len(COCO23_LIMBS)


def _truth(capture):
    rig = capture.rig
    return Pinholes(rig.R.numpy(), rig.t.numpy(), torch.stack([rig.K[:, 0, 0], rig.K[:, 1, 1]], -1).numpy())


def test_normal_equations_hold_the_exact_gradient(observations4, capture4):
    """b = J^T W r is the gradient of the Huber cost: compare with central differences."""
    obs = observations4
    rng = np.random.default_rng(0)
    cams = _truth(capture4)
    cams = Pinholes(rodrigues(rng.normal(0, 0.02, (4, 3))) @ cams.R, cams.t + rng.normal(0, 0.05, (4, 3)), cams.focal)
    X = capture4.joints + rng.normal(0, 0.02, capture4.joints.shape)
    valid = (obs.weight > 0).sum(0) >= 2
    X = np.where(valid[..., None], X, 0.0)
    problem = _Problem(obs.uv, obs.weight, valid, 0, True, 4.0, 0.06)
    log_l = rng.normal(-1.5, 0.3, problem.G)
    l0 = -1.4
    _, _, _, b_g, b_f = problem.normal_equations(cams, X, log_l, l0)

    def cost_with(delta_cam=None, delta_x=None, delta_l=None):
        c = cams
        if delta_cam is not None:
            c = Pinholes(rodrigues(delta_cam[:, :3]) @ cams.R, cams.t + delta_cam[:, 3:6], cams.focal * np.exp(delta_cam[:, 6:7]))
        x = X if delta_x is None else X + delta_x
        ll = log_l if delta_l is None else log_l + delta_l
        return problem.cost(c, x, ll, l0)

    h = 1e-6
    for cam, dof in [(1, 0), (2, 4), (3, 6), (0, 2)]:
        d = np.zeros((4, CAMERA_DOF))
        d[cam, dof] = h
        numeric = (cost_with(delta_cam=d) - cost_with(delta_cam=-d)) / (2 * h)
        assert b_g[cam * CAMERA_DOF + dof] == pytest.approx(numeric, rel=1e-4, abs=1e-3)
    f, j = np.argwhere(valid)[7]
    for axis in range(3):
        d = np.zeros_like(X)
        d[f, j, axis] = h
        numeric = (cost_with(delta_x=d) - cost_with(delta_x=-d)) / (2 * h)
        assert b_f[f, 3 * j + axis] == pytest.approx(numeric, rel=1e-4, abs=1e-3)
    for g in (0, problem.G - 1):
        d = np.zeros(problem.G)
        d[g] = h
        numeric = (cost_with(delta_l=d) - cost_with(delta_l=-d)) / (2 * h)
        assert b_g[4 * CAMERA_DOF + g] == pytest.approx(numeric, rel=1e-4, abs=1e-3)


@pytest.mark.parametrize("optimise_focal", [False, True])
def test_adjustment_from_a_perturbed_start_recovers_the_cameras(observations4, capture4, optimise_focal):
    obs = observations4.flipped(capture4.swapped)  # swaps are handled elsewhere
    rng = np.random.default_rng(1)
    truth = _truth(capture4)
    focal = truth.focal * (np.exp(rng.normal(0, 0.08, (4, 1))) if optimise_focal else 1.0)
    start = Pinholes(rodrigues(rng.normal(0, 0.03, (4, 3))) @ truth.R, truth.t + rng.normal(0, 0.1, (4, 3)), focal)
    start = Pinholes(np.concatenate([truth.R[:1], start.R[1:]]), np.concatenate([truth.t[:1], start.t[1:]]), focal)
    points, valid = triangulate(start, obs.uv, obs.weight, threshold_px=40)
    result = bundle_adjust(start, obs.uv, obs.weight, points, valid, fixed_camera=0, optimise_focal=optimise_focal)
    assert rotation_errors_deg(result.cams.R, truth.R).max() < 0.5
    if optimise_focal:
        assert np.abs(result.cams.focal / truth.focal - 1).max() < 0.03
    used = (obs.weight > 0) & result.valid[None]
    assert np.median(result.errors[used]) < 4.0
    # fixed gauge: the reference camera did not move
    np.testing.assert_allclose(result.cams.R[0], truth.R[0], atol=1e-12)
