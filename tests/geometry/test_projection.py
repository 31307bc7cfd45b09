import cv2
import numpy as np
import pytest
import torch

from mvmocap.geometry.projection import (
    camera_centers,
    distort_normalized,
    project_points,
    undistort_points,
    world_to_camera,
)
from tests.conftest import ring_cameras


def as_t(x):
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


@pytest.mark.parametrize("shape", [(), (1,), (2, 3)])
def test_project_matches_opencv(shape, rng):
    cam = ring_cameras(1, rng)[0]
    points = rng.normal(0, 0.5, shape + (17, 3)) + np.array([0, 0, 1.0])
    ours = project_points(as_t(points), as_t(cam.K), as_t(cam.dist), as_t(cam.R), as_t(cam.t)).numpy()
    assert ours.shape == shape + (17, 2)
    rvec = cv2.Rodrigues(cam.R)[0]
    theirs, _ = cv2.projectPoints(points.reshape(-1, 3), rvec, cam.t, cam.K, cam.dist)
    np.testing.assert_allclose(ours.reshape(-1, 2), theirs.reshape(-1, 2), atol=1e-8)


def test_project_broadcasts_over_cameras(rng):
    cams = ring_cameras(3, rng)
    K, dist, R, t = (as_t(np.stack([getattr(c, a) for c in cams])) for a in ("K", "dist", "R", "t"))
    points = as_t(rng.normal(0, 0.5, (5, 1, 17, 3)))  # (F, 1, J, 3) against (C, ...)
    uv = project_points(points, K, dist, R, t)
    assert uv.shape == (5, 3, 17, 2)
    one = project_points(points[:, 0], K[1], dist[1], R[1], t[1])
    assert torch.allclose(uv[:, 1], one)


def test_undistort_matches_opencv_and_inverts_distortion(rng):
    cam = ring_cameras(1, rng)[0]
    pixels = rng.uniform([0, 0], [1080, 1920], (200, 2))
    ours = undistort_points(as_t(pixels), as_t(cam.K), as_t(cam.dist)).numpy()
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-14)
    undistort = getattr(cv2, "undistortPointsIter", None)  # OpenCV 4.x name; 5.x folds it into undistortPoints
    if undistort is not None:
        theirs = undistort(pixels.reshape(-1, 1, 2), cam.K, cam.dist, None, None, criteria)
    else:
        theirs = cv2.undistortPoints(pixels.reshape(-1, 1, 2), cam.K, cam.dist, None, None, None, criteria)
    theirs = theirs.reshape(-1, 2)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    redistorted = distort_normalized(as_t(ours), as_t(cam.dist)).numpy()
    back = redistorted @ cam.K[:2, :2].T + cam.K[:2, 2]
    np.testing.assert_allclose(back, pixels, atol=1e-6)


def test_camera_centre_maps_to_camera_origin(rng):
    cams = ring_cameras(4, rng)
    R, t = as_t(np.stack([c.R for c in cams])), as_t(np.stack([c.t for c in cams]))
    C = camera_centers(R, t)
    in_camera = world_to_camera(C.unsqueeze(-2), R, t)
    assert in_camera.abs().max() < 1e-12


def test_points_behind_camera_give_finite_pixels(rng):
    cam = ring_cameras(1, rng)[0]
    behind = as_t(cam.center - 2 * cam.viewing_direction)[None]
    uv = project_points(behind, as_t(cam.K), as_t(cam.dist), as_t(cam.R), as_t(cam.t))
    assert torch.isfinite(uv).all()


def test_gradcheck_project_points(rng):
    cam = ring_cameras(1, rng)[0]
    points = as_t(rng.normal(0, 0.5, (4, 3)) + [0, 0, 1.0]).requires_grad_(True)
    K, dist, R, t = (as_t(getattr(cam, a)).requires_grad_(True) for a in ("K", "dist", "R", "t"))
    assert torch.autograd.gradcheck(project_points, (points, K, dist, R, t))


def test_projection_jacobian_matches_autodiff_with_distortion():
    from mvmocap.geometry.projection import project_points, project_points_jacobian

    g = torch.Generator().manual_seed(11)
    C, N = 3, 6
    K = torch.tensor([[800.0, 0.5, 320.0], [0.0, 780.0, 240.0], [0.0, 0.0, 1.0]], dtype=torch.float64).expand(C, 3, 3)
    dist = torch.tensor([[-0.2, 0.05, 0.001, -0.002, 0.01]], dtype=torch.float64).expand(C, 5)
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    R = axis_angle_to_matrix(0.3 * torch.randn(C, 3, generator=g, dtype=torch.float64))
    t = torch.tensor([0.1, -0.2, 4.0], dtype=torch.float64).expand(C, 3)
    points = torch.randn(2, 1, N, 3, generator=g, dtype=torch.float64)
    for d in (dist, None):
        pixels, jac = project_points_jacobian(points, K, d, R, t)
        assert jac.shape == (2, C, N, 2, 3)
        torch.testing.assert_close(pixels, project_points(points, K, d, R, t))
        for axis in range(3):
            tangent = torch.zeros_like(points)
            tangent[..., axis] = 1
            _, column = torch.func.jvp(lambda p: project_points(p, K, d, R, t), (points,), (tangent,))
            torch.testing.assert_close(jac[..., axis], column)
