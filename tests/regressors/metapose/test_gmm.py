"""Per-joint Gaussian mixtures: point mixtures, the stable log-likelihood, weighted EM on heatmaps."""

from __future__ import annotations

import math

import torch

from mvmocap.regressors.metapose.gmm import MISSING_SIGMA, JointGMM, fit_gmm_em, gmm_log_likelihood, point_gmm, point_sigma


def test_point_sigma_grows_as_confidence_falls():
    s = point_sigma(torch.tensor([[1.0] * 17, [0.5] * 17]))
    assert (s[1] > s[0]).all()


def test_point_gmm_missing_joint_is_broad():
    kp = torch.randn(2, 3, 17, 2, dtype=torch.float64) * 0.2
    conf = torch.ones(2, 3, 17, dtype=torch.float64)
    conf[1, 2, 4] = 0
    g = point_gmm(kp, conf)
    assert g.means.shape == (2, 3, 17, 1, 2) and g.components == 1
    assert g.sigmas[1, 2, 4, 0] == MISSING_SIGMA and g.means[1, 2, 4].abs().sum() == 0
    assert g.features().shape == (2, 3, 17 * 4)


def test_log_likelihood_matches_a_gaussian_density_and_is_stable_far_away():
    g = JointGMM(torch.zeros(1, 1, 1, 2, dtype=torch.float64), torch.full((1, 1, 1), 0.5, dtype=torch.float64),
                 torch.ones(1, 1, 1, dtype=torch.float64))
    x = torch.tensor([[[0.3, -0.4]]], dtype=torch.float64)
    expected = -math.log(2 * math.pi * 0.25) - 0.25 / (2 * 0.25)
    torch.testing.assert_close(gmm_log_likelihood(x, g), torch.tensor([[expected]], dtype=torch.float64))
    far = gmm_log_likelihood(torch.full((1, 1, 2), 1e4, dtype=torch.float64), g)
    assert torch.isfinite(far).all()


def test_log_likelihood_gradcheck():
    g = JointGMM(torch.randn(1, 2, 2, 2, dtype=torch.float64), torch.rand(1, 2, 2, dtype=torch.float64) + 0.2,
                 torch.tensor([[[0.3, 0.7], [0.5, 0.5]]], dtype=torch.float64))
    x = torch.randn(1, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: gmm_log_likelihood(x, g), (x,))


def test_em_recovers_two_blobs():
    H = W = 48
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    blob = lambda cx, cy, s: torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * s * s))  # noqa: E731
    heat = 0.7 * blob(12, 30, 2.0) / (2 * math.pi * 4) + 0.3 * blob(35, 10, 3.0) / (2 * math.pi * 9)
    mu, sigma, w = fit_gmm_em(heat[None], components=4, iterations=60)
    # the two heaviest components (or merged pairs) sit on the blobs
    for cx, cy, share in ((12, 30, 0.7), (35, 10, 0.3)):
        near = ((mu[0] - torch.tensor([cx, cy], dtype=torch.float64)).norm(dim=-1) < 1.5)
        assert near.any()
        assert abs(float(w[0][near].sum()) - share) < 0.05
    empty_mu, empty_sigma, empty_w = fit_gmm_em(torch.zeros(1, 8, 8))
    assert torch.isfinite(empty_mu).all() and empty_w[0, 0] == 1 and empty_sigma[0, 0] >= 8


def test_point_gmm_with_an_outlier_component_is_heavy_tailed():
    kp = torch.zeros(1, 1, 17, 2, dtype=torch.float64)
    conf = torch.ones(1, 1, 17, dtype=torch.float64)
    plain, robust = point_gmm(kp, conf), point_gmm(kp, conf, outlier_weight=0.1)
    assert robust.components == 2 and torch.allclose(robust.weights.sum(-1), torch.ones(1, 1, 17, dtype=torch.float64))
    near = torch.zeros(1, 1, 17, 2, dtype=torch.float64)
    far = torch.full((1, 1, 17, 2), 0.5, dtype=torch.float64)
    assert (gmm_log_likelihood(near, robust) < gmm_log_likelihood(near, plain)).all()  # a little less sure near
    assert (gmm_log_likelihood(far, robust) > gmm_log_likelihood(far, plain) + 100).all()  # far less surprised far away


def test_heatmap_mixtures_land_on_the_keypoints_in_normalised_units():
    from mvmocap.regressors.metapose.gmm import heatmap_gmm
    from mvmocap.regressors.metapose.inputs import normalise_views
    from mvmocap.synth.evidence import gaussian_heatmaps, square_crops, to_crop

    g = torch.Generator().manual_seed(0)
    kp = 300 + 200 * torch.rand(1, 2, 17, 2, generator=g, dtype=torch.float64)
    conf = torch.ones(1, 2, 17, dtype=torch.float64)
    conf[0, 1, 5] = 0
    crops = square_crops(torch.cat([kp.amin(-2), kp.amax(-2)], -1))
    S = 32
    heat = gaussian_heatmaps(to_crop(kp, crops, S), conf, S, sigma=1.0)
    norm, centre, box = normalise_views(kp, conf)
    gmm = heatmap_gmm(heat, crops, centre, box, components=2, iterations=20)
    mean = (gmm.means * gmm.weights[..., None]).sum(-2)
    seen = conf > 0
    assert (mean - norm)[seen].norm(dim=-1).max() < 0.01  # within 1 % of the person's box
    assert gmm.sigmas[0, 1, 5, 0] == MISSING_SIGMA and gmm.weights[0, 1, 5, 0] == 1
