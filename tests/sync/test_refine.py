import numpy as np
import pytest

from mvmocap.sync.refine import TRUNCATE_MEDIANS, RefineSettings, ResidualCost
from mvmocap.sync.synthetic import make_unsynced_capture


@pytest.mark.parametrize("noise_px", [1.0, 40.0])
def test_the_truncation_follows_the_noise_and_never_drops_below_the_setting(noise_px):
    true = np.array([0.0, 1.5, -2.0])
    cap = make_unsynced_capture(true, num_frames=40, seed=6, noise_px=noise_px)
    cost = ResidualCost(cap.tracks, cap.rig, np.ones(3), np.arange(3, 35), RefineSettings())
    before = cost(true)
    tau = cost.scale_truncation(true)
    if noise_px == 1.0:
        assert tau == 20.0 and cost(true) == before
    else:  # 40 px per axis, smoothed in time and partly absorbed by the triangulation: median residual ~11 px
        assert 25.0 < tau < TRUNCATE_MEDIANS * noise_px and cost(true) > before


def test_the_cost_is_lowest_near_the_true_offset_for_every_interpolation():
    true = np.array([0.0, 2.3, -1.6])
    cap = make_unsynced_capture(true, num_frames=60, seed=8, noise_px=1.0)
    grid = true[1] + np.arange(-1.0, 1.01, 0.1)
    for interpolation in ("gaussian", "linear", "cubic"):
        cost = ResidualCost(cap.tracks, cap.rig, np.ones(3), np.arange(5, 50), RefineSettings(interpolation=interpolation))
        values = [cost(np.array([0.0, g, true[2]])) for g in grid]
        assert abs(grid[int(np.argmin(values))] - true[1]) <= 0.1
    with pytest.raises(ValueError, match="unknown interpolation"):
        ResidualCost(cap.tracks, cap.rig, np.ones(3), np.arange(5, 50), RefineSettings(interpolation="spline"))
