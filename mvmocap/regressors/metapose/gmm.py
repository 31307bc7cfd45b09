"""Per-joint 2D uncertainty as spherical Gaussian mixtures (MetaPose section 3.1, 8.2, 8.6).

A view's joint ``j`` is described by ``M`` components: means ``(..., M, 2)``, standard deviations
``(..., M)`` and weights ``(..., M)`` summing to 1, in the view's 2D units (the normalised units of
:mod:`mvmocap.regressors.metapose.inputs`: the person's box side is 1).

* points (BlazePose): ``M = 1`` centred on the detection with the std the realistic noise model
  (:class:`mvmocap.synth.realistic.RealisticNoise`) gives at that confidence (:func:`point_gmm`);
  a missing joint (confidence 0) gets a broad, uninformative component;
* heatmaps (detectron2, synthetic): ``M`` components fitted by the weighted EM of section 8.2
  (:func:`fit_gmm_em`).

:func:`gmm_log_likelihood` is the numerically stable log-density of section 8.6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.synth.realistic import RealisticNoise

MISSING_SIGMA = 1.0  # std of a missing joint's component: the size of the whole person
OUTLIER_SIGMA = 0.3  # std of the optional outlier component of a point (box units)
MIN_SIGMA = 1e-3  # no component narrower than this (normalised units, 0.1 % of the box)
LOG_EPS = 1e-12  # the epsilon of section 8.6


@dataclass(frozen=True)
class JointGMM:
    """``M``-component spherical mixtures, one per (view, joint).

    Attributes:
        means: ``(..., C, J, M, 2)``; sigmas: ``(..., C, J, M)`` > 0; weights: ``(..., C, J, M)``, sum 1.
    """

    means: Tensor
    sigmas: Tensor
    weights: Tensor

    @property
    def components(self) -> int:
        return self.weights.shape[-1]

    def features(self) -> Tensor:
        """``(..., C, J * M * 4)``: per component mean x, mean y, log sigma, weight (the network's input)."""
        parts = torch.cat([self.means, self.sigmas.log()[..., None], self.weights[..., None]], -1)
        return parts.flatten(-3)

    def permuted(self, order: Tensor) -> "JointGMM":
        """Views reordered by ``order (C,)`` (the view axis is the one before J)."""
        return JointGMM(self.means[..., order, :, :, :], self.sigmas[..., order, :, :], self.weights[..., order, :, :])


def point_sigma(confidence: Tensor, noise: RealisticNoise | None = None) -> Tensor:
    """Std ``(..., J)`` in box units of a detected point with ``confidence (..., J)`` (COCO-17 order):
    the noise model's ``sigma_j * (1 + low_confidence_gain * ((1 - c) / 0.5)^2)`` at difficulty 0."""
    noise = noise or RealisticNoise()
    J = confidence.shape[-1]
    base = torch.tensor(noise.sigma[:J], dtype=confidence.dtype, device=confidence.device)
    c = confidence.clamp(0.0, 1.0)
    return base * (1.0 + noise.low_confidence_gain * ((1.0 - c) / 0.5) ** 2)


def point_gmm(keypoints: Tensor, confidence: Tensor, noise: RealisticNoise | None = None,
              outlier_weight: float = 0.0) -> JointGMM:
    """Mixtures from points: ``keypoints (..., C, J, 2)`` normalised units, ``confidence (..., C, J)``.

    ``M = 1`` (the issue's choice for point detectors), or with ``outlier_weight > 0`` ``M = 2``: the
    same component with weight ``1 - outlier_weight`` plus a broad one (std :data:`OUTLIER_SIGMA`)
    at the detection, room for swaps and wrong detections (an option, not the paper's)."""
    seen = confidence > 0
    sigma = torch.where(seen, point_sigma(confidence, noise), torch.full_like(confidence, MISSING_SIGMA))
    means = torch.where(seen[..., None], keypoints, torch.zeros_like(keypoints))[..., None, :]
    sigmas, weights = sigma.clamp(min=MIN_SIGMA)[..., None], torch.ones_like(sigma)[..., None]
    if outlier_weight > 0:
        means = torch.cat([means, means], -2)
        sigmas = torch.cat([sigmas, torch.where(seen, OUTLIER_SIGMA, MISSING_SIGMA)[..., None].to(sigmas)], -1)
        weights = torch.cat([weights * (1 - outlier_weight), weights * outlier_weight], -1)
    return JointGMM(means, sigmas, weights)


def gmm_log_likelihood(x: Tensor, gmm: JointGMM) -> Tensor:
    """``log p(x)`` ``(..., C, J)`` of points ``x (..., C, J, 2)`` under the mixtures (section 8.6):
    ``LSE_r[log(w_r / (2 pi s_r^2) + eps) - |x - mu_r|^2 / (2 s_r^2)]``."""
    sq = ((x[..., None, :] - gmm.means) ** 2).sum(-1)  # (..., C, J, M)
    var = gmm.sigmas**2
    terms = torch.log(gmm.weights / (2.0 * math.pi * var) + LOG_EPS) - sq / (2.0 * var)
    return torch.logsumexp(terms, -1)


def fit_gmm_em(heatmaps: Tensor, components: int = 4, iterations: int = 30) -> tuple[Tensor, Tensor, Tensor]:
    """Weighted EM of spherical mixtures to 2D histograms (section 8.2).

    The grid points ``x_i`` (pixel centres, x then y) weighted by ``p_i`` (the heatmap, normalised
    to sum 1) are the samples: E-step ``eta_im ~ w_m N(x_i | mu_m, s_m^2 I)``, weighted M-step
    ``w_m = sum_i eta_im p_i``, ``mu_m = sum_i eta_im p_i x_i / w_m``,
    ``s_m^2 = sum_i eta_im p_i |x_i - mu_m|^2 / (2 w_m)`` (per axis).

    Args:
        heatmaps: ``(..., H, W)`` non-negative.
        components: M; iterations: EM steps.

    Returns:
        ``means (..., M, 2)`` px, ``sigmas (..., M)`` px, ``weights (..., M)``. An all-zero heatmap
        gives one broad component at the centre (weight 1, the others weight 0).
    """
    *lead, H, W = heatmaps.shape
    dtype, device = heatmaps.dtype, heatmaps.device
    ys, xs = torch.meshgrid(torch.arange(H, dtype=dtype, device=device), torch.arange(W, dtype=dtype, device=device),
                            indexing="ij")
    grid = torch.stack([xs, ys], -1).reshape(-1, 2)  # (N, 2)
    p = heatmaps.reshape(*lead, -1).clamp(min=0)
    total = p.sum(-1, keepdim=True)
    empty = total[..., 0] <= 0
    p = torch.where(empty[..., None], torch.full_like(p, 1.0 / p.shape[-1]), p / total.clamp(min=1e-30))
    # deterministic start: the weighted mean, spread by half the weighted std along the diagonals
    mean = p @ grid  # (..., 2)
    spread = (p @ grid**2 - mean**2).clamp(min=1e-6).sqrt()
    offsets = torch.tensor([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=dtype, device=device)
    ring = 0.5 * (1 + torch.arange(components, device=device) // 4)  # 4 diagonals, then further out
    offsets = offsets[torch.arange(components) % 4] * ring[:, None].to(dtype)
    mu = mean[..., None, :] + offsets * spread[..., None, :]  # (..., M, 2)
    var = (spread**2).mean(-1, keepdim=True).expand(*lead, components).clone()
    w = torch.full((*lead, components), 1.0 / components, dtype=dtype, device=device)
    for _ in range(iterations):
        sq = ((grid[:, None, :] - mu[..., None, :, :]) ** 2).sum(-1)  # (..., N, M)
        log_r = torch.log(w[..., None, :] + LOG_EPS) - torch.log(var[..., None, :]) - sq / (2 * var[..., None, :])
        eta = torch.softmax(log_r, -1) * p[..., None]  # (..., N, M): eta_im * p_i
        mass = eta.sum(-2).clamp(min=1e-30)  # (..., M)
        w = mass / mass.sum(-1, keepdim=True)
        mu = torch.einsum("...nm,nk->...mk", eta, grid) / mass[..., None]
        sq = ((grid[:, None, :] - mu[..., None, :, :]) ** 2).sum(-1)
        var = ((eta * sq).sum(-2) / (2 * mass)).clamp(min=MIN_SIGMA**2)
    if empty.any():
        broad = torch.zeros_like(w)
        broad[..., 0] = 1.0
        centre = torch.tensor([(W - 1) / 2, (H - 1) / 2], dtype=dtype, device=device)
        w = torch.where(empty[..., None], broad, w)
        mu = torch.where(empty[..., None, None], centre.expand_as(mu), mu)
        var = torch.where(empty[..., None], torch.full_like(var, float(max(H, W)) ** 2), var)
    return mu, var.sqrt(), w


def heatmap_gmm(heatmaps: Tensor, crops: Tensor, centre: Tensor, box: Tensor, components: int = 4,
                iterations: int = 30) -> JointGMM:
    """``M``-component mixtures fitted to heatmaps (:func:`fit_gmm_em`), in each view's normalised units.

    Args:
        heatmaps: ``(..., C, J, S, S)`` over square crops ``crops (..., C, 3)`` (cx, cy, side) px, pixel
            ``i`` of the heatmap covering full-image ``[cx - side/2 + i * side/S, ... + side/S]`` (the
            convention of :func:`mvmocap.synth.evidence.crop_transform`).
        centre: ``(..., C, 2)`` px and box ``(..., C)`` px: the views' normalisation
            (:func:`mvmocap.regressors.metapose.inputs.normalise_views`).

    An empty heatmap (a missing joint) gives the broad missing-joint component.
    """
    S = heatmaps.shape[-1]
    mu, sigma, w = fit_gmm_em(heatmaps, components, iterations)  # heatmap px
    px_per_cell = (crops[..., 2] / S)[..., None, None]  # (..., C, 1, 1)
    origin = (crops[..., :2] - crops[..., 2:3] / 2)[..., None, None, :]  # (..., C, 1, 1, 2)
    full = (mu + 0.5) * px_per_cell[..., None] + origin
    means = (full - centre[..., None, None, :]) / box[..., None, None, None]
    sigmas = (sigma * px_per_cell / box[..., None, None]).clamp(min=MIN_SIGMA)
    empty = (heatmaps.flatten(-2).sum(-1) <= 0)[..., None]  # (..., C, J, 1)
    broad = torch.zeros_like(w)
    broad[..., 0] = 1.0
    return JointGMM(torch.where(empty[..., None], torch.zeros_like(means), means),
                    torch.where(empty, torch.full_like(sigmas, MISSING_SIGMA), sigmas), torch.where(empty, broad, w))
