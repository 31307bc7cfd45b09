"""``SyncResult``: the time offsets the sync stage chose, with their uncertainty (report.json, printed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SyncResult:
    """Per-camera time offsets on the common timeline.

    Attributes:
        camera_names: ``C`` names.
        offsets: ``(C,)`` timeline frames; a camera's own frame ``i`` is timeline ``offset + ratio * i``
            (positive: it started late).
        uncertainty: ``(C,)`` standard deviation in frames (block bootstrap over frames); 0 for the
            reference and pinned cameras; NaN where only the coarse search ran.
        coarse: ``(C,)`` the coarse (speed cross-correlation) offsets.
        ratios: ``(C,)`` timeline frames per camera frame (``timeline_fps / fps``).
        fps: ``(C,)`` each camera's own frame rate (0 = unknown).
        timeline_fps: the common timeline's rate (the reference camera's).
        reference: the reference camera's name (offset 0 unless pinned).
        method: how the offsets were refined: ``"coarse"``, ``"known cameras"``, ``"calibration from joints, offsets
            in its bundle adjustment"`` or ``"calibration from joints"`` (alternated).
        pinned: cameras whose offset was given (``--offset``) and kept.
        residual_px: root of the final truncated mean squared reprojection residual (NaN if not refined).
    """

    camera_names: tuple[str, ...]
    offsets: np.ndarray
    uncertainty: np.ndarray
    coarse: np.ndarray
    ratios: np.ndarray
    fps: np.ndarray
    timeline_fps: float
    reference: str
    method: str
    pinned: tuple[str, ...] = ()
    residual_px: float = float("nan")

    def offset(self, name: str) -> float:
        return float(self.offsets[self.camera_names.index(name)])

    def own_frames(self, name: str, timeline: np.ndarray) -> np.ndarray:
        """Timeline frames ``(T,)`` -> the nearest frame camera ``name`` recorded ``(T,)`` (its own numbering,
        ``round((tau - offset) / ratio)``): the image to draw a timeline frame's overlay on."""
        c = self.camera_names.index(name)
        own = (np.asarray(timeline, np.float64) - self.offsets[c]) / self.ratios[c]
        return np.round(own).astype(np.int64)

    def to_dict(self) -> dict:
        def num(x: float):
            return None if not np.isfinite(x) else round(float(x), 4) + 0.0  # + 0.0: no -0.0

        return {
            "method": self.method,
            "reference": self.reference,
            "timeline_fps": self.timeline_fps,
            "residual_px": num(self.residual_px),
            "cameras": [
                {"name": n, "offset_frames": num(o), "uncertainty_frames": num(u), "coarse_offset_frames": num(k),
                 "fps": float(f), "rate_ratio": num(r), "pinned": n in self.pinned}
                for n, o, u, k, f, r in zip(self.camera_names, self.offsets, self.uncertainty, self.coarse,
                                           self.fps, self.ratios)
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SyncResult":
        cams = data["cameras"]

        def arr(key):
            return np.array([np.nan if c[key] is None else float(c[key]) for c in cams])

        return cls(
            camera_names=tuple(str(c["name"]) for c in cams), offsets=arr("offset_frames"),
            uncertainty=arr("uncertainty_frames"), coarse=arr("coarse_offset_frames"), ratios=arr("rate_ratio"),
            fps=arr("fps"), timeline_fps=float(data["timeline_fps"]), reference=str(data["reference"]),
            method=str(data["method"]), pinned=tuple(c["name"] for c in cams if c.get("pinned")),
            residual_px=np.nan if data.get("residual_px") is None else float(data["residual_px"]),
        )

    def to_text(self) -> str:
        lines = [f"time offsets ({self.method}; timeline {self.timeline_fps:g} fps, reference {self.reference}):"]
        for n, o, u, f, r in zip(self.camera_names, self.offsets, self.uncertainty, self.fps, self.ratios):
            spread = "" if not np.isfinite(u) else (" (fixed)" if u == 0 else f" ± {u:.2f}")
            rate = f", {f:g} fps resampled x{r:.4g}" if abs(r - 1) > 1e-9 else ""
            pin = " (--offset)" if n in self.pinned else ""
            lines.append(f"  {n}: {round(float(o), 2) + 0.0:+.2f} frames{spread}{rate}{pin}")  # + 0.0: no "-0.00"
        return "\n".join(lines)
