"""``compare_calibrations``: similarity alignment on camera centres and per-camera errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.evaluate.calibration import align_similarity, compare_calibrations
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.rotations import axis_angle_to_matrix


def random_similarity(rng: np.random.Generator):
    Q = axis_angle_to_matrix(torch.as_tensor(rng.normal(size=3)))
    return float(rng.uniform(0.3, 3.0)), Q, torch.as_tensor(rng.normal(size=3) * 5)


def test_identical_rigs_have_no_error(rig4):
    result = compare_calibrations(rig4, rig4)
    assert result.mean_rotation_error_deg < 1e-5
    assert result.mean_center_error_pct < 1e-6
    assert result.mean_focal_error_pct == 0
    assert result.matched_by == "name"


@pytest.mark.parametrize("num_cameras", [2, 3, 4])
def test_a_similarity_of_the_world_is_not_an_error(rng, num_cameras):
    from tests.conftest import ring_cameras

    rig = CameraRig.from_cameras(ring_cameras(num_cameras, rng))
    s, Q, u = random_similarity(rng)
    moved = rig.transformed(s, Q, u)
    result = compare_calibrations(moved, rig)
    assert result.mean_rotation_error_deg < 1e-5
    assert result.mean_center_error_pct < 1e-5
    assert result.scale == pytest.approx(1 / s, rel=1e-9)


def test_a_rotated_camera_shows_its_angle(rig4, rng):
    s, Q, u = random_similarity(rng)
    moved = rig4.transformed(s, Q, u)
    tilt = axis_angle_to_matrix(torch.as_tensor([0.0, np.radians(3.0), 0.0], dtype=torch.float64))
    R = moved.R.clone()
    R[1] = tilt @ R[1]
    t = moved.t.clone()
    t[1] = -R[1] @ moved.centers()[1]  # same centre, new orientation
    perturbed = CameraRig(moved.names, moved.K, moved.dist, R, t, moved.sizes)
    result = compare_calibrations(perturbed, rig4)
    errors = [c.rotation_error_deg for c in result.cameras]
    assert errors[1] == pytest.approx(3.0, abs=1e-6)
    assert max(errors[0], errors[2], errors[3]) < 1e-6


def test_focal_error_in_percent_and_the_distance_unit(rig4):
    centers = rig4.centers()
    distance = float((centers - centers.mean(0)).norm(dim=1).mean())
    K = rig4.K.clone()
    K[0, 0, 0] *= 1.10
    K[0, 1, 1] *= 1.10
    result = compare_calibrations(CameraRig(rig4.names, K, rig4.dist, rig4.R, rig4.t, rig4.sizes), rig4)
    assert result.cameras[0].focal_error_pct == pytest.approx(10.0, rel=1e-6)
    assert result.cameras[1].focal_error_pct == 0
    assert result.mean_camera_distance_m == pytest.approx(distance)


def test_centre_error_in_percent_of_the_mean_camera_distance(rig4):
    centers = rig4.centers()
    distance = float((centers - centers.mean(0)).norm(dim=1).mean())
    moved = centers.clone()
    moved[0, 2] += 0.1 * distance
    moved[2, 2] -= 0.1 * distance  # symmetric: the best similarity stays close to the identity
    t = -(rig4.R @ moved.unsqueeze(-1)).squeeze(-1)
    result = compare_calibrations(CameraRig(rig4.names, rig4.K, rig4.dist, rig4.R, t, rig4.sizes), rig4)
    errors = np.array([c.center_error_pct for c in result.cameras])
    # whatever the alignment, the residuals are a fit of two 10 % displacements over 4 cameras
    assert 0 < errors.max() <= 10.0 + 1e-9
    np.testing.assert_allclose([c.center_error_m / distance * 100 for c in result.cameras], errors)


def test_cameras_matched_by_name_then_by_order(rig4):
    shuffled = rig4.subset(["cam03", "cam01", "cam04", "cam02"])
    assert compare_calibrations(shuffled, rig4).mean_rotation_error_deg < 1e-5
    renamed = CameraRig(("a", "b", "c", "d"), rig4.K, rig4.dist, rig4.R, rig4.t, rig4.sizes)
    result = compare_calibrations(renamed, rig4)
    assert result.matched_by == "order" and result.mean_rotation_error_deg < 1e-5
    with pytest.raises(InputError, match="cannot match"):
        compare_calibrations(renamed.subset(["a", "b", "c"]), rig4)


def test_alignment_maps_centres(rig4, rng):
    s, Q, u = random_similarity(rng)
    moved = rig4.transformed(s, Q, u)
    scale, rotation, translation = align_similarity(moved, rig4)
    mapped = scale * moved.centers().numpy() @ rotation.T + translation
    np.testing.assert_allclose(mapped, rig4.centers().numpy(), atol=1e-9)


def test_table_lists_every_camera(rig4):
    text = compare_calibrations(rig4, rig4).to_text()
    assert all(name in text for name in rig4.names) and "mean" in text
