"""Gauge: put a calibration from joints into metres, with the floor at z = 0 and +Z up.

Joints alone fix cameras only up to a similarity. The scale comes from the
subject's height (or a given one): the median lengths of the chain ankle -
knee - hip - mid-shoulder - nose are a stable fraction of standing height
(anthropometric tables, e.g. Drillis & Contini 1966: lower leg 0.246 H,
thigh 0.245 H, hip-to-shoulder 0.30 H, shoulder-to-nose about 0.10 H, so the
chain is about 0.89 H). "Up" is the normal of the plane of the lowest foot
points when the feet cover enough floor (a walking person); otherwise the
mean of the cues that are available and agree within 35 degrees with the
body's balance axis:

* the body's balance axis: from the mid-ankle to the centre of mass (joints
  weighted by rough segment masses), which stays over the feet when the
  torso leans;
* the normal of the plane of the camera centres (three or more cameras at
  similar heights around the person: tripods, wall mounts);
* the mean of the cameras' image-up directions (cameras are rarely rolled
  much, and the pitch of cameras around the person cancels out).

The floor is where the feet are lowest; the origin is on the floor under the
mean pelvis; +X is camera 0's viewing direction laid flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.calibrate.pinhole import Pinholes
from mvmocap.errors import InputError

CHAIN_FRACTION_OF_HEIGHT = 0.89
FOOT_JOINTS = (15, 16, 17, 18, 19, 20, 21, 22)  # ankles, big toes, small toes, heels
L_HIP, R_HIP, L_SHOULDER, R_SHOULDER, NOSE, L_ANKLE, R_ANKLE = 11, 12, 5, 6, 0, 15, 16
MASS_WEIGHTS = np.zeros(23)
MASS_WEIGHTS[[L_SHOULDER, R_SHOULDER]] = 0.14  # upper trunk and neck
MASS_WEIGHTS[[L_HIP, R_HIP]] = 0.15  # lower trunk and pelvis
MASS_WEIGHTS[NOSE] = 0.08  # head
MASS_WEIGHTS[[13, 14]] = 0.10  # thighs (at the knees' side)
MASS_WEIGHTS[[L_ANKLE, R_ANKLE]] = 0.05  # shanks and feet
MASS_WEIGHTS[[7, 8]] = 0.03  # upper arms
MASS_WEIGHTS[[9, 10]] = 0.02  # forearms and hands
MIN_FOOT_SPREAD_M = 0.15  # floor plane fitted only when the lowest foot points spread this much (std) both ways
MAX_DISAGREEMENT_DEG = 35.0  # an "up" candidate further than this from the body axis is not trusted
CAMERA_PLANE_FLATNESS = 0.25  # camera centres: thickness / second extent below this to define a plane


@dataclass(frozen=True)
class Gauge:
    """The similarity ``x_world = scale * Q @ x + u`` applied, and what it was derived from.

    Attributes:
        scale: metres per unit before the gauge; Q ``(3, 3)``; u ``(3,)`` metres.
        chain_length: the ankle-knee-hip-shoulder-nose chain in the units before, median over frames.
        height_m: the height the scale was derived from.
        up_from: where "up" came from: ``"feet"``, or the cues averaged (e.g. ``"body balance + camera centres"``).
    """

    scale: float
    Q: np.ndarray
    u: np.ndarray
    chain_length: float
    height_m: float
    up_from: str

    def apply_points(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` -> ``(..., 3)`` in the gauged world."""
        return self.scale * points @ self.Q.T + self.u

    def apply_cameras(self, cams: Pinholes) -> Pinholes:
        return cams.transformed(self.scale, self.Q, self.u)


def _median_length(points: np.ndarray, valid: np.ndarray, a, b) -> float:
    """Median over frames of the distance between joint (sets) a and b (a set means its midpoint)."""
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    ok = valid[:, a].all(1) & valid[:, b].all(1)
    if not ok.any():
        return float("nan")
    pa, pb = points[ok][:, a].mean(1), points[ok][:, b].mean(1)
    return float(np.median(np.linalg.norm(pa - pb, axis=-1)))


def body_chain_length(points: np.ndarray, valid: np.ndarray) -> float:
    """Ankle - knee - hip - mid-shoulder - nose length, left and right legs averaged (units of ``points``)."""
    legs = []
    for ankle, knee, hip in ((15, 13, 11), (16, 14, 12)):
        legs.append(_median_length(points, valid, ankle, knee) + _median_length(points, valid, knee, hip))
    torso = _median_length(points, valid, (L_HIP, R_HIP), (L_SHOULDER, R_SHOULDER))
    neck = _median_length(points, valid, (L_SHOULDER, R_SHOULDER), NOSE)
    leg = np.nanmean(legs) if np.isfinite(legs).any() else float("nan")
    return float(leg + torso + neck)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(np.linalg.norm(v), 1e-12)


def _median_direction(start: np.ndarray, end: np.ndarray) -> np.ndarray | None:
    """Median over frames of the unit vectors ``start (N, 3)`` -> ``end (N, 3)``; None when N = 0."""
    if len(start) == 0:
        return None
    axis = end - start
    axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    return _unit(np.median(axis, axis=0))


