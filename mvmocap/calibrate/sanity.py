"""Sanity checks on a calibration from joints, before anything is written.

A calibration is refused (unless forced) when a camera sits below the floor,
the solution is mirrored (the body's chirality is wrong: its nose behind its
face, given which side is left), some points lie behind a camera that sees
them, or the cameras have too little baseline to triangulate anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mvmocap.calibrate.pinhole import Pinholes
from mvmocap.errors import MvmocapError

BELOW_FLOOR_M = 0.05
MIN_IN_FRONT = 0.95  # fraction of a camera's observed joints that must lie in front of it
MIN_PARALLAX_DEG = 2.0  # below this for every pair, the geometry is degenerate
HOMOGRAPHY_NOISE_RATIO = 3.0  # a pair is degenerate when a homography explains it this close to the noise...
DEGENERATE_PARALLAX_DEG = 10.0  # ...and its estimated parallax is this small
MIN_PAIR_POINTS = 20
L_HIP, R_HIP, L_SHOULDER, R_SHOULDER, NOSE = 11, 12, 5, 6, 0


class CalibrationRefused(MvmocapError):
    """The calibration from joints failed a sanity check (or the input is degenerate)."""


@dataclass(frozen=True)
class SanityIssue:
    """One failed check: ``fatal`` ones can not be forced (nothing sensible was computed)."""

    message: str
    fatal: bool = False


def pair_parallax_deg(cams: Pinholes, points: np.ndarray, valid: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``(C, C)`` median angle (degrees) between the rays of two cameras to the joints both see (0 on the diagonal)."""
    C = len(cams.R)
    centers = cams.centers
    parallax = np.zeros((C, C))
    for a in range(C):
        for b in range(a + 1, C):
            both = valid & (weight[a] > 0) & (weight[b] > 0)
            if not both.any():
                continue
            p = points[both]
            ra, rb = p - centers[a], p - centers[b]
            cos = (ra * rb).sum(-1) / np.linalg.norm(ra, axis=-1) / np.linalg.norm(rb, axis=-1)
            parallax[a, b] = parallax[b, a] = np.degrees(np.median(np.arccos(np.clip(cos, -1, 1))))
    return parallax


