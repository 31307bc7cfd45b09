import numpy as np

from mvmocap.calibrate.bundle_adjust import OFFSET, _Problem
from mvmocap.calibrate.pinhole import Pinholes
from mvmocap.calibrate.timed import TimedObservations, fill_gaps


def _tracks(rng, frames=(30, 20), joints=3):
    uv = [rng.normal(0, 50, (f, joints, 2)) for f in frames]
    weight = [rng.uniform(0.5, 1.0, (f, joints)) for f in frames]
    return uv, weight


def test_fill_gaps_interpolates_between_seen_samples_and_holds_the_ends():
    uv = np.zeros((5, 2, 2))
    uv[:, 0, 0] = [0, 0, 0, 3, 0]
    uv[:, 0, 1] = [0, 2, 0, 6, 0]
    weight = np.array([[0, 1], [1, 1], [0, 1], [1, 1], [0, 0]], float)
    out = fill_gaps(uv, weight)
    assert np.allclose(out[:, 0, 0], [0, 0, 1.5, 3, 3])  # seen at frames 1 and 3: linear between, held outside
    assert np.allclose(out[:, 0, 1], [2, 2, 4, 6, 6])
    assert np.allclose(out[:, 1], 0)  # never seen: stays 0


def test_values_are_linear_between_samples_and_the_rate_is_the_offset_derivative():
    rng = np.random.default_rng(0)
    uv, weight = _tracks(rng)
    timing = TimedObservations.from_tracks(uv, weight, [1.0, 1.5], np.arange(3, 20), [True, False])
    offsets = np.array([0.0, 1.3])
    values, rates = timing.at(offsets)
    s = (np.arange(3, 20) - 1.3) / 1.5  # camera 1's own fractional frames
    lo = np.floor(s).astype(int)
    expected = uv[1][lo] + (s - lo)[:, None, None] * (uv[1][lo + 1] - uv[1][lo])
    assert np.allclose(values[1], expected)
    assert np.allclose(values[0], uv[0][3:20])
    eps = 1e-6
    numeric = (timing.at(offsets + [0, eps])[0] - timing.at(offsets - [0, eps])[0]) / (2 * eps)
    assert np.allclose(rates[1], numeric[1], atol=1e-5)
    assert np.allclose(numeric[0], 0.0)  # camera 0's offset did not change


def test_weights_are_zero_outside_the_span_and_next_to_a_missing_sample():
    rng = np.random.default_rng(1)
    uv, weight = _tracks(rng, frames=(10, 10), joints=1)
    weight[1][4, 0] = 0.0
    timing = TimedObservations.from_tracks(uv, weight, [1.0, 1.0], np.arange(10), [True, False])
    w = timing.weights_at(np.array([0.0, 0.5]))[1, :, 0]  # camera 1 at own frames -0.5, 0.5, ..., 8.5
    assert w[0] == 0  # before its first frame
    assert w[4] == 0 and w[5] == 0  # 3.5 and 4.5 touch the missing frame 4
    assert np.isclose(w[1], min(weight[1][0, 0], weight[1][1, 0]))
    w_exact = timing.weights_at(np.array([0.0, 0.0]))[1, :, 0]
    assert np.allclose(w_exact, weight[1][:, 0])  # on the samples: their own confidence


def test_the_bundle_adjustment_jacobian_of_an_offset_matches_finite_differences():
    rng = np.random.default_rng(2)
    C, F, J = 2, 6, 23
    uv, weight = _tracks(rng, frames=(12, 12), joints=J)
    timing = TimedObservations.from_tracks(uv, weight, [1.0, 1.0], np.arange(2, 2 + F), [True, False])
    offsets = np.array([0.0, 0.3])
    u0, r0 = timing.at(offsets)
    w0 = timing.weights_at(offsets)
    cams = Pinholes(np.stack([np.eye(3)] * C), np.array([[0, 0, 4.0], [0.1, 0, 4.0]]), np.full((C, 2), 1000.0))
    problem = _Problem(u0, w0, np.ones((F, J), bool), 0, False, 1e6, 0.06, timing=timing)
    X = rng.normal(0, 0.3, (F, J, 3))
    _, _, _, _, r = problem.observation_residuals(cams, X, offsets)
    eps = 1e-6
    r_plus = problem.observation_residuals(cams, X, offsets + [0, eps])[-1]
    r_minus = problem.observation_residuals(cams, X, offsets - [0, eps])[-1]
    numeric = (r_plus - r_minus) / (2 * eps)
    analytic = -problem.sw[:, None] * problem.targets(offsets)[1]
    moved = problem.oc == 1  # camera 1's observations, between its samples (offset 0.3)
    assert moved.sum() > 50
    assert np.allclose(numeric[moved], analytic[moved], atol=1e-4)
    assert np.allclose(numeric[~moved], 0.0)
    assert problem.global_free[1 * 8 + OFFSET] and not problem.global_free[OFFSET]  # camera 0's offset is held


def test_the_gaussian_kernel_reading_has_the_offset_derivative_and_no_pull_towards_half_frames():
    rng = np.random.default_rng(3)
    frames = np.arange(40.0)
    clean = np.stack([np.sin(frames / 5.0), np.cos(frames / 7.0)], -1)[:, None, :] * 100  # (40, 1, 2)
    weight = np.ones((40, 1))
    weight[17] = 0.0  # a gap: the kernel reads through it
    noisy = clean + rng.normal(0, 1.0, clean.shape)
    timing = TimedObservations.from_tracks([noisy, noisy], [weight, weight], [1.0, 1.0], np.arange(8, 32),
                                           [True, False], kernel_sigma=1.0)
    offsets = np.array([0.0, 0.37])
    values, rates = timing.at(offsets)
    eps = 1e-6
    numeric = (timing.at(offsets + [0, eps])[0] - timing.at(offsets - [0, eps])[0]) / (2 * eps)
    assert np.allclose(rates[1], numeric[1], atol=1e-5)
    assert np.isfinite(values).all() and np.abs(values[0, 9]).max() > 1  # frame 17, missing, is read from its neighbours
    # the noise left at a whole frame and half-way between frames is about the same (linear: ~0.71 x half-way)
    many = [rng.normal(0, 1.0, (40, 200, 2)) for _ in range(2)]
    ones = np.ones((40, 200))
    noise = TimedObservations.from_tracks(many, [ones, ones], [1.0, 1.0], np.arange(8, 32), [True, False],
                                          kernel_sigma=1.0)
    whole, half = noise.at(np.array([0.0, 0.5]))[0]
    assert 0.9 < half.std() / whole.std() < 1.1
