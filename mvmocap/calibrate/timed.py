"""``TimedObservations``: per-camera 2D tracks that the bundle adjustment reads at ``t + offset``.

For the calibration from joints with unknown time offsets (issue 22): every camera's track is
kept on its own frames, in ideal centred pixels (as :mod:`mvmocap.calibrate.observations`), and
read at the timeline frames ``tau (F,)`` for offsets ``o (C,)``: camera ``c`` shows timeline
frame ``tau`` at its own fractional frame ``s = (tau - o_c) / r_c`` (``r_c`` timeline frames per
camera frame). Values are interpolated linearly between the two neighbouring samples; the
derivative with respect to the offset is ``d uv / d o_c = -(x_{i+1} - x_i) / r_c`` on that
segment, which the bundle adjustment uses as the offset's Jacobian.

Gaps (missing samples) are filled linearly along each joint's own frames before interpolation,
and the ends are held, so a value and its derivative exist for every offset; which observations
count (and their weights) is decided once, at the starting offsets (:meth:`weights_at`), so a
step of the offsets cannot lower the cost by moving observations into a gap.
Shapes: ``uv (F_c, J, 2)`` pixels, ``weight (F_c, J)`` in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SNAP = 1e-6  # a position this close to an integer uses that sample alone (as mvmocap.sync.resample)


def fill_gaps(uv: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``uv (F, J, 2)`` with each joint's missing samples linearly interpolated between confident ones
    (held constant before the first and after the last); a joint never seen stays 0."""
    out = np.array(uv, np.float64)
    frames = np.arange(len(out))
    for j in range(out.shape[1]):
        seen = weight[:, j] > 0
        if seen.any() and not seen.all():
            for d in range(2):
                out[:, j, d] = np.interp(frames, frames[seen], out[seen, j, d])
    return out


@dataclass(frozen=True)
class TimedObservations:
    """C cameras' tracks on their own frames, read on the common timeline.

    Attributes:
        uv: ``C`` arrays ``(F_c, J, 2)``, ideal centred pixels, gaps filled (:func:`fill_gaps`).
        weight: ``C`` arrays ``(F_c, J)``, confidence (0 = missing).
        ratios: ``(C,)`` timeline frames per camera frame.
        timeline: ``(F,)`` the timeline frames observed (any real numbers).
        fixed: ``(C,)`` bool, the cameras whose offset is held (the reference, pinned ones).
        kernel_sigma: ``(C,)`` own frames, or None. None: linear between samples (the tracks should be
            smoothed first). Else a Gaussian kernel regression over the confident samples evaluated at the
            fractional frame itself (as :func:`mvmocap.sync.smooth.gaussian_at`): its noise does not depend on
            where the position falls between two samples, so the cost has no pull towards half frames.
    """

    uv: tuple[np.ndarray, ...]
    weight: tuple[np.ndarray, ...]
    ratios: np.ndarray
    timeline: np.ndarray
    fixed: np.ndarray
    kernel_sigma: np.ndarray | None = None

    @classmethod
    def from_tracks(cls, uv, weight, ratios, timeline, fixed, kernel_sigma=None) -> "TimedObservations":
        uv = tuple(fill_gaps(u, w) for u, w in zip(uv, weight))
        return cls(uv, tuple(np.asarray(w, np.float64) for w in weight), np.asarray(ratios, np.float64),
                   np.asarray(timeline, np.float64), np.asarray(fixed, bool),
                   None if kernel_sigma is None else np.broadcast_to(np.asarray(kernel_sigma, np.float64),
                                                                     (len(uv),)).copy())

    @property
    def num_cameras(self) -> int:
        return len(self.uv)

    def _segments(self, c: int, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Camera ``c``'s positions ``(F,)`` -> lower sample, upper sample, fraction, inside span."""
        pos = (self.timeline - offset) / self.ratios[c]
        rounded = np.round(pos)
        pos = np.where(np.abs(pos - rounded) < SNAP, rounded, pos)
        n = len(self.uv[c])
        inside = (pos >= 0) & (pos <= n - 1)
        lo = np.clip(np.floor(pos), 0, n - 2).astype(np.int64)
        frac = np.clip(pos - lo, 0.0, 1.0)
        return lo, lo + 1, frac, inside

    def at(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``uv (C, F, J, 2)`` pixels at ``offsets (C,)`` timeline frames, and ``d uv / d offset (C, F, J, 2)``
        pixels per timeline frame (0 outside a camera's span)."""
        values, rates = [], []
        for c, offset in enumerate(np.asarray(offsets, np.float64)):
            if self.kernel_sigma is not None:
                value, rate = self._kernel_at(c, offset)
                values.append(value)
                rates.append(rate)
                continue
            lo, hi, frac, inside = self._segments(c, offset)
            a, b = self.uv[c][lo], self.uv[c][hi]  # (F, J, 2)
            values.append(a + frac[:, None, None] * (b - a))
            rates.append(np.where(inside[:, None, None], -(b - a) / self.ratios[c], 0.0))
        return np.stack(values), np.stack(rates)

    def _kernel_at(self, c: int, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """Camera ``c``'s Gaussian kernel regression ``x(s) = sum_i g(s - i) m_i x_i / sum_i g(s - i) m_i`` (``m``:
        confident) at its positions ``s (F,)`` and its derivative by the offset, ``-x'(s) / r_c``."""
        sigma, n = self.kernel_sigma[c], len(self.uv[c])
        pos = (self.timeline - offset) / self.ratios[c]
        radius = int(np.ceil(4 * sigma))
        idx = np.floor(pos).astype(np.int64)[:, None] + np.arange(-radius, radius + 2)[None]  # (F, K)
        taps = np.exp(-0.5 * ((pos[:, None] - idx) / sigma) ** 2) * ((idx >= 0) & (idx < n))
        slopes = taps * (idx - pos[:, None]) / sigma**2  # d tap / d s
        safe = np.clip(idx, 0, n - 1)
        mask = (self.weight[c][safe] > 0).astype(np.float64)  # (F, K, J)
        x = self.uv[c][safe]  # (F, K, J, 2)
        den = np.maximum(np.einsum("fk,fkj->fj", taps, mask), 1e-12)
        value = np.einsum("fk,fkj,fkjd->fjd", taps, mask, x) / den[..., None]
        d_den = np.einsum("fk,fkj->fj", slopes, mask)
        d_num = np.einsum("fk,fkj,fkjd->fjd", slopes, mask, x)
        d_value = (d_num - value * d_den[..., None]) / den[..., None]
        inside = (pos >= 0) & (pos <= n - 1)
        return value, np.where(inside[:, None, None], -d_value / self.ratios[c], 0.0)

    def weights_at(self, offsets: np.ndarray) -> np.ndarray:
        """``(C, F, J)`` confidence at ``offsets``: the smaller of the two neighbouring samples' (the sample's
        own on an integer position), 0 outside the span or next to a missing sample."""
        out = []
        for c, offset in enumerate(np.asarray(offsets, np.float64)):
            lo, hi, frac, inside = self._segments(c, offset)
            a, b = self.weight[c][lo], self.weight[c][hi]
            both = np.where((a > 0) & (b > 0), np.minimum(a, b), 0.0)
            w = np.where((frac == 0)[:, None], a, np.where((frac == 1)[:, None], b, both))
            out.append(np.where(inside[:, None], w, 0.0))
        return np.stack(out)
