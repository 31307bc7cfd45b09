"""Sub-frame offsets with known cameras: minimise the robust triangulation residual over the offsets.

Each camera's 2D track is cleaned (left/right swaps undone in time, :mod:`mvmocap.sync.smooth`, then with the other
cameras, :mod:`mvmocap.sync.swaps`), smoothed and interpolated in time (:mod:`mvmocap.sync.resample`); for
offsets ``o (C,)`` the joints of a fixed set of timeline frames are triangulated
robustly (:meth:`CameraRig.triangulate_robust`) and the cost is the mean truncated
squared reprojection error ``mean(min(e, tau)^2)`` over the confident observations.
One camera at a time (the others fixed): a grid over a window, then golden-section
search around the best grid point; a few sweeps over the cameras. The uncertainty of
each offset is a block bootstrap over frames of its final 1-D cost profile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from mvmocap.geometry.camera import CameraRig
from mvmocap.sync.resample import covered_span, resample_keypoints, sample_positions
from mvmocap.sync.smooth import gaussian_at, smooth_track, unswap_in_time
from mvmocap.sync.swaps import unswap_with_cameras
from mvmocap.sync.tracks import CameraTrack

GOLDEN = (np.sqrt(5) - 1) / 2
# errors beyond this many medians count as outliers: ~ the 99.7th percentile of a 2D Gaussian error's
# length (Rayleigh: median 1.18 sigma, 99.7 % at 3.4 sigma), so the truncation follows the detector's noise
TRUNCATE_MEDIANS = 3.0


@dataclass(frozen=True)
class RefineSettings:
    window: float = 3.0  # frames searched either side of the starting offset (first sweep)
    grid_step: float = 0.5
    tolerance: float = 0.01  # golden-section stops at this bracket width (frames)
    sweeps: int = 5
    truncate_px: float = 20.0  # the least truncation; raised to TRUNCATE_MEDIANS x the median error at the start
    min_confidence: float = 0.2
    max_frames: int = 300  # timeline frames used for the cost (evenly subsampled)
    profile_half_width: float = 0.6
    profile_step: float = 0.05
    bootstrap: int = 200
    block_frames: int = 10
    seed: int = 0
    # how a track is evaluated between its frames in the cost: "linear" (or "cubic", Catmull-Rom) between samples
    # smoothed on their own frames with sigma = smooth_frames own frames, or "gaussian" (kernel regression at the
    # fractional frame, mvmocap.sync.smooth.gaussian_at, sigma = smooth_frames frames of the slowest camera, the
    # same blur in time for every camera). Linear measured as well or better (README, benchmarks/sync.py).
    interpolation: str = "linear"
    smooth_frames: float = 1.0
    unswap_with_cameras: bool = True  # left/right swaps undone with the other cameras first (mvmocap.sync.swaps)
    # without known cameras: "bundle", the offsets as extra parameters of the calibration's bundle adjustment
    # (mvmocap.sync.joint), or "alternate", calibration and this refinement in turn
    without_cameras: str = "bundle"
    bundle_interpolation: str = "gaussian"  # how the bundle adjustment reads a track between frames ("linear": smoothed)


class ResidualCost:
    """The robust triangulation residual of ``tracks`` seen by ``rig`` as a function of the offsets."""

    def __init__(self, tracks: list[CameraTrack], rig: CameraRig, ratios: np.ndarray, timeline: np.ndarray,
                 settings: RefineSettings):
        if settings.interpolation not in ("gaussian", "linear", "cubic"):
            raise ValueError(f"unknown interpolation {settings.interpolation!r}")
        self.ratios, self.settings = np.asarray(ratios, np.float64), settings
        if settings.interpolation == "gaussian":
            self.tracks = [replace(t, keypoints=unswap_in_time(t.keypoints)) for t in tracks]
            self.sigmas = settings.smooth_frames * self.ratios.max() / self.ratios  # own frames: one blur in time
        else:
            self.tracks = [replace(t, keypoints=smooth_track(unswap_in_time(t.keypoints), settings.smooth_frames))
                           for t in tracks]
        self.rig = rig.to(torch.float64)
        self.timeline = timeline
        self.evaluations = 0
        self.truncate_px = settings.truncate_px

    def scale_truncation(self, offsets: np.ndarray) -> float:
        """Raise the truncation to ``TRUNCATE_MEDIANS`` x the median reprojection error at ``offsets`` (never below
        ``settings.truncate_px``): with a detector's ~10 px noise a fixed 20 px would cut genuine observations and
        flatten the cost around its minimum."""
        s = self.settings
        kp = torch.from_numpy(np.ascontiguousarray(self.keypoints_at(offsets).transpose(1, 0, 2, 3)))
        conf = torch.where(kp[..., 2] >= s.min_confidence, kp[..., 2], torch.zeros_like(kp[..., 2]))
        tri = self.rig.triangulate_robust(kp[..., :2], conf, threshold_px=self.truncate_px)
        seen = (conf > 0) & (tri.used.sum(-2, keepdim=True) >= 2)
        if seen.any():
            self.truncate_px = max(s.truncate_px, TRUNCATE_MEDIANS * float(tri.errors[seen].median()))
        return self.truncate_px

    def per_frame(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per timeline frame ``(T,)`` sums of truncated squared errors and counts of observations."""
        s = self.settings
        kp = self.keypoints_at(offsets)  # (C, T, J, 3)
        kp = torch.from_numpy(np.ascontiguousarray(kp.transpose(1, 0, 2, 3)))  # (T, C, J, 3)
        conf = torch.where(kp[..., 2] >= s.min_confidence, kp[..., 2], torch.zeros_like(kp[..., 2]))
        tri = self.rig.triangulate_robust(kp[..., :2], conf, threshold_px=self.truncate_px)
        seen = (conf > 0) & (tri.used.sum(-2, keepdim=True) >= 2)  # (T, C, J)
        loss = torch.clamp(tri.errors, max=self.truncate_px) ** 2
        self.evaluations += 1
        return (loss * seen).sum((-1, -2)).numpy(), seen.sum((-1, -2)).numpy().astype(np.float64)

    def keypoints_at(self, offsets: np.ndarray) -> np.ndarray:
        """Every camera's cleaned track at the timeline frames for ``offsets`` -> ``(C, T, J, 3)``."""
        if self.settings.interpolation == "gaussian":
            return np.stack([gaussian_at(t.keypoints, sample_positions(self.timeline, o, r), sigma)
                             for t, o, r, sigma in zip(self.tracks, offsets, self.ratios, self.sigmas)])
        return resample_keypoints(self.tracks, offsets, self.ratios, self.timeline,
                                  cubic=self.settings.interpolation == "cubic")

    def __call__(self, offsets: np.ndarray) -> float:
        total, count = self.per_frame(offsets)
        return float(total.sum() / max(count.sum(), 1.0))


