"""Initialisation from essential matrices, chained through the view graph.

Every pair of cameras gets an essential matrix from the joints both see over
all frames (OpenCV's USAC_ACCURATE: RANSAC with local optimisation and a final
fit to all inliers; plain RANSAC keeps the 5-point minimal model, which lands
several degrees off on body joints). The pair with the most inliers and enough
parallax starts the reconstruction (its relative pose fixes the world and a
unit baseline); the other cameras are then added one by one, each time the
one sharing most triangulated joints with the cameras already placed, by
RANSAC PnP on those joints, and the joints are re-triangulated with every
camera placed so far.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mvmocap.calibrate.observations import Observations
from mvmocap.calibrate.pinhole import Pinholes, rodrigues, triangulate

MIN_PAIR_POINTS = 30
RANSAC_PX = 5.0  # inlier threshold, pixels (BlazePose joints on 1-2k pixel images)


@dataclass(frozen=True)
class PairGeometry:
    """Relative pose of camera b to camera a: ``x_b = R @ x_a + t`` (``|t| = 1``)."""

    a: int
    b: int
    R: np.ndarray
    t: np.ndarray
    inliers: int
    parallax_deg: float


def _common(obs: Observations, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    both = (obs.weight[a] > 0) & (obs.weight[b] > 0)
    xn = obs.normalized()
    return xn[a][both], xn[b][both]


def pair_geometry(obs: Observations, a: int, b: int, *, seed: int = 0) -> PairGeometry | None:
    """Essential matrix and relative pose of cameras ``a`` and ``b`` from their common joints."""
    pa, pb = _common(obs, a, b)
    if len(pa) < MIN_PAIR_POINTS:
        return None
    threshold = RANSAC_PX / float(np.sqrt(obs.focal[a].mean() * obs.focal[b].mean()))
    cv2.setRNGSeed(seed)
    E, mask = cv2.findEssentialMat(pa, pb, np.eye(3), method=cv2.USAC_ACCURATE, prob=0.999, threshold=threshold)
    if E is None or E.shape != (3, 3):
        return None
    inliers, R, t, mask = cv2.recoverPose(E, pa, pb, np.eye(3), mask=mask.copy())
    if inliers < MIN_PAIR_POINTS // 2:
        return None
    keep = mask.ravel() > 0
    # parallax: angle between the two rays of each inlier, in camera a's frame
    ray_a = np.concatenate([pa[keep], np.ones((keep.sum(), 1))], 1)
    ray_b = np.concatenate([pb[keep], np.ones((keep.sum(), 1))], 1) @ R  # R^T applied to rows
    cos = (ray_a * ray_b).sum(1) / np.linalg.norm(ray_a, axis=1) / np.linalg.norm(ray_b, axis=1)
    parallax = float(np.degrees(np.median(np.arccos(np.clip(cos, -1, 1)))))
    return PairGeometry(a, b, R, t.ravel(), int(inliers), parallax)


def init_from_essential(obs: Observations, *, min_parallax_deg: float = 2.0) -> Pinholes | None:
    """Cameras from pairwise essential matrices grown by PnP (None when no pair is usable).

    The world is the first camera of the starting pair's frame, with a unit baseline.
    """
    C = obs.num_cameras
    pairs = [g for a in range(C) for b in range(a + 1, C) if (g := pair_geometry(obs, a, b)) is not None]
    pairs = [g for g in pairs if g.parallax_deg >= min_parallax_deg]
    if not pairs:
        return None
    start = max(pairs, key=lambda g: g.inliers)
    R = np.tile(np.eye(3), (C, 1, 1))
    t = np.zeros((C, 3))
    R[start.b], t[start.b] = start.R, start.t
    placed = [start.a, start.b]
    xn = obs.normalized()
    while True:
        cams = Pinholes(R[placed], t[placed], obs.focal[placed])
        points, valid = triangulate(cams, obs.uv[placed], obs.weight[placed])
        remaining = [c for c in range(C) if c not in placed]
        if not remaining:
            break
        shared = [int(((obs.weight[c] > 0) & valid).sum()) for c in remaining]
        c = remaining[int(np.argmax(shared))]
        use = (obs.weight[c] > 0) & valid
        if use.sum() < MIN_PAIR_POINTS:
            return None
        threshold = RANSAC_PX / float(obs.focal[c].mean())
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(
            points[use].astype(np.float64),
            xn[c][use].astype(np.float64),
            np.eye(3),
            None,
            reprojectionError=threshold,
            iterationsCount=200,
            flags=cv2.SOLVEPNP_EPNP,
        )
        if not ok or inliers is None or len(inliers) < MIN_PAIR_POINTS // 2:
            return None
        inl = inliers.ravel()
        rvec, tvec = cv2.solvePnPRefineLM(points[use][inl], xn[c][use][inl], np.eye(3), None, rvec, tvec)
        R[c], t[c] = rodrigues(rvec.ravel()), tvec.ravel()
        placed.append(c)
    return Pinholes(R, t, obs.focal.copy())