def body_up(points: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
    """Median unit direction mid-hip (or mid-ankle) -> mid-shoulder ``(3,)`` (leans with the torso); None if unseen."""
    for low in ((L_HIP, R_HIP), (L_ANKLE, R_ANKLE)):
        ok = valid[:, list(low) + [L_SHOULDER, R_SHOULDER]].all(1)
        if ok.any():
            return _median_direction(points[ok][:, low].mean(1), points[ok][:, [L_SHOULDER, R_SHOULDER]].mean(1))
    return None


def balance_axis(points: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
    """Median unit direction mid-ankle -> centre of mass ``(3,)``, or None when never measurable.

    The centre of mass is approximated from the limb joints and the nose with
    rough segment-mass weights (after Dempster's tables).
    """
    need = valid[:, MASS_WEIGHTS > 0].all(1) & valid[:, [L_ANKLE, R_ANKLE]].all(1)
    com = np.einsum("fjk,j->fk", points[need], MASS_WEIGHTS) / MASS_WEIGHTS.sum()
    return _median_direction(points[need][:, [L_ANKLE, R_ANKLE]].mean(1), com)


def lowest_foot_points(points: np.ndarray, valid: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Per frame, the foot point lowest along ``up`` ``(N, 3)`` (frames with a visible foot)."""
    feet = np.array(FOOT_JOINTS)
    heights = np.where(valid[:, feet], points[:, feet] @ up, np.inf)
    frames = np.isfinite(heights).any(1)
    lowest = heights[frames].argmin(1)
    return points[frames][np.arange(frames.sum()), feet[lowest]]


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(_unit(a) @ _unit(b), -1, 1))))


def _plane_normal(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal ``(3,)`` of the best plane through ``points (N, 3)`` and the RMS extents ``(3,)`` along its axes."""
    centred = points - points.mean(0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[2], sv / np.sqrt(len(points))


def estimate_up(cams: Pinholes, points: np.ndarray, valid: np.ndarray, scale: float) -> tuple[np.ndarray, str]:
    """World "up" ``(3,)`` and where it came from (see the module docstring); ``scale`` converts to metres."""
    body = balance_axis(points, valid)
    if body is None:
        body = body_up(points, valid)
    image_up = -cams.R[:, 1].mean(0)
    if body is None:  # no torso or legs ever triangulated: trust the cameras
        body = _unit(image_up)
    lowest = lowest_foot_points(points, valid, body)
    if len(lowest) >= 10:
        ground = lowest[lowest @ body <= np.quantile(lowest @ body, 0.5)]  # the feet on the ground
        normal, extent = _plane_normal(ground)
        normal = normal * np.sign(normal @ body)
        if extent[1] * scale >= MIN_FOOT_SPREAD_M and _angle_deg(normal, body) <= MAX_DISAGREEMENT_DEG:
            return normal, "feet"
    cues = [(body, "body balance")]
    if len(cams.R) >= 3:
        normal, extent = _plane_normal(cams.centers)
        if extent[2] < CAMERA_PLANE_FLATNESS * extent[1]:
            cues.append((normal, "camera centres"))
    cues.append((image_up, "camera image-up"))
    agreeing = [(_unit(d) * np.sign(d @ body), name) for d, name in cues]
    agreeing = [(d, name) for d, name in agreeing if _angle_deg(d, body) <= MAX_DISAGREEMENT_DEG]
    return _unit(np.sum([d for d, _ in agreeing], axis=0)), " + ".join(name for _, name in agreeing)


def fit_gauge(cams: Pinholes, points: np.ndarray, valid: np.ndarray, height_m: float = 1.70,
              scale_frames: np.ndarray | None = None) -> Gauge:
    """The similarity that puts cameras and ``points (F, J, 3)`` (``valid (F, J)``) in the metric, floor-based world.

    ``scale_frames (F,)`` bool: the frames of the person whose height is ``height_m`` (when the
    frames stack several people); None: every frame.

    Raises :class:`InputError` when the legs, hips, shoulders and nose are never
    triangulated together (no body length, so no metric scale).
    """
    chain = body_chain_length(points, valid) if scale_frames is None else (
        body_chain_length(points[scale_frames], valid[scale_frames]))
    if not np.isfinite(chain) or chain <= 0:
        raise InputError(
            "cannot fix the metric scale: the ankles, knees, hips, shoulders and nose are never all "
            "seen by two cameras; film the whole body"
        )
    scale = height_m * CHAIN_FRACTION_OF_HEIGHT / chain
    up, up_from = estimate_up(cams, points, valid, scale)
    lowest = lowest_foot_points(points, valid, up)
    floor = float(np.quantile(lowest @ up, 0.1)) if len(lowest) else float(np.min(points[valid] @ up))
    forward = cams.R[0, 2] - (cams.R[0, 2] @ up) * up
    if np.linalg.norm(forward) < 1e-6:  # camera 0 looks straight down or up
        forward = cams.R[0, 0] - (cams.R[0, 0] @ up) * up
    x_axis = _unit(forward)
    y_axis = np.cross(up, x_axis)
    Q = np.stack([x_axis, y_axis, up])  # rows: new axes in old coordinates
    pelvis_ok = valid[:, [L_HIP, R_HIP]].all(1)
    pelvis = points[pelvis_ok][:, [L_HIP, R_HIP]].mean(1).mean(0) if pelvis_ok.any() else points[valid].mean(0)
    origin = pelvis - ((pelvis @ up) - floor) * up  # on the floor under the mean pelvis
    u = -scale * Q @ origin
    return Gauge(float(scale), Q, u, chain, float(height_m), up_from)