def evaluation_frames(tracks, offsets, ratios, margin: float, max_frames: int) -> np.ndarray:
    """Timeline frames that stay inside every camera's span for offsets within ``margin`` (subsampled)."""
    first, last = covered_span(tracks, offsets, ratios)
    lo, hi = int(np.ceil(first + margin)), int(np.floor(last - margin))
    if hi - lo < 10:  # short overlap: use what there is
        lo, hi = int(np.ceil(first)), int(np.floor(last))
    frames = np.arange(lo, hi + 1)
    if len(frames) > max_frames:
        frames = frames[np.linspace(0, len(frames) - 1, max_frames).round().astype(int)]
    return frames


def _golden_section(f, lo: float, hi: float, tolerance: float) -> tuple[float, float]:
    a, b = lo, hi
    x1, x2 = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    f1, f2 = f(x1), f(x2)
    while b - a > tolerance:
        if f1 <= f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - GOLDEN * (b - a)
            f1 = f(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + GOLDEN * (b - a)
            f2 = f(x2)
    return (x1, f1) if f1 <= f2 else (x2, f2)


def minimise_one(cost: ResidualCost, offsets: np.ndarray, camera: int, centre: float, settings: RefineSettings) -> float:
    """The best offset of ``camera`` within ``centre ± window`` with the others fixed."""
    def f(value: float) -> float:
        trial = offsets.copy()
        trial[camera] = value
        return cost(trial)

    grid = centre + np.arange(-settings.window, settings.window + 1e-9, settings.grid_step)
    values = [f(v) for v in grid]
    k = int(np.argmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    best, _ = _golden_section(f, lo, hi, settings.tolerance)
    return best


def refine_offsets(
    tracks: list[CameraTrack], rig: CameraRig, ratios: np.ndarray, start: np.ndarray, fixed: list[int],
    settings: RefineSettings | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Sub-frame offsets ``(C,)``, their bootstrap standard deviations ``(C,)`` (0 for fixed ones) and the final cost.

    Args:
        tracks: per-camera 2D tracks, in ``rig``'s camera order.
        rig: the cameras (known or estimated).
        ratios: ``(C,)`` timeline frames per camera frame.
        start: ``(C,)`` starting offsets (the coarse search), timeline frames.
        fixed: camera indices whose offset is not changed (the reference, ``--offset`` ones).
    """
    s = settings or RefineSettings()
    offsets = np.asarray(start, np.float64).copy()
    frames = evaluation_frames(tracks, offsets, ratios, s.window + 1, s.max_frames)
    if s.unswap_with_cameras:
        tracks = [replace(t, keypoints=unswap_in_time(t.keypoints)) for t in tracks]
        tracks, _ = unswap_with_cameras(tracks, rig, ratios, offsets, min_confidence=s.min_confidence,
                                        threshold_px=s.truncate_px)
    cost = ResidualCost(tracks, rig, ratios, frames, s)
    cost.scale_truncation(offsets)
    return search_offsets(cost, offsets, fixed, s)


def search_offsets(cost, offsets: np.ndarray, fixed: list[int],
                   s: RefineSettings) -> tuple[np.ndarray, np.ndarray, float]:
    """The offsets minimising ``cost`` (a function of the ``(C,)`` offsets with ``per_frame``, as
    :class:`ResidualCost`) from ``offsets``, the ``fixed`` cameras held: sweeps over the free cameras, one at a time
    (:func:`minimise_one`, the window halved each sweep), then each free offset's block-bootstrap standard deviation.
    Returns ``(offsets, sigma, final cost)``."""
    offsets = np.asarray(offsets, np.float64).copy()
    free = [c for c in range(len(offsets)) if c not in fixed]
    for sweep in range(s.sweeps):
        previous = offsets.copy()
        window = s.window if sweep == 0 else max(s.window / 2 ** sweep, 0.5)
        step = s.grid_step if sweep == 0 else 0.25
        for c in free:
            offsets[c] = minimise_one(cost, offsets, c, offsets[c], replace(s, window=window, grid_step=step))
        if np.abs(offsets - previous).max() < s.tolerance:
            break
    sigma = np.zeros(len(offsets))
    rng = np.random.default_rng(s.seed)
    for c in free:
        sigma[c] = _bootstrap_sigma(cost, offsets, c, s, rng)
    return offsets, sigma, cost(offsets)


def _bootstrap_sigma(cost: ResidualCost, offsets: np.ndarray, camera: int, s: RefineSettings,
                     rng: np.random.Generator) -> float:
    """Standard deviation of the minimiser of ``camera``'s cost profile over block-resampled frames."""
    grid = offsets[camera] + np.arange(-s.profile_half_width, s.profile_half_width + 1e-9, s.profile_step)
    sums, counts = [], []
    for value in grid:
        trial = offsets.copy()
        trial[camera] = value
        total, count = cost.per_frame(trial)
        sums.append(total)
        counts.append(count)
    sums, counts = np.array(sums), np.array(counts)  # (G, T)
    T = sums.shape[1]
    blocks = max(T // s.block_frames, 1)
    edges = np.linspace(0, T, blocks + 1).round().astype(int)
    block_sums = np.stack([sums[:, a:b].sum(1) for a, b in zip(edges[:-1], edges[1:])], 1)  # (G, B)
    block_counts = np.stack([counts[:, a:b].sum(1) for a, b in zip(edges[:-1], edges[1:])], 1)
    minima = []
    for _ in range(s.bootstrap):
        pick = np.bincount(rng.integers(0, blocks, blocks), minlength=blocks)
        profile = (block_sums @ pick) / np.maximum(block_counts @ pick, 1.0)
        minima.append(_parabolic_minimum(grid, profile))
    return float(np.std(minima))


def _parabolic_minimum(grid: np.ndarray, values: np.ndarray) -> float:
    k = int(np.argmin(values))
    if 0 < k < len(grid) - 1:
        y0, y1, y2 = values[k - 1], values[k], values[k + 1]
        curvature = y0 - 2 * y1 + y2
        if curvature > 0:
            return float(grid[k] + 0.5 * (y0 - y2) / curvature * (grid[1] - grid[0]))
    return float(grid[k])
