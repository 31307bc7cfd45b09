"""Compare two reconstructions of one capture (``mvmocap eval reconstructions``): their median
reprojection errors against the same detections, the ratio, and how sure that ratio is (a paired
moving-block bootstrap over frames: :mod:`mvmocap.evaluate.bootstrap`).

Only points that both reconstructions compare (detected, triangulated, in valid frames of both)
count, so two runs with different valid frames are compared on the same evidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from mvmocap.errors import InputError
from mvmocap.evaluate.bootstrap import median_ratio_interval
from mvmocap.io.joints3d import FitReprojection


@dataclass(frozen=True)
class ReconstructionComparison:
    """``other``'s median reprojection error against ``reference``'s on their shared points.

    Attributes:
        reference_px, other_px: median errors (pixels; the lower middle value, as the report's).
        ratio: ``other_px / reference_px``; interval: its ``level`` bootstrap interval.
        per_camera: ``{name: (reference_px, other_px)}``.
        points, frames: shared compared points and frames; block_frames: the bootstrap block.
    """

    reference_px: float
    other_px: float
    ratio: float
    interval: tuple[float, float]
    level: float
    per_camera: dict[str, tuple[float, float]]
    points: int
    frames: int
    block_frames: int

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        low, high = self.interval
        verdict = ("lower" if high < 1 else "higher" if low > 1 else "not distinguishable")
        lines = [f"median reprojection: reference {self.reference_px:.3f} px, other {self.other_px:.3f} px "
                 f"({self.points} shared points, {self.frames} frames)",
                 f"ratio other / reference: {self.ratio:.4f}, {self.level:.0%} interval {low:.4f}-{high:.4f} "
                 f"(moving-block bootstrap, blocks of {self.block_frames} frames): {verdict}"]
        lines += [f"  {name}: {a:.3f} -> {b:.3f} px" for name, (a, b) in self.per_camera.items()]
        return "\n".join(lines)


def _median(values: torch.Tensor) -> float:
    return float(values.median()) if values.numel() else float("nan")


def compare_reconstructions(reference: FitReprojection, other: FitReprojection, block_frames: int = 10,
                            draws: int = 2000, level: float = 0.95, seed: int = 0) -> ReconstructionComparison:
    """Compare ``other`` with ``reference`` (two :func:`mvmocap.io.joints3d.load_fit_reprojection`
    results of the same capture: same frames, same cameras in the same order).

    Raises:
        :class:`InputError` when the frames or cameras differ or no point is compared by both.
    """
    if reference.camera_names != other.camera_names:
        raise InputError(f"the reconstructions use different cameras: {', '.join(reference.camera_names)} "
                         f"against {', '.join(other.camera_names)}")
    if not np.array_equal(reference.frame_ids, other.frame_ids):
        raise InputError(f"the reconstructions cover different frames ({len(reference.frame_ids)} against "
                         f"{len(other.frame_ids)}, or other frame numbers)")
    shared = reference.compared & other.compared
    if not bool(shared.any()):
        raise InputError("no point is compared in both reconstructions")
    interval = median_ratio_interval(reference.errors, shared, other.errors, shared, block=block_frames, draws=draws,
                                     level=level, generator=torch.Generator().manual_seed(seed))
    ref_px, other_px = _median(reference.errors[shared]), _median(other.errors[shared])
    per_camera = {name: (_median(reference.errors[:, c][shared[:, c]]), _median(other.errors[:, c][shared[:, c]]))
                  for c, name in enumerate(reference.camera_names)}
    frames_with_points = int(shared.flatten(1).any(1).sum())
    return ReconstructionComparison(ref_px, other_px, other_px / ref_px, interval, level, per_camera,
                                    int(shared.sum()), frames_with_points, min(block_frames, len(reference.frame_ids)))
