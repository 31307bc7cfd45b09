"""Offsets without known cameras: time offsets as extra parameters of the calibration's bundle adjustment.

Starting from cameras calibrated on the tracks resampled at the coarse offsets, one robust bundle
adjustment (:func:`mvmocap.calibrate.bundle_adjust.bundle_adjust`) estimates every camera's pose,
focal length (when the intrinsics are unknown), every joint of a set of timeline frames, the bone
lengths *and* every camera's continuous time offset (the timeline's reference camera and pinned
cameras held): each camera's 2D track is read at its own fractional frame ``(tau - o_c) / r_c`` and
the offset's Jacobian is minus the track's time derivative there
(:class:`mvmocap.calibrate.timed.TimedObservations`). Outliers are then rejected and the adjustment
repeated. The tracks are cleaned as for the known-camera refinement (left/right swaps undone in time
and with the starting cameras) and converted to ideal centred pixels with the starting cameras'
intrinsics. They are read by a Gaussian kernel regression at the fractional frame (``sigma`` =
``smooth_frames`` frames of the slowest camera), or (``bundle_interpolation="linear"``) smoothed by a
Gaussian in time and read linearly between samples, which pulls the offsets towards half frames.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from mvmocap.calibrate.bundle_adjust import BundleResult, bundle_adjust
from mvmocap.calibrate.from_joints import HUBER_FRACTION, OUTLIER_HUBERS, TRIANGULATION_CAP_HUBERS
from mvmocap.calibrate.pinhole import Pinholes, triangulate
from mvmocap.calibrate.timed import TimedObservations
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.projection import undistort_points
from mvmocap.sync.refine import TRUNCATE_MEDIANS, RefineSettings, evaluation_frames
from mvmocap.sync.smooth import smooth_track, unswap_in_time
from mvmocap.sync.swaps import unswap_with_cameras
from mvmocap.sync.tracks import CameraTrack

MAX_BUNDLE_FRAMES = 200  # timeline frames in the adjustment (evenly subsampled), as the calibration from joints


@dataclass(frozen=True)
class JointOffsets:
    """Attributes: ``offsets (C,)`` timeline frames, ``sigma (C,)`` their standard deviations from the
    adjustment's covariance (0 for held cameras), ``residual_px`` the root of the mean truncated squared
    reprojection error at the end, ``bundle`` the final adjustment."""

    offsets: np.ndarray
    sigma: np.ndarray
    residual_px: float
    bundle: BundleResult


def ideal_tracks(tracks: list[CameraTrack], rig: CameraRig, min_confidence: float) -> tuple[list, list]:
    """Each camera's keypoints as ideal centred pixels ``(F_c, J, 2)`` (undistorted, principal point at 0) and
    their weights ``(F_c, J)`` (confidence below ``min_confidence`` -> 0)."""
    rig = rig.to(torch.float64)
    uv, weight = [], []
    for c, track in enumerate(tracks):
        K = rig.K[c]
        normalized = undistort_points(torch.as_tensor(track.keypoints[..., :2]), K, rig.dist[c]).numpy()
        focal = np.array([float(K[0, 0]), float(K[1, 1])])
        conf = np.where(track.keypoints[..., 2] >= min_confidence, track.keypoints[..., 2], 0.0)
        uv.append(np.where(conf[..., None] > 0, normalized * focal, 0.0))
        weight.append(conf)
    return uv, weight


def _pinholes(rig: CameraRig) -> Pinholes:
    rig = rig.to(torch.float64)
    focal = torch.stack([rig.K[:, 0, 0], rig.K[:, 1, 1]], -1).numpy()
    return Pinholes(rig.R.numpy().copy(), rig.t.numpy().copy(), focal.copy())


def _adjust(cams, timing, offsets, rejected, reference, optimise_focal, huber_px) -> BundleResult:
    uv = timing.at(offsets)[0]
    weight = np.where(rejected, 0.0, timing.weights_at(offsets))
    points, valid = triangulate(cams, uv, weight, threshold_px=TRIANGULATION_CAP_HUBERS * huber_px)
    return bundle_adjust(cams, uv, weight, points, valid, fixed_camera=reference, optimise_focal=optimise_focal,
                         huber_px=huber_px, timing=timing, offsets=offsets)


def joint_offsets(
    tracks: list[CameraTrack], rig: CameraRig, ratios: np.ndarray, start: np.ndarray, fixed: list[int], *,
    focal_known: bool, settings: RefineSettings | None = None,
) -> JointOffsets:
    """Offsets ``(C,)`` estimated jointly with the cameras and joints by one robust bundle adjustment.

    Args:
        tracks: per-camera 2D tracks on their own frames, in ``rig``'s camera order.
        rig: starting cameras (e.g. the calibration from joints at the ``start`` offsets); their
            intrinsics turn the tracks into ideal pixels.
        ratios: ``(C,)`` timeline frames per camera frame.
        start: ``(C,)`` starting offsets, timeline frames (the coarse search).
        fixed: camera indices whose offset is held (the timeline's reference, ``--offset`` ones).
        focal_known: the intrinsics are known (else one focal length per camera is estimated too).
    """
    s = settings or RefineSettings()
    start = np.asarray(start, np.float64)
    frames = evaluation_frames(tracks, start, ratios, s.window + 1, MAX_BUNDLE_FRAMES)
    tracks = [replace(t, keypoints=unswap_in_time(t.keypoints)) for t in tracks]
    if s.unswap_with_cameras:
        tracks, _ = unswap_with_cameras(tracks, rig, ratios, start, min_confidence=s.min_confidence,
                                        threshold_px=s.truncate_px)
    kernel = None
    if s.bundle_interpolation == "gaussian":  # one blur in time for every frame rate, as the refinement's kernel
        kernel = s.smooth_frames * np.max(ratios) / np.asarray(ratios, np.float64)
    else:
        tracks = [replace(t, keypoints=smooth_track(t.keypoints, s.smooth_frames)) for t in tracks]
    uv, weight = ideal_tracks(tracks, rig, s.min_confidence)
    held = np.isin(np.arange(len(tracks)), fixed)
    timing = TimedObservations.from_tracks(uv, weight, ratios, frames, held, kernel)
    sizes = np.array([t.image_size for t in tracks], np.float64)
    huber_px = HUBER_FRACTION * float(np.median(np.linalg.norm(sizes, axis=1)))
    reference = int(np.argmax([(w > 0).sum() for w in weight]))  # the best-seen camera holds the pose gauge
    cams = _pinholes(rig)
    no_rejection = np.zeros((len(tracks), len(frames), tracks[0].keypoints.shape[1]), bool)
    first = _adjust(cams, timing, start, no_rejection, reference, not focal_known, huber_px)
    used = first.errors > 0
    threshold = max(OUTLIER_HUBERS * huber_px, 3.0 * float(np.median(first.errors[used]))) if used.any() else np.inf
    final = _adjust(first.cams, timing, first.offsets, first.errors > threshold, reference, not focal_known, huber_px)
    return JointOffsets(final.offsets, np.where(held, 0.0, final.offset_std), _residual_px(final), final)


def _residual_px(result: BundleResult) -> float:
    """Root of the mean squared reprojection error truncated at ``TRUNCATE_MEDIANS`` x its median."""
    errors = result.errors[result.errors > 0]
    if not len(errors):
        return float("nan")
    cap = TRUNCATE_MEDIANS * float(np.median(errors))
    return float(np.sqrt(np.mean(np.minimum(errors, cap) ** 2)))
