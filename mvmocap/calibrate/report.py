"""The quality report of a calibration from joints (per camera, plus how it was obtained)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

WEAK_MIN_POINTS = 200
WEAK_MAX_REPROJECTION_PX = 15.0
WEAK_MAX_REJECTED = 0.3
WEAK_ROTATION_STD_DEG = 0.5
WEAK_POSITION_STD = 0.02  # fraction of the camera's distance to the person


@dataclass(frozen=True)
class CameraQuality:
    """How well one camera is determined.

    Attributes:
        name: the camera.
        reprojection_px: median reprojection error of its observations used, pixels.
        mean_reprojection_px: their mean, pixels.
        points_used: observations (joint x frame) used in the final adjustment.
        rejected: observations rejected as outliers.
        swapped_views: frames whose left/right labels were swapped to agree with the others.
        parallax_deg: the best triangulation angle with another camera: median angle between
            their rays to the joints, folded to [0, 90] (opposite rays are as weak as parallel ones).
        focal_px: focal length (estimated or given), pixels.
        rotation_std_deg, position_std_m: statistical uncertainty of the camera's pose
            relative to the reference camera (0 for it), from the adjustment's normal
            equations and its residuals. It ignores the detector's systematic biases,
            so the true error is usually several times larger (about 10x on the real demo).
        weak: the geometry is weak (few points, small parallax, large errors or many outliers).
        notes: why it is weak.
    """

    name: str
    reprojection_px: float
    mean_reprojection_px: float
    points_used: int
    rejected: int
    swapped_views: int
    parallax_deg: float
    focal_px: float
    rotation_std_deg: float
    position_std_m: float
    weak: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalibrationReport:
    """Everything worth knowing about a calibration from joints.

    Attributes:
        cameras: one :class:`CameraQuality` per camera.
        initialisation: the initialisation kept (``"mono3d-procrustes"`` or ``"essential"``, with the focal guess).
        initial_costs: robust reprojection cost (pixels^2) of every initialisation tried.
        frames_used: frames in the adjustment.
        focal_estimated: whether the focal lengths were estimated.
        focal_shared: whether one focal length was estimated for all cameras.
        height_m: the subject height the scale comes from.
        up_from: where the vertical came from (feet plane, camera centres, camera image-up, body axis).
        issues: sanity problems that were overridden with ``force`` (empty normally).
        runtime_s: wall time.
        initialisation_s: wall time of the initialisation (every start tried, and their costs).
    """

    cameras: tuple[CameraQuality, ...]
    initialisation: str
    initial_costs: dict
    frames_used: int
    focal_estimated: bool
    focal_shared: bool
    height_m: float
    up_from: str
    issues: tuple[str, ...]
    runtime_s: float
    initialisation_s: float = 0.0

    @property
    def weak(self) -> bool:
        return any(c.weak for c in self.cameras)

    def _focal_source(self) -> str:
        if not self.focal_estimated:
            return "given"
        return "estimated (one for all cameras)" if self.focal_shared else "estimated"

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        """A plain table, one camera a line, and a few lines of context."""
        lines = [
            f"{'camera':<12} {'reproj px':>9} {'mean px':>8} {'points':>7} {'outliers':>8} {'swaps':>6} "
            f"{'parallax':>8} {'focal px':>9} {'±rot°':>6} {'±pos m':>7}  quality"
        ]
        for c in self.cameras:
            quality = "WEAK: " + "; ".join(c.notes) if c.weak else "ok"
            lines.append(
                f"{c.name:<12} {c.reprojection_px:>9.2f} {c.mean_reprojection_px:>8.2f} {c.points_used:>7d} "
                f"{c.rejected:>8d} {c.swapped_views:>6d} {c.parallax_deg:>7.1f}° {c.focal_px:>9.1f} "
                f"{c.rotation_std_deg:>6.2f} {c.position_std_m:>7.3f}  {quality}"
            )
        costs = ", ".join(f"{k} {v:.1f}" for k, v in self.initial_costs.items())
        lines.append(f"initialisation: {self.initialisation} in {self.initialisation_s:.2f} s (robust costs px²: {costs})")
        lines.append(
            f"{self.frames_used} frames; focal lengths {self._focal_source()}; "
            f"scale from a height of {self.height_m:.2f} m; vertical from the {self.up_from}; "
            f"{self.runtime_s:.1f} s"
        )
        for issue in self.issues:
            lines.append(f"FORCED despite: {issue}")
        return "\n".join(lines)


def camera_quality(
    name: str,
    errors_used,
    rejected: int,
    swapped_views: int,
    parallax_deg: float,
    focal_px: float,
    rotation_std_deg: float = 0.0,
    position_std_m: float = 0.0,
    distance_m: float = float("inf"),
) -> CameraQuality:
    """Summarise one camera; ``errors_used`` are the reprojection errors (pixels) of its observations used.

    ``distance_m``: the camera's distance to the person, to judge ``position_std_m``.
    """
    errors_used = np.asarray(errors_used, dtype=float)
    n = int(errors_used.size)
    median = float(np.median(errors_used)) if n else float("nan")
    mean = float(errors_used.mean()) if n else float("nan")
    notes = []
    if n < WEAK_MIN_POINTS:
        notes.append(f"only {n} joints used")
    if parallax_deg < 5.0:
        notes.append(f"small parallax ({parallax_deg:.1f}°)")
    if not median <= WEAK_MAX_REPROJECTION_PX:
        notes.append(f"large reprojection error ({median:.1f} px)")
    if rejected > WEAK_MAX_REJECTED * max(n + rejected, 1):
        notes.append(f"{rejected} outliers rejected")
    if rotation_std_deg > WEAK_ROTATION_STD_DEG or position_std_m > WEAK_POSITION_STD * distance_m:
        notes.append(f"pose poorly constrained (±{rotation_std_deg:.2f}°, ±{position_std_m:.3f} m)")
    return CameraQuality(
        name, median, mean, n, int(rejected), int(swapped_views), float(parallax_deg), float(focal_px),
        float(rotation_std_deg), float(position_std_m), bool(notes), tuple(notes),
    )
