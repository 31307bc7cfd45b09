"""A realistic 2D detector model: confidence tied to error, self-occlusion, and detector faults.

:class:`RealisticNoise` turns true projections into detections that look like BlazePose's on the
shared pose2sim demo (``benchmarks/synth_evidence.py`` measures both side by side).

Shapes: ``T`` time steps (``T = 1`` for independent frames), ``C`` views, ``J`` joints (COCO order).
Units: pixels; error scales are fractions of the person's size (the longer side of the box of the
true joints, :func:`mvmocap.synth.evidence.keypoint_box_size`).

The model, per view, time step and joint:

1. a latent difficulty ``z ~ N(0, 1)`` (AR(1) along ``T`` with correlation ``difficulty_time_corr``),
   raised by ``occluded_shift`` where the joint is hidden behind the body;
2. confidence: a Gaussian copula on ``-z`` with correlation ``confidence_corr`` plus a per-joint
   offset, mapped through the demo's pooled confidence quantiles (so the marginal is BlazePose's);
3. error: isotropic Gaussian with std ``sigma_j * exp(error_gain * z) * (1 + low_confidence_gain *
   ((1 - c) / 0.5)^2) * box`` px (an outlier, at ``outlier_rate`` independently of ``z``, with std
   ``outlier_sigma * box``); its direction is AR(1) along ``T`` with correlation ``time_corr``;
4. faults: whole-view left/right swaps, single-limb swaps, the person lost in a view (confidence 0),
   a wrong person's skeleton elsewhere in the image; each as runs along ``T`` (a two-state Markov
   chain with the stationary rate and the mean run length given); for ``T = 1`` a Bernoulli draw at
   the stationary rate;
5. occluded joints dropped (confidence 0) with ``occluded_drop``; keypoints outside the image get
   confidence 0 and x = y = 0.

Missing = confidence 0 and x = y = 0, never NaN. Randomness only from the explicit generator.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.keypoints import COCO17, flip_permutation

# COCO-17 limb chains exchanged by a single-limb swap: (left indices, right indices).
LIMB_PAIRS = (((5, 7, 9), (6, 8, 10)), ((11, 13, 15), (12, 14, 16)))

# Fitted to BlazePose (mediapipe 0.10.14) on ../shared/data/pose2sim_demo (4 Qualisys cameras x 100
# frames) against the reprojection of the robust triangulation with the Qualisys calibration, and
# the z-buffer of the demo's fitted body (/tmp/bench_demo/smpl_params.npz) for occlusion, by
#     python benchmarks/synth_evidence.py
# (2026-12-03). swap_rate / swap_frames: the demo's share of swapped views and their mean run length
# (all in one camera there, runs of 19, 3, 1, 4, 3 and 1 frames). confidence_probs / _values: the
# demo's confidence quantiles. error_gain / confidence_corr / low_confidence_gain / occluded_*:
# chosen so that the synthetic Spearman correlation, the error quantiles per confidence bin and the
# occluded/visible error and confidence match the demo's (see the table in README "Synthetic
# evidence"). time_corr / difficulty_time_corr: chosen so that the frame-to-frame correlation of
# the error and of the confidence come near the demo's (0.64 and 0.999; the triangulated reference
# absorbs part of a persistent error). occluded_drop: BlazePose dropped no joint there. lost / wrong-person rates cannot be measured on
# the demo (BlazePose found the one subject in every view and frame): they are priors.
# Per joint: the mean normal score of its confidences within all joints' (BlazePose is sure of the
# face, shoulders and hips, much less of elbows, wrists, knees and ankles).
_CONF_OFFSET = (
    0.83, 0.62, 0.62, 0.51, 0.49, 1.32, 1.07, -0.58, -0.70, -0.87, -1.02, 0.61, 0.61, -0.85, -0.90, -0.85, -0.91,
)
# Per joint: the demo's median error / box against the robust triangulation's reprojection. Taken
# as sigma directly: the Rayleigh median (1.18 sigma) and the share of the error that the
# 4-view reference absorbs (about 0.85) cancel to within a few per cent (checked by the benchmark).
_SIGMA = (
    0.0225, 0.0229, 0.0220, 0.0168, 0.0181, 0.0164, 0.0193, 0.0197, 0.0145,
    0.0145, 0.0140, 0.0234, 0.0228, 0.0196, 0.0190, 0.0191, 0.0178,
)
_CONF_PROBS = (0.0, 0.02, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50, 0.60, 1.0)
_CONF_VALUES = (0.16, 0.52, 0.80, 0.90, 0.94, 0.96, 0.973, 0.983, 0.994, 0.999, 0.9997, 1.0)


@dataclass(frozen=True)
class RealisticNoise:
    """Parameters of the realistic detector model (see the module docstring).

    Attributes:
        sigma: ``J`` per-joint error std per axis / box at difficulty ``z = 0``.
        error_gain: error std multiplier ``exp(error_gain * z)``.
        confidence_corr: copula correlation between ``-z`` and the confidence's normal score.
        confidence_offset: ``J`` per-joint shifts of the confidence's normal score (the remaining
            spread is scaled so the pooled score stays N(0, 1)).
        confidence_probs, confidence_values: the pooled confidence quantile function (piecewise linear).
        low_confidence_gain: error std multiplier ``1 + gain * ((1 - confidence) / 0.5)^2`` (BlazePose's
            joints below 0.5 have about 3 x the typical error; those at 0.8-0.9 hardly more).
        outlier_rate, outlier_sigma: gross errors (std / box).
        occluded_shift: added to ``z`` of joints hidden behind the body.
        occluded_confidence_shift: subtracted from the confidence's normal score of hidden joints.
        occluded_drop: probability that a hidden joint is dropped (confidence 0).
        swap_rate, swap_frames: whole-view left/right swaps (stationary rate, mean run length in frames).
        limb_swap_rate, limb_swap_frames: one arm or one leg exchanged with its partner.
        lost_rate, lost_frames: the person missed in a view (all joints confidence 0).
        wrong_person_rate, wrong_person_frames: another skeleton elsewhere in the image, confident.
        time_corr: AR(1) correlation of the error from one frame to the next.
        difficulty_time_corr: AR(1) correlation of the latent difficulty and of the confidence's own
            noise (BlazePose's confidence barely changes from frame to frame).
        source: how the figures were obtained.
    """

    sigma: tuple[float, ...] = _SIGMA
    error_gain: float = 0.2
    confidence_corr: float = 0.4
    confidence_offset: tuple[float, ...] = _CONF_OFFSET
    low_confidence_gain: float = 0.6
    confidence_probs: tuple[float, ...] = _CONF_PROBS
    confidence_values: tuple[float, ...] = _CONF_VALUES
    outlier_rate: float = 0.002
    outlier_sigma: float = 0.18
    occluded_shift: float = 0.8
    occluded_confidence_shift: float = 0.3
    occluded_drop: float = 0.0
    swap_rate: float = 0.075
    swap_frames: float = 5.0
    limb_swap_rate: float = 0.005
    limb_swap_frames: float = 3.0
    lost_rate: float = 0.005
    lost_frames: float = 10.0
    wrong_person_rate: float = 0.002
    wrong_person_frames: float = 4.0
    time_corr: float = 0.75
    difficulty_time_corr: float = 0.995
    source: str = "BlazePose on the pose2sim demo (benchmarks/synth_evidence.py, 2026-12-03)"

    def __post_init__(self) -> None:
        if len(self.confidence_probs) != len(self.confidence_values) or len(self.confidence_probs) < 2:
            raise InputError("confidence_probs and confidence_values must be equal-length lists (>= 2)")
        for name in ("outlier_rate", "occluded_drop", "swap_rate", "limb_swap_rate", "lost_rate", "wrong_person_rate"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise InputError(f"realistic noise: {name} must be in [0, 1), got {value}")
        for name in ("swap_frames", "limb_swap_frames", "lost_frames", "wrong_person_frames"):
            if getattr(self, name) < 1.0:
                raise InputError(f"realistic noise: {name} must be >= 1 frame, got {getattr(self, name)}")
        if not -1.0 <= self.confidence_corr <= 1.0:
            raise InputError(f"realistic noise: confidence_corr must be in [-1, 1], got {self.confidence_corr}")
        for name in ("time_corr", "difficulty_time_corr"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise InputError(f"realistic noise: {name} must be in [0, 1), got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, d: dict) -> "RealisticNoise":
        """From a YAML mapping of field overrides (``kind`` ignored); lists become tuples."""
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k != "kind"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(
                f"unknown realistic noise option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        if values:
            values.setdefault("source", "training config (on top of the fitted defaults)")
        return cls(**values)

    def to_dict(self) -> dict:
        return {"kind": "realistic", **asdict(self)}

    def apply(
        self, points: Tensor, box_size: Tensor, visible: Tensor | None, image_size: Tensor,
        generator: torch.Generator | list[torch.Generator],
    ) -> tuple[Tensor, Tensor]:
        """Detections from true projections.

        Args:
            points: ``(T, C, J, 2)`` true pixels.
            box_size: ``(T, C)`` px, the person's size (longer side of the true joints' box).
            visible: ``(T, C, J)`` bool, False = hidden behind the body; None = all visible.
            image_size: ``(C, 2)`` (width, height) px.
            generator: the only source of randomness (CPU generator; results move to ``points``' device).
                A list of ``G`` generators: each owns ``C / G`` consecutive views, and the result equals
                ``G`` separate calls (how the dataset batches independent samples with ``T = 1``).

        Returns:
            ``(points (T, C, J, 2), confidence (T, C, J))``; missing joints have confidence 0 and x = y = 0.
        """
        if points.dim() != 4 or points.shape[-1] != 2:
            raise InputError(f"points must be (T, C, J, 2), got {tuple(points.shape)}")
        T, C, J, _ = points.shape
        if isinstance(generator, (list, tuple)) and C % len(generator):
            raise InputError(f"{len(generator)} generators cannot share {C} views equally")
        if len(self.sigma) < J:
            raise InputError(f"the noise model has {len(self.sigma)} joints, the points {J}")
        dt, dev = points.dtype, points.device
        if visible is None:
            visible = torch.ones(T, C, J, dtype=torch.bool, device=dev)
        draw = _Draws(generator, dt, dev)
        hidden = ~visible.to(dev)

        # 1. latent difficulty; 2. confidence from it (Gaussian copula) through BlazePose's quantiles.
        z = _ar1(draw.normal(T, C, J), self.difficulty_time_corr) + self.occluded_shift * hidden.to(dt)
        rho = self.confidence_corr
        offset = torch.as_tensor((tuple(self.confidence_offset) + (0.0,) * J)[:J], dtype=dt, device=dev)
        spread = math.sqrt(max(1.0 - float(offset.var(unbiased=False)), 0.1)) if J > 1 else 1.0
        own = _ar1(draw.normal(T, C, J), self.difficulty_time_corr)
        score = offset + spread * (-rho * z + math.sqrt(max(1 - rho * rho, 0.0)) * own)
        score = score - self.occluded_confidence_shift * hidden.to(dt)
        conf = _interp(_phi(score), self.confidence_probs, self.confidence_values)

        # 3. the error: scaled by the latent, and more for the least confident joints.
        sigma = torch.as_tensor(self.sigma[:J], dtype=dt, device=dev)
        std = sigma * torch.exp(self.error_gain * z) * (1 + self.low_confidence_gain * ((1 - conf) / 0.5) ** 2)
        outlier = draw.uniform(T, C, J) < self.outlier_rate  # independent of z: BlazePose's gross errors are confident
        std = torch.where(outlier, torch.full_like(std, self.outlier_sigma), std)
        step = _ar1(draw.normal(T, C, J, 2), self.time_corr)
        noisy = points + step * (std * box_size[..., None]).unsqueeze(-1)

        # 4. faults.
        if J >= 17:
            swap = _runs(draw, T, C, self.swap_rate, self.swap_frames)
            perm = torch.as_tensor(flip_permutation(COCO17) + tuple(range(17, J)), device=dev)
            noisy = torch.where(swap[..., None, None], noisy[..., perm, :], noisy)
            conf = torch.where(swap[..., None], conf[..., perm], conf)
            noisy = self._limb_swaps(noisy, draw)
        wrong = _runs(draw, T, C, self.wrong_person_rate, self.wrong_person_frames)
        if self.wrong_person_rate > 0:  # drawn whatever the outcome: the draws never depend on the data
            noisy = torch.where(wrong[..., None, None], _other_person(points, box_size, image_size, draw), noisy)
            hidden = hidden & ~wrong[..., None]
        lost = _runs(draw, T, C, self.lost_rate, self.lost_frames)
        dropped = hidden & (draw.uniform(T, C, J) < self.occluded_drop)
        size = image_size.to(device=dev, dtype=dt)[None, :, None, :]
        outside = ((noisy < 0) | (noisy > size - 1)).any(-1)
        keep = ~(lost[..., None] | dropped | outside)
        conf = torch.where(keep, conf, torch.zeros_like(conf))
        noisy = torch.where(keep[..., None], noisy, torch.zeros_like(noisy))
        return noisy, conf

    def _limb_swaps(self, noisy: Tensor, draw: "_Draws") -> Tensor:
        T, C = noisy.shape[:2]
        for left, right in LIMB_PAIRS:
            swap = _runs(draw, T, C, self.limb_swap_rate / len(LIMB_PAIRS), self.limb_swap_frames)
            perm = list(range(noisy.shape[-2]))
            for a, b in zip(left, right):
                perm[a], perm[b] = b, a
            idx = torch.as_tensor(perm, device=noisy.device)
            noisy = torch.where(swap[..., None, None], noisy[..., idx, :], noisy)
        return noisy


class _Draws:
    """Random draws moved to the target dtype and device. With several generators, each owns an
    equal block of consecutive views (dim 1 of every draw): the values are exactly those that
    separate calls, one per generator, would draw."""

    def __init__(self, generator, dtype: torch.dtype, device: torch.device):
        self.generators = list(generator) if isinstance(generator, (list, tuple)) else [generator]
        self.dtype, self.device = dtype, device

    def _draw(self, fn, shape: tuple[int, ...]) -> Tensor:
        n = len(self.generators)
        if n == 1:
            return fn(shape, generator=self.generators[0], dtype=self.dtype).to(self.device)
        block = (shape[0], shape[1] // n) + tuple(shape[2:])
        return torch.cat([fn(block, generator=g, dtype=self.dtype) for g in self.generators], 1).to(self.device)

    def normal(self, *shape: int) -> Tensor:
        return self._draw(torch.randn, shape)

    def uniform(self, *shape: int) -> Tensor:
        return self._draw(torch.rand, shape)


def _phi(x: Tensor) -> Tensor:
    """Standard normal CDF."""
    return 0.5 * (1 + torch.erf(x / math.sqrt(2.0)))


def _interp(u: Tensor, probs: tuple[float, ...], values: tuple[float, ...]) -> Tensor:
    """Piecewise-linear quantile function through ``(probs, values)`` evaluated at ``u``."""
    p = torch.as_tensor(probs, dtype=u.dtype, device=u.device)
    v = torch.as_tensor(values, dtype=u.dtype, device=u.device)
    i = torch.searchsorted(p, u.clamp(p[0], p[-1]).contiguous()).clamp(1, len(probs) - 1)
    p0, p1, v0, v1 = p[i - 1], p[i], v[i - 1], v[i]
    w = ((u - p0) / (p1 - p0).clamp(min=1e-12)).clamp(0, 1)
    return v0 + w * (v1 - v0)


def _ar1(eps: Tensor, rho: float) -> Tensor:
    """Unit-variance AR(1) along dim 0 of ``eps (T, ...)`` (i.i.d. N(0, 1)) with correlation ``rho``."""
    if eps.shape[0] == 1 or rho == 0.0:
        return eps
    out = [eps[0]]
    scale = math.sqrt(1 - rho * rho)
    for k in range(1, eps.shape[0]):
        out.append(rho * out[-1] + scale * eps[k])
    return torch.stack(out)


def _runs(draw: _Draws, T: int, C: int, rate: float, mean_frames: float) -> Tensor:
    """``(T, C)`` bool events: a two-state Markov chain along ``T`` with stationary share ``rate`` and
    mean run length ``mean_frames``; for ``T = 1`` a Bernoulli draw at ``rate``."""
    u = draw.uniform(T, C)
    if rate <= 0:
        return torch.zeros(T, C, dtype=torch.bool, device=u.device)
    if T == 1:
        return u < rate
    leave = 1.0 / mean_frames
    enter = min(rate * leave / (1 - rate), 1.0)  # stationary share enter / (enter + leave) = rate
    state = [u[0] < rate]
    for k in range(1, T):
        state.append(torch.where(state[-1], u[k] >= leave, u[k] < enter))
    return torch.stack(state)


def _other_person(points: Tensor, box_size: Tensor, image_size: Tensor, draw: _Draws) -> Tensor:
    """``(T, C, J, 2)`` px: a plausible other skeleton per view (the true one mirrored left/right in
    the image, rescaled by 0.7-1.1 and moved by 1-2 box sizes sideways; constant along ``T`` up to the
    person's own motion), clipped into the image."""
    T, C = points.shape[:2]
    dt = points.dtype
    centre = points.mean(-2, keepdim=True)  # (T, C, 1, 2)
    scale = (0.7 + 0.4 * draw.uniform(1, C))[..., None, None]
    side = torch.where(draw.uniform(1, C) < 0.5, -1.0, 1.0).to(dt)
    shift = side * (1.0 + draw.uniform(1, C)) * box_size[:1]  # (1, C) px
    rel = (points - centre) * scale
    mirrored = torch.stack([-rel[..., 0], rel[..., 1]], -1)
    other = centre + mirrored + torch.stack([shift, torch.zeros_like(shift)], -1)[..., None, :]
    size = image_size.to(device=points.device, dtype=dt)[None, :, None, :]
    return torch.minimum(other.clamp(min=0), size - 1)


def realistic_evidence(
    joints: Tensor,
    vertices: Tensor,
    faces: Tensor,
    rig: CameraRig,
    noise: RealisticNoise,
    generator: torch.Generator,
    resolution: int = 64,
    cull: int = 0,
    method: str = "raster",
) -> tuple[Tensor, Tensor]:
    """Detections of a motion clip in every camera of ``rig``.

    Args:
        joints: ``(T, J, 3)`` metres, world (COCO order).
        vertices: ``(T, V, 3)`` the body surface, metres, world.
        faces: ``(F, 3)`` long.
        rig: ``C`` cameras (distortion used).
        noise: the detector model; ``T`` is its time axis (runs of faults, correlated errors).
        generator: the only source of randomness.
        resolution: pixels of the visibility render per view.
        cull: :func:`mvmocap.synth.rasterize.winding_sign` of the mesh (0 draws every face).
        method: ``"raster"`` (exact z-buffer) or ``"splat"`` (cheaper), see :mod:`mvmocap.synth.occlusion`.

    Returns:
        ``keypoints (T, C, J, 3)`` (x px, y px, confidence) and ``visible (T, C, J)`` bool (z-buffer).
    """
    from mvmocap.synth.evidence import keypoint_box_size
    from mvmocap.synth.occlusion import joint_visibility

    if joints.dim() != 3 or vertices.dim() != 3 or joints.shape[0] != vertices.shape[0]:
        raise InputError(f"joints (T, J, 3) and vertices (T, V, 3) must share T, got {tuple(joints.shape)} "
                         f"and {tuple(vertices.shape)}")
    T = joints.shape[0]
    cams = rig.to(dtype=joints.dtype, device=joints.device)
    rep = lambda x: x[None].expand((T,) + tuple(x.shape))  # noqa: E731
    visible = joint_visibility(vertices, faces, joints, rep(cams.K), rep(cams.R), rep(cams.t), rep(cams.sizes),
                               dist=rep(cams.dist), resolution=resolution, cull=cull, method=method)
    true_px = cams.project(joints)  # (T, C, J, 2), distortion-aware
    points, confidence = noise.apply(true_px, keypoint_box_size(true_px), visible, cams.sizes, generator)
    return torch.cat([points, confidence[..., None]], -1), visible


__all__ = ["LIMB_PAIRS", "RealisticNoise", "realistic_evidence"]
