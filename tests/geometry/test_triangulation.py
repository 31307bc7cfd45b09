import cv2
import numpy as np
import pytest
import torch

from mvmocap.geometry.camera import Camera, CameraRig
from mvmocap.geometry.triangulation import reprojection_errors, triangulate, triangulate_robust
from tests.conftest import ring_cameras


def random_points(generator, shape):
    centre = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    return torch.randn(shape + (3,), generator=generator, dtype=torch.float64) * 0.5 + centre


@pytest.mark.parametrize("shape", [(), (1,), (2, 3)])
@pytest.mark.parametrize("method", ["linear", "svd"])
def test_noise_free_points_are_recovered(shape, method, rig4, generator):
    X = random_points(generator, shape + (17,))
    uv = rig4.project(X)
    assert uv.shape == shape + (4, 17, 2)
    X_hat = rig4.triangulate(uv, method=method)
    assert X_hat.shape == shape + (17, 3)
    assert (X_hat - X).abs().max() < 1e-6


def test_svd_method_matches_opencv_triangulate_points(rng, generator):
    # With K = I and no distortion, OpenCV's DLT solves exactly our system.
    cams = ring_cameras(2, rng, distortion=False)
    cams = [Camera(c.name, np.eye(3), np.zeros(5), c.R, c.t, c.size) for c in cams]
    rig = CameraRig.from_cameras(cams)
    X = random_points(generator, (50,))
    xy = rig.project(X) + torch.randn(2, 50, 2, generator=generator, dtype=torch.float64) * 2e-3
    ours = rig.triangulate(xy, method="svd").numpy()
    P = [np.hstack([c.R, c.t[:, None]]) for c in cams]
    h = cv2.triangulatePoints(P[0], P[1], xy[0].numpy().T, xy[1].numpy().T)
    theirs = (h[:3] / h[3]).T
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    linear = rig.triangulate(xy).numpy()
    assert np.abs(linear - theirs).max() < 1e-2  # both least squares, slightly different objectives


def test_zero_confidence_views_are_ignored(rig4, generator):
    X = random_points(generator, (17,))
    uv = rig4.project(X)
    conf = torch.ones(4, 17, dtype=torch.float64)
    uv[2] += 300.0  # garbage in camera 3...
    conf[2] = 0.0  # ...marked missing
    assert (rig4.triangulate(uv, conf) - X).abs().max() < 1e-6


def test_fewer_than_two_views_gives_zero_not_nan(rig4, generator):
    X = random_points(generator, (5,))
    uv = rig4.project(X)
    conf = torch.zeros(4, 5, dtype=torch.float64)
    conf[0, :] = 1.0
    conf[1, :2] = 1.0  # points 0, 1 have two views; 2..4 one
    for method in ("linear", "svd"):
        X_hat = rig4.triangulate(uv, conf, method=method)
        assert torch.isfinite(X_hat).all()
        assert (X_hat[2:] == 0).all()
        assert (X_hat[:2] - X[:2]).abs().max() < 1e-6


def test_confidence_weights_pull_towards_confident_views(rig4, generator):
    X = random_points(generator, (1,))
    uv = rig4.project(X)
    uv[0] += 15.0
    low = torch.tensor([[0.1], [1.0], [1.0], [1.0]], dtype=torch.float64)
    high = torch.ones(4, 1, dtype=torch.float64)
    err_low = (rig4.triangulate(uv, low) - X).norm()
    err_high = (rig4.triangulate(uv, high) - X).norm()
    assert err_low < err_high


def test_robust_triangulation_drops_the_outlier_view(rig4, generator):
    X = random_points(generator, (3, 17))
    uv = rig4.project(X)
    uv[1, 2, 5] += torch.tensor([250.0, -180.0], dtype=torch.float64)  # frame 1, camera 3, joint 5
    plain = rig4.triangulate(uv)
    assert (plain[1, 5] - X[1, 5]).norm() > 0.01
    result = rig4.triangulate_robust(uv, threshold_px=10.0)
    assert (result.points - X).abs().max() < 1e-6
    assert not result.used[1, 2, 5]
    assert int(result.used.sum()) == 3 * 4 * 17 - 1
    assert result.errors[1, 2, 5] > 200
    assert (result.confidence == 1.0).all()


def test_robust_marks_unfixable_two_view_points_unconfident(rng, generator):
    rig = CameraRig.from_cameras(ring_cameras(2, rng))
    X = random_points(generator, (4,))
    uv = rig.project(X)
    uv[0, 1] += 80.0
    result = triangulate_robust(uv, torch.ones(2, 4, dtype=torch.float64), rig.K, rig.dist, rig.R, rig.t, threshold_px=10.0)
    assert result.confidence[1] == 0
    assert (result.confidence[[0, 2, 3]] == 1).all()


def test_reprojection_errors_shape_and_zero_on_exact_data(rig4, generator):
    X = random_points(generator, (2, 3, 17))
    uv = rig4.project(X)
    err = reprojection_errors(X, uv, rig4.K, rig4.dist, rig4.R, rig4.t)
    assert err.shape == (2, 3, 4, 17)
    assert err.max() < 1e-8


def test_gradcheck_triangulate(rig4, generator):
    X = random_points(generator, (3,))
    uv = rig4.project(X).detach().requires_grad_(True)
    conf = torch.rand(4, 3, generator=generator, dtype=torch.float64).add(0.5).requires_grad_(True)

    def fn(uv, conf):
        return triangulate(uv, conf, rig4.K, rig4.dist, rig4.R, rig4.t)

    assert torch.autograd.gradcheck(fn, (uv, conf))


def test_float32_is_accurate_enough(rig4, generator):
    X = random_points(generator, (100, 17))
    rig32 = rig4.to(torch.float32)
    X_hat = rig32.triangulate(rig32.project(X.float()))
    assert (X_hat.double() - X).abs().max() < 1e-3