def homography_residuals_px(uv: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``(C, C)`` median transfer error (pixels) of the best homography between two views' joints.

    When one homography maps a camera's joints onto another's within the
    detection noise, the pair has no usable baseline (the cameras share a
    centre, or the person is flat and static): no epipolar geometry can be
    recovered from it. NaN for pairs with too few common joints.
    ``uv (C, F, J, 2)`` ideal centred pixels, ``weight (C, F, J)``.
    """
    C = len(uv)
    residual = np.full((C, C), np.nan)
    for a in range(C):
        for b in range(a + 1, C):
            both = (weight[a] > 0) & (weight[b] > 0)
            if both.sum() < MIN_PAIR_POINTS:
                continue
            pa, pb = uv[a][both].astype(np.float64), uv[b][both].astype(np.float64)
            H, _ = cv2.findHomography(pa, pb, cv2.LMEDS)
            if H is None:
                continue
            mapped = cv2.perspectiveTransform(pa[None], H)[0]
            residual[a, b] = residual[b, a] = float(np.median(np.linalg.norm(mapped - pb, axis=1)))
    return residual


def degenerate_pairs(homography_px: np.ndarray, noise_px: np.ndarray, parallax_deg: np.ndarray) -> np.ndarray:
    """``(C, C)`` bool: pairs without usable baseline.

    A homography explains them within ``HOMOGRAPHY_NOISE_RATIO`` times their
    reprojection error ``noise_px (C,)``, and the parallax the solution found
    ``(C, C)`` degrees is small. (A flat, static body also fits a homography
    between distant cameras; the parallax tells that case apart.)
    """
    noise = np.maximum(noise_px[:, None], noise_px[None, :])
    with np.errstate(invalid="ignore"):
        return (homography_px < HOMOGRAPHY_NOISE_RATIO * noise) & (parallax_deg < DEGENERATE_PARALLAX_DEG)


def chirality(points: np.ndarray, valid: np.ndarray, up: np.ndarray) -> float:
    """Fraction of frames where the nose is in front of the body (the side ``(left - right) x up`` points to).

    About 1 for a real person; about 0 for a mirrored reconstruction. NaN if never measurable.
    """
    need = valid[:, [L_HIP, R_HIP, L_SHOULDER, R_SHOULDER, NOSE]].all(1)
    if not need.any():
        return float("nan")
    p = points[need]
    left = p[:, [L_HIP, L_SHOULDER]].mean(1) - p[:, [R_HIP, R_SHOULDER]].mean(1)
    forward = np.cross(left, up)
    nose = p[:, NOSE] - p[:, [L_SHOULDER, R_SHOULDER]].mean(1)
    return float(((nose * forward).sum(-1) > 0).mean())


def check_calibration(
    cams: Pinholes,
    points: np.ndarray,
    valid: np.ndarray,
    weight: np.ndarray,
    names: tuple[str, ...],
    degenerate: np.ndarray | None = None,
) -> list[SanityIssue]:
    """Problems of gauged cameras and joints (world +Z up, floor z = 0); empty when all is well.

    Args:
        cams: C cameras; points ``(F, J, 3)`` metres; valid ``(F, J)``;
        weight ``(C, F, J)`` the observations used; names: C camera names.
        degenerate: ``(C, C)`` pairs without usable baseline (see :func:`degenerate_pairs`), if known.
    """
    issues = []
    parallax = pair_parallax_deg(cams, points, valid, weight)
    C = len(names)
    no_baseline = np.zeros((C, C), dtype=bool) if degenerate is None else degenerate.copy()
    np.fill_diagonal(no_baseline, True)
    if parallax.max() < MIN_PARALLAX_DEG or no_baseline.all():
        why = (
            f"the largest parallax is {parallax.max():.1f} deg"
            if parallax.max() < MIN_PARALLAX_DEG
            else "every pair of views is a homography of the other"
        )
        issues.append(
            SanityIssue(
                f"degenerate geometry: the cameras see the joints from almost the same place ({why}); "
                "move the cameras apart and have the person move through the volume",
                fatal=True,
            )
        )
        return issues
    for c, name in enumerate(names):
        if no_baseline[c].all():
            issues.append(
                SanityIssue(f"camera {name} has no baseline to any other camera (its views are a homography of theirs)")
            )
    centers = cams.centers
    for c, name in enumerate(names):
        if centers[c, 2] < -BELOW_FLOOR_M:
            issues.append(SanityIssue(f"camera {name} is {-centers[c, 2]:.2f} m below the floor"))
        seen = valid & (weight[c] > 0)
        if seen.any():
            depth = (points[seen] @ cams.R[c].T + cams.t[c])[:, 2]
            in_front = float((depth > 0).mean())
            if in_front < MIN_IN_FRONT:
                issues.append(
                    SanityIssue(f"camera {name} has {100 * (1 - in_front):.0f}% of the joints it sees behind it")
                )
    score = chirality(points, valid, np.array([0.0, 0.0, 1.0]))
    if score < 0.5:
        issues.append(
            SanityIssue(
                f"the solution looks mirrored: the nose is in front of the body in only {100 * score:.0f}% of frames"
            )
        )
    return issues


def raise_if_refused(issues: list[SanityIssue], force: bool) -> None:
    """Raise :class:`CalibrationRefused` listing the issues, unless ``force`` and none is fatal."""
    if not issues:
        return
    fatal = [i for i in issues if i.fatal]
    if fatal or not force:
        hint = "" if fatal else " (use --force to write it anyway)"
        raise CalibrationRefused(
            "calibration from joints refused: " + "; ".join(i.message for i in (fatal or issues)) + hint
        )
