"""Compare an estimated camera rig with a reference (``mvmocap eval calibration``).

The estimate is first moved onto the reference by the similarity transform
(scale, rotation, translation) that best maps its camera centres onto the
reference's (Umeyama); with two cameras, or cameras in a line, the rotation
comes from the cameras' orientations instead. Then, per camera: the angle
between the rotations (degrees), the distance between the centres as a
percentage of the reference cameras' mean distance from their centroid, and
the focal-length error (percent, mean of fx and fy, each relative to its image's longer side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.calibrate.pinhole import nearest_rotation
from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.procrustes import similarity_procrustes
from mvmocap.geometry.rotations import rotation_angle_between


@dataclass(frozen=True)
class CameraComparison:
    """One camera's errors after alignment (degrees, metres of the reference, percent)."""

    name: str
    rotation_error_deg: float
    center_error_m: float
    center_error_pct: float
    focal_error_pct: float


@dataclass(frozen=True)
class CalibrationComparison:
    """Per-camera errors of an estimate against a reference.

    Attributes:
        cameras: one :class:`CameraComparison` per matched camera (reference order).
        scale, rotation, translation: the similarity ``x_ref = s * Q @ x_est + u``
            that aligned the estimate (``rotation (3, 3)``, ``translation (3,)`` m).
        mean_camera_distance_m: the reference centres' mean distance from their centroid.
        matched_by: ``"name"`` or ``"order"`` (when the names differ but the counts agree).
    """

    cameras: tuple[CameraComparison, ...]
    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    mean_camera_distance_m: float
    matched_by: str

    @property
    def mean_rotation_error_deg(self) -> float:
        return float(np.mean([c.rotation_error_deg for c in self.cameras]))

    @property
    def mean_center_error_pct(self) -> float:
        return float(np.mean([c.center_error_pct for c in self.cameras]))

    @property
    def mean_focal_error_pct(self) -> float:
        return float(np.mean([c.focal_error_pct for c in self.cameras]))

    def to_text(self) -> str:
        """A plain table, one camera a line, then the means."""
        lines = [f"{'camera':<12} {'rotation deg':>12} {'centre %':>9} {'centre m':>9} {'focal %':>8}"]
        for c in self.cameras:
            lines.append(
                f"{c.name:<12} {c.rotation_error_deg:>12.2f} {c.center_error_pct:>9.2f} "
                f"{c.center_error_m:>9.3f} {c.focal_error_pct:>8.2f}"
            )
        lines.append(
            f"{'mean':<12} {self.mean_rotation_error_deg:>12.2f} {self.mean_center_error_pct:>9.2f} "
            f"{np.mean([c.center_error_m for c in self.cameras]):>9.3f} {self.mean_focal_error_pct:>8.2f}"
        )
        lines.append(
            f"(aligned on camera centres: scale {self.scale:.4f}; mean camera distance "
            f"{self.mean_camera_distance_m:.3f} m; cameras matched by {self.matched_by})"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "cameras": [dict(vars(c)) for c in self.cameras],
            "mean_rotation_error_deg": self.mean_rotation_error_deg,
            "mean_center_error_pct": self.mean_center_error_pct,
            "mean_focal_error_pct": self.mean_focal_error_pct,
            "scale": self.scale,
            "mean_camera_distance_m": self.mean_camera_distance_m,
            "matched_by": self.matched_by,
        }


def _match(estimate: CameraRig, reference: CameraRig) -> tuple[CameraRig, CameraRig, str]:
    common = [n for n in reference.names if n in estimate.names]
    if len(common) >= 2:
        return estimate.subset(common), reference.subset(common), "name"
    if len(estimate) == len(reference) and len(reference) >= 2:
        return estimate, reference, "order"
    raise InputError(
        f"cannot match the cameras: estimate has {', '.join(estimate.names)}, reference has "
        f"{', '.join(reference.names)} (at least two common names, or the same number of cameras, needed)"
    )


def _orientation_alignment(R_est: np.ndarray, R_ref: np.ndarray) -> np.ndarray:
    """``Q (3, 3)`` with ``R_est @ Q^T ~= R_ref`` for every camera (chordal mean of ``R_ref^T R_est``)."""
    return nearest_rotation(np.einsum("cji,cjk->ik", R_ref, R_est))


def align_similarity(estimate: CameraRig, reference: CameraRig) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity ``x_ref = s * Q @ x_est + u`` mapping the estimate's centres onto the reference's.

    Both rigs must list the same cameras in the same order. Returns ``s``,
    ``Q (3, 3)``, ``u (3,)``.
    """
    c_est = estimate.centers().detach().to(torch.float64).numpy()
    c_ref = reference.centers().detach().to(torch.float64).numpy()
    spread_est = c_est - c_est.mean(0)
    spread_ref = c_ref - c_ref.mean(0)
    singular = np.linalg.svd(spread_ref, compute_uv=False)
    if len(c_ref) >= 3 and singular[1] > 1e-3 * max(singular[0], 1e-12):
        s, Q, u = similarity_procrustes(torch.as_tensor(c_est), torch.as_tensor(c_ref))
        return float(s), Q.numpy(), u.numpy()
    # two cameras, or cameras in a line: the orientations fix the rotation
    R_est = estimate.R.detach().to(torch.float64).numpy()
    R_ref = reference.R.detach().to(torch.float64).numpy()
    Q = _orientation_alignment(R_est, R_ref)
    s = float(np.linalg.norm(spread_ref) / max(np.linalg.norm(spread_est), 1e-12))
    u = c_ref.mean(0) - s * Q @ c_est.mean(0)
    return s, Q, u


def compare_calibrations(estimate: CameraRig, reference: CameraRig) -> CalibrationComparison:
    """Similarity-align ``estimate`` to ``reference`` and measure each camera's errors.

    Cameras are matched by name (or by order when no names agree but the
    counts do); at least two cameras are needed.
    """
    estimate, reference = estimate.to(torch.float64), reference.to(torch.float64)
    estimate, reference, matched_by = _match(estimate, reference)
    s, Q, u = align_similarity(estimate, reference)
    aligned = estimate.transformed(s, torch.as_tensor(Q), torch.as_tensor(u))
    c_ref = reference.centers().numpy()
    distance = float(np.linalg.norm(c_ref - c_ref.mean(0), axis=1).mean())
    if distance <= 0:
        raise InputError("the reference cameras all sit at the same place; centre errors are undefined")
    rot_err = np.degrees(rotation_angle_between(aligned.R, reference.R).numpy())
    centre_err = np.linalg.norm(aligned.centers().numpy() - c_ref, axis=1)
    # Focal lengths relative to the image's longer side, so a calibration of resized
    # videos (same field of view, fewer pixels) compares as equal, while a few
    # pixels cropped off one side (Qualisys' 1088 vs the videos' 1080) change nothing.
    f_est = (estimate.K[:, 0, 0] + estimate.K[:, 1, 1]).numpy() / 2 / estimate.sizes.amax(1).numpy()
    f_ref = (reference.K[:, 0, 0] + reference.K[:, 1, 1]).numpy() / 2 / reference.sizes.amax(1).numpy()
    focal_err = np.abs(f_est - f_ref) / f_ref * 100
    cameras = tuple(
        CameraComparison(
            name=n,
            rotation_error_deg=float(rot_err[i]),
            center_error_m=float(centre_err[i]),
            center_error_pct=float(centre_err[i] / distance * 100),
            focal_error_pct=float(focal_err[i]),
        )
        for i, n in enumerate(reference.names)
    )
    return CalibrationComparison(cameras, s, Q, u, distance, matched_by)
