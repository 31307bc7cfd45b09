import numpy as np
import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.camera import Camera, CameraRig
from mvmocap.geometry.rotations import axis_angle_to_matrix
from tests.conftest import ring_cameras


def test_rejects_invalid_cameras(rng):
    good = ring_cameras(1, rng)[0]
    with pytest.raises(InputError, match="not a rotation"):
        Camera("a", good.K, good.dist, good.R * 1.01, good.t, good.size)
    with pytest.raises(InputError, match="det"):
        Camera("a", good.K, good.dist, -good.R, good.t, good.size)
    bad_K = good.K.copy()
    bad_K[0, 0] = 0
    with pytest.raises(InputError, match="focal"):
        Camera("a", bad_K, good.dist, good.R, good.t, good.size)
    with pytest.raises(InputError, match="size"):
        Camera("a", good.K, good.dist, good.R, good.t, (0, 10))
    with pytest.raises(InputError, match="non-finite"):
        Camera("a", good.K, good.dist, good.R, good.t * np.nan, good.size)
    with pytest.raises(InputError, match="duplicate"):
        CameraRig.from_cameras([good, good])


def test_short_distortion_is_zero_padded(rng):
    good = ring_cameras(1, rng)[0]
    cam = Camera("a", good.K, [0.1, 0.01, 0.0, 0.0], good.R, good.t, good.size)
    np.testing.assert_array_equal(cam.dist, [0.1, 0.01, 0.0, 0.0, 0.0])


def test_rig_round_trips_to_cameras(rng):
    cams = ring_cameras(3, rng)
    back = CameraRig.from_cameras(cams).cameras()
    for a, b in zip(cams, back):
        assert a.name == b.name and a.size == b.size
        for attr in ("K", "dist", "R", "t"):
            np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))


def test_similarity_transform_keeps_projections(rig4, generator):
    X = torch.randn(17, 3, generator=generator, dtype=torch.float64) * 0.4
    Q = axis_angle_to_matrix(torch.tensor([0.2, -0.5, 1.3], dtype=torch.float64))
    s, u = torch.tensor(2.5, dtype=torch.float64), torch.tensor([1.0, -2.0, 0.3], dtype=torch.float64)
    moved = rig4.transformed(s, Q, u)
    X_moved = s * X @ Q.T + u
    assert torch.allclose(moved.project(X_moved), rig4.project(X), atol=1e-8)
    assert torch.allclose(moved.centers(), s * rig4.centers() @ Q.T + u, atol=1e-10)


def test_subset_and_index(rig4):
    sub = rig4.subset(["cam03", "cam01"])
    assert sub.names == ("cam03", "cam01")
    assert torch.equal(sub.K[0], rig4.K[2])
    with pytest.raises(InputError, match="cam01, cam02"):
        rig4.index("nope")


def test_depths_positive_in_front(rig4):
    origin = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    assert (rig4.depths(origin) > 0).all()
    behind = rig4.centers()[0] + (rig4.centers()[0] - origin[0])
    assert rig4.depths(behind[None])[0, 0] < 0


def test_wrong_view_count_is_a_clear_error(rig4):
    with pytest.raises(InputError, match="4-camera rig"):
        rig4.triangulate(torch.zeros(3, 17, 2))
