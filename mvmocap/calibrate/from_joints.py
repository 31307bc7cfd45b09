"""Calibration from the human body: cameras from a person's 2D (and monocular 3D) joints.

Pipeline (``calibrate_from_joints``):

1. Prepare the observations (undistort with known intrinsics, or centre them
   and guess focal lengths).
2. Initialise by MetaPose stage 1 (Procrustes of per-view monocular 3D) and by
   essential matrices chained through the view graph; or, when a per-frame
   camera estimator is handed down (``frame_cameras``: MetaPose's, from
   ``--init metapose``), only the rig averaged from its cameras
   (:mod:`mvmocap.calibrate.init_frame_cameras`); with unknown focal lengths,
   for each of a few focal guesses. Keep the initialisation with the lowest
   robust reprojection cost.
3. Make the views agree on left and right, then one global robust bundle
   adjustment (cameras, focal lengths if unknown, all joints of all frames,
   bone lengths constant and symmetric); reject outliers, re-check swaps,
   adjust again.
4. Gauge: metres from the subject's height, floor at z = 0, +Z up, origin
   under the mean pelvis.
5. Sanity checks; refuse (unless forced) and say why.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from mvmocap.calibrate.bundle_adjust import BundleResult, bundle_adjust
from mvmocap.calibrate.gauge import fit_gauge
from mvmocap.calibrate.init_essential import init_from_essential
from mvmocap.calibrate.init_frame_cameras import FrameCamerasFunction, pinholes_from_frame_cameras
from mvmocap.calibrate.init_procrustes import init_from_mono3d
from mvmocap.calibrate.observations import (
    MIN_VIEWS_JOINTS,
    SIZE_TOLERANCE,
    Observations,
    default_focal_guess,
    prepare_observations,
)
from mvmocap.calibrate.pinhole import Pinholes, robust_cost, triangulate
from mvmocap.calibrate.report import CalibrationReport, camera_quality
from mvmocap.calibrate.sanity import (
    CalibrationRefused,
    check_calibration,
    degenerate_pairs,
    homography_residuals_px,
    pair_parallax_deg,
    raise_if_refused,
)
from mvmocap.calibrate.swaps import find_swaps
from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.keypoints import COCO23, flip_permutation

FOCAL_GUESSES = (0.6, 0.9, 1.3)  # x max(width, height) when the focal lengths are unknown
HUBER_FRACTION = 0.003  # Huber scale as a fraction of the image diagonal (~6 px at 1080 x 1920)
OUTLIER_HUBERS = 4.0  # observations further than this many Huber scales (or 3 median errors) are rejected
TRIANGULATION_CAP_HUBERS = 5.0


@dataclass(frozen=True)
class CalibrationResult:
    """A calibration from joints.

    Attributes:
        rig: the cameras (metres, world +Z up, floor z = 0), in the detections' camera order.
        report: per-camera quality and how the solution was obtained.
        points: ``(F, 23, 3)`` the joints the cameras were fitted with, world metres (0 where not ``valid``).
        valid: ``(F, 23)`` bool.
        frame_ids: ``(F,)`` the detections' frame numbers used.
    """

    rig: CameraRig
    report: CalibrationReport
    points: np.ndarray
    valid: np.ndarray
    frame_ids: np.ndarray


def _logger(progress: bool | Callable[[str], None]) -> Callable[[str], None]:
    if callable(progress):
        return progress
    if progress:
        return lambda message: print(message, file=sys.stderr, flush=True)
    return lambda message: None


def _check_enough_joints(obs: Observations) -> None:
    counts = (obs.weight > 0).sum((1, 2))
    poor = [f"{n} ({k})" for n, k in zip(obs.names, counts) if k < MIN_VIEWS_JOINTS]
    if len(poor) > len(obs.names) - 2:
        raise CalibrationRefused(
            f"too few confident joints to calibrate: {', '.join(poor)} (at least {MIN_VIEWS_JOINTS} "
            "per camera, in at least two cameras)"
        )
    if poor:
        raise CalibrationRefused(
            f"camera(s) {', '.join(poor)} see too few confident joints (at least {MIN_VIEWS_JOINTS} needed); "
            "calibrate without them"
        )


def initial_candidates(obs: Observations, frame_cameras: FrameCamerasFunction | None = None) -> list[tuple[str, Pinholes]]:
    """Every initialisation tried, for each focal guess when the focal lengths are unknown: both
    methods (mono3d-procrustes, essential), or only the rig averaged from ``frame_cameras(obs)``
    (per-frame cameras, e.g. MetaPose's: :mod:`mvmocap.calibrate.init_frame_cameras`) when given."""
    focal_sets = [("", obs.focal)] if obs.focal_known else [
        (f" f={g:g}·max(w,h)", default_focal_guess(obs.image_sizes, g)) for g in FOCAL_GUESSES
    ]
    per_frame = frame_cameras(obs) if frame_cameras is not None else None
    candidates = []
    for suffix, focal in focal_sets:
        guess = obs if obs.focal_known else obs.with_focal(focal)
        if per_frame is not None:
            starts = ((per_frame.label, lambda o: pinholes_from_frame_cameras(per_frame, o.focal)),)
        else:
            starts = (("mono3d-procrustes", init_from_mono3d), ("essential", init_from_essential))
        for label, init in starts:
            cams = init(guess)
            if cams is not None and np.all(np.isfinite(cams.t)):
                candidates.append((label + suffix, cams))
    return candidates


def _adjust(cams, obs, reference, huber_px, same_focal) -> BundleResult:
    points, valid = triangulate(cams, obs.uv, obs.weight, threshold_px=TRIANGULATION_CAP_HUBERS * huber_px)
    return bundle_adjust(
        cams, obs.uv, obs.weight, points, valid,
        fixed_camera=reference, optimise_focal=not obs.focal_known, shared_focal=same_focal, huber_px=huber_px,
        frame_person=obs.person,
    )


def _outliers(result: BundleResult, obs: Observations, huber_px: float) -> np.ndarray:
    used = (obs.weight > 0) & result.valid[None]
    if not used.any():
        return np.zeros_like(used)
    threshold = max(OUTLIER_HUBERS * huber_px, 3.0 * float(np.median(result.errors[used])))
    return used & (result.errors > threshold)


def _camera_qualities(refined, cams_world, points_world, parallax, scale, names) -> tuple:
    """One :class:`CameraQuality` per camera, from the final adjustment and the gauged cameras and joints."""
    final, used = refined.result, refined.used
    qualities = []
    for c, name in enumerate(names):
        distance = np.median(np.linalg.norm(points_world[final.valid] - cams_world.centers[c], axis=-1))
        qualities.append(
            camera_quality(
                name,
                final.errors[c][used[c]],
                int(refined.rejected[c].sum()),
                int(refined.swaps[c].sum()),
                float(np.minimum(parallax[c], 180.0 - parallax[c]).max()),  # opposite rays triangulate badly too
                float(cams_world.focal[c].mean()),
                float(final.rotation_std_deg[c]),
                float(final.translation_std[c] * scale),
                float(distance),
            )
        )
    return tuple(qualities)


def _to_rig(cams: Pinholes, obs: Observations) -> CameraRig:
    C = obs.num_cameras
    if obs.intrinsics is not None:
        K, dist, sizes = obs.intrinsics.K, obs.intrinsics.dist, obs.intrinsics.sizes
    else:
        K = np.zeros((C, 3, 3))
        K[:, 0, 0], K[:, 1, 1] = cams.focal[:, 0], cams.focal[:, 1]
        K[:, :2, 2], K[:, 2, 2] = obs.principal, 1.0
        K, dist, sizes = torch.as_tensor(K), torch.zeros(C, 5, dtype=torch.float64), torch.as_tensor(obs.image_sizes)
    return CameraRig(obs.names, K, dist, torch.as_tensor(cams.R), torch.as_tensor(cams.t), sizes)


def check_subject_height(height_m: float) -> None:
    """The metric scale comes from the subject's height: refuse what is not a person's height in metres."""
    if not 0.5 < height_m < 2.8:  # also refuses NaN
        raise InputError(f"subject height must be in metres (0.5 to 2.8), got {height_m}")


def calibrate_from_joints(
    detections: Detections,
    intrinsics: CameraRig | None = None,
    height_m: float = 1.70,
    force: bool = False,
    progress: bool | Callable[[str], None] = True,
    *,
    min_confidence: float = 0.3,
    max_frames: int = 200,
    same_focal: bool = False,
    frame_person: np.ndarray | None = None,
    frame_cameras: FrameCamerasFunction | None = None,
) -> CalibrationResult:
    """Estimate every camera's pose (and focal length, if ``intrinsics`` is None) from one person's joints.

    Args:
        detections: one person's joints in C >= 2 synchronised cameras.
        intrinsics: known cameras, matched by name (their K and distortion are
            kept, their poses ignored); None to estimate one focal length per
            camera with the principal point at the image centre and no distortion.
        height_m: the subject's height, for the metric scale.
        force: return a calibration even when a (non-fatal) sanity check fails.
        progress: True to print stages on stderr, or a callable taking a line.
        min_confidence: joints below this confidence are ignored.
        max_frames: frames are subsampled evenly down to this many.
        same_focal: without intrinsics, estimate one focal length shared by all
            cameras (identical cameras and zoom; the videos must have the same size).
        frame_person: ``(F,)`` int when the frames stack several people's joints (see
            :func:`mvmocap.calibrate.from_people.calibrate_from_people_joints`): each person keeps
            their own bone lengths, and ``height_m`` is person 0's height. None: one person.
        frame_cameras: a per-frame camera estimator (e.g. MetaPose's,
            :func:`mvmocap.regressors.metapose.static_rig.metapose_start`) whose averaged rig is
            the only start of the bundle adjustment; None: today's starts (mono3d-procrustes, essential).

    Raises:
        InputError: fewer than two cameras, intrinsics missing for a camera, a bad height.
        CalibrationRefused: degenerate input, or a failed sanity check without ``force``.
    """
    check_subject_height(height_m)
    log = _logger(progress)
    start = time.perf_counter()
    obs = prepare_observations(detections, intrinsics, min_confidence=min_confidence, max_frames=max_frames,
                               frame_person=frame_person)
    _check_enough_joints(obs)
    same_focal = same_focal and not obs.focal_known
    if same_focal and np.abs(obs.image_sizes / obs.image_sizes[0] - 1).max() > SIZE_TOLERANCE:
        raise InputError("one shared focal length needs videos of the same size (within 2 %); drop same_focal")
    huber_px = HUBER_FRACTION * float(np.median(np.linalg.norm(obs.image_sizes, axis=1)))

    tick = time.perf_counter()
    label, cams, costs = _initialise(obs, huber_px, frame_cameras)
    init_s = time.perf_counter() - tick
    log(f"initialisation: {label} in {init_s:.2f} s (robust costs px²: " + ", ".join(f"{k} {v:.0f}" for k, v in costs.items()) + ")")
    refined = _refine(cams, obs, huber_px, log, same_focal)
    final, used = refined.result, refined.used

    gauge = fit_gauge(final.cams, final.points, final.valid, height_m,
                      None if obs.person is None else obs.person == 0)
    cams_world = gauge.apply_cameras(final.cams)
    points_world = np.where(final.valid[..., None], gauge.apply_points(final.points), 0.0)
    parallax = pair_parallax_deg(cams_world, points_world, final.valid, refined.obs.weight)
    noise = np.array([np.median(final.errors[c][used[c]]) if used[c].any() else np.inf for c in range(len(used))])
    degenerate = degenerate_pairs(homography_residuals_px(refined.obs.uv, refined.obs.weight), noise, parallax)
    issues = check_calibration(cams_world, points_world, final.valid, refined.obs.weight, obs.names, degenerate)
    raise_if_refused(issues, force)

    report = CalibrationReport(
        cameras=_camera_qualities(refined, cams_world, points_world, parallax, gauge.scale, obs.names),
        initialisation=label,
        initial_costs=costs,
        frames_used=obs.num_frames,
        focal_estimated=not obs.focal_known,
        focal_shared=same_focal,
        height_m=height_m,
        up_from=gauge.up_from,
        issues=tuple(i.message for i in issues),
        runtime_s=time.perf_counter() - start,
        initialisation_s=init_s,
    )
    return CalibrationResult(_to_rig(cams_world, obs), report, points_world, final.valid, obs.frame_ids)


def _initialise(obs: Observations, huber_px: float,
                frame_cameras: FrameCamerasFunction | None = None) -> tuple[str, Pinholes, dict]:
    """The initialisation with the lowest robust reprojection cost: its label, cameras, and every cost."""
    candidates = initial_candidates(obs, frame_cameras)
    if not candidates:
        what = "the cameras share too few joints" if frame_cameras is None else \
            "the per-frame cameras place some camera in no frame together with the reference camera"
        raise CalibrationRefused(f"no initialisation succeeded: {what}")
    cap = TRIANGULATION_CAP_HUBERS * huber_px
    costs = {label: robust_cost(cams, obs.uv, obs.weight, cap_px=cap) for label, cams in candidates}
    label, cams = min(candidates, key=lambda item: costs[item[0]])
    return label, cams, costs


@dataclass(frozen=True)
class _Refined:
    """Output of :func:`_refine`: the final adjustment, the observations it used (swapped and
    cleaned), the views swapped ``(C, F)``, the observations rejected ``(C, F, J)`` and used ``(C, F, J)``."""

    result: BundleResult
    obs: Observations
    swaps: np.ndarray
    rejected: np.ndarray
    used: np.ndarray


def _refine(cams: Pinholes, obs: Observations, huber_px: float, log: Callable[[str], None], same_focal: bool) -> _Refined:
    """Swaps, bundle adjustment, outlier rejection, swaps again, bundle adjustment again."""
    reference = int(np.argmax((obs.weight > 0).sum((1, 2))))  # the best-seen camera holds the gauge
    cap = TRIANGULATION_CAP_HUBERS * huber_px
    swaps = find_swaps(cams, obs, cap_px=cap)
    obs = obs.flipped(swaps)
    if same_focal:  # start from the initialisation's focal guess, equal everywhere
        cams = Pinholes(cams.R, cams.t, np.broadcast_to(np.median(cams.focal, axis=0), cams.focal.shape).copy())
    first = _adjust(cams, obs, reference, huber_px, same_focal)
    rejected = _outliers(first, obs, huber_px)
    log(f"bundle adjustment 1: {first.iterations} iterations, {int(rejected.sum())} outliers rejected")
    cleaned = obs.with_weight(np.where(rejected, 0.0, obs.weight))
    more_swaps = find_swaps(first.cams, cleaned, cap_px=cap)
    cleaned = cleaned.flipped(more_swaps)
    rejected = np.where(more_swaps[..., None], rejected[:, :, _flip_index(obs)], rejected)
    final = _adjust(first.cams, cleaned, reference, huber_px, same_focal)
    log(f"bundle adjustment 2: {final.iterations} iterations, {int((swaps ^ more_swaps).sum())} views swapped")
    used = (cleaned.weight > 0) & final.valid[None]
    return _Refined(final, cleaned, swaps ^ more_swaps, rejected, used)


def _flip_index(obs: Observations) -> np.ndarray:
    return np.array(flip_permutation(COCO23[: obs.uv.shape[2]]))
