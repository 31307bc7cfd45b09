"""``synchronise``: per-camera tracks in, :class:`Detections` on one timeline and the offsets out.

Steps: the reference camera (highest frame rate) fixes the timeline; coarse offsets
from speed cross-correlation (:mod:`~mvmocap.sync.coarse`); then, with cameras, the
sub-frame refinement (:mod:`~mvmocap.sync.refine`); without, the offsets become extra
parameters of the calibration's bundle adjustment (:mod:`~mvmocap.sync.joint`), or
(``RefineSettings.without_cameras="alternate"``) the refinement alternates with the calibration. ``pinned`` offsets
(``--offset``) are kept as given. The tracks are then resampled onto the frames every
camera recorded (:mod:`~mvmocap.sync.resample`).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.sync.coarse import coarse_offsets
from mvmocap.sync.joint import joint_offsets
from mvmocap.sync.refine import RefineSettings, refine_offsets
from mvmocap.sync.resample import common_timeline, resample_detections
from mvmocap.sync.result import SyncResult
from mvmocap.sync.tracks import CameraTrack, rate_ratios, reference_camera

def _pinned_indices(tracks: list[CameraTrack], pinned: Mapping[str, float] | None) -> dict[int, float]:
    names = [t.name for t in tracks]
    unknown = sorted(set(pinned or {}) - set(names))
    if unknown:
        raise InputError(f"--offset for unknown camera(s) {', '.join(unknown)}; cameras: {', '.join(names)}")
    return {names.index(n): float(v) for n, v in (pinned or {}).items()}


def synchronise(
    tracks: list[CameraTrack],
    rig: CameraRig | None = None,
    *,
    pinned: Mapping[str, float] | None = None,
    detector: str = "unknown",
    calibrate: Callable[[Detections], CameraRig] | None = None,
    rounds: int = 2,
    settings: RefineSettings | None = None,
    log: Callable[[str], None] | None = None,
    focal_known: bool = False,
) -> tuple[Detections, SyncResult, CameraRig | None]:
    """Estimate every camera's time offset and resample the tracks onto the common timeline.

    Args:
        tracks: one per camera, each over its own frames (any lengths and frame rates).
        rig: known cameras (matched by name): the offsets are refined to sub-frame precision
            by the robust triangulation residual.
        pinned: camera name -> offset in timeline frames, kept as given (``--offset``).
        detector: the detector's name, kept in the returned detections.
        calibrate: without ``rig``: a function from synchronised detections to cameras
            (e.g. the calibration from joints), run at the coarse offsets; then the offsets are
            estimated with the cameras by one bundle adjustment (``settings.without_cameras ==
            "bundle"``, ``rounds`` ignored), or refined with its cameras and the calibration
            repeated, ``rounds`` times (``"alternate"``). None: coarse offsets only.
        settings: refinement settings.
        focal_known: ``calibrate`` keeps known intrinsics (the bundle adjustment then keeps them too).

    Returns:
        The synchronised :class:`Detections`, the :class:`SyncResult` and the rig the offsets
        were refined with (``rig``, the last calibration, or None).

    Raises:
        InputError: fewer than two cameras, a camera with too few detections, offsets that leave
            no frame common to all cameras.
    """
    if len(tracks) < 2:
        raise InputError(f"synchronising needs at least two cameras, got {len(tracks)}")
    log = log or (lambda message: None)
    names = tuple(t.name for t in tracks)
    reference = reference_camera(tracks)
    ratios = rate_ratios(tracks, reference)
    fixed = _pinned_indices(tracks, pinned)
    coarse, quality = coarse_offsets(tracks, ratios, reference, pinned=fixed)
    common_timeline(tracks, coarse, ratios)  # offsets beyond the videos' length: a clear error now
    log("coarse offsets " + ", ".join(f"{n} {o:+.1f}" for n, o in zip(names, coarse)))
    fixed_list = sorted(fixed) if fixed else [reference]
    offsets, sigma, cost, method, used_rig = coarse, np.full(len(tracks), np.nan), np.nan, "coarse", None
    if rig is not None:
        used_rig = rig.subset(names)
        offsets, sigma, cost = refine_offsets(tracks, used_rig, ratios, coarse, fixed_list, settings)
        method = "known cameras"
    elif calibrate is not None and (settings or RefineSettings()).without_cameras == "bundle":
        synced = resample_detections(tracks, offsets, ratios, detector=detector, timeline_fps=tracks[reference].fps)
        used_rig = calibrate(synced).subset(names)
        joint = joint_offsets(tracks, used_rig, ratios, offsets, fixed_list, focal_known=focal_known, settings=settings)
        window = (settings or RefineSettings()).window
        if np.abs(joint.offsets - offsets).max() <= window:
            offsets, sigma, cost = joint.offsets, joint.sigma.copy(), joint.residual_px ** 2
            log("bundle adjustment with offsets: " + ", ".join(f"{n} {o:+.2f}" for n, o in zip(names, offsets)))
            method = "calibration from joints, offsets in its bundle adjustment"
        else:  # it ran off further than the refinement would search: refine with the starting cameras instead
            log(f"the bundle adjustment moved an offset by more than {window:g} frames; refined with the cameras instead")
            offsets, sigma, cost = refine_offsets(tracks, used_rig, ratios, offsets, fixed_list, settings)
            method = "calibration from joints"
    elif calibrate is not None:
        for round_ in range(rounds):
            synced = resample_detections(tracks, offsets, ratios, detector=detector, timeline_fps=tracks[reference].fps)
            used_rig = calibrate(synced).subset(names)
            offsets, sigma, cost = refine_offsets(tracks, used_rig, ratios, offsets, fixed_list, settings)
            log(f"round {round_ + 1}: offsets " + ", ".join(f"{n} {o:+.2f}" for n, o in zip(names, offsets)))
        method = "calibration from joints"
    for c in fixed_list:
        sigma[c] = 0.0
    detections = resample_detections(tracks, offsets, ratios, detector=detector, timeline_fps=tracks[reference].fps)
    result = SyncResult(
        camera_names=names, offsets=offsets, uncertainty=sigma, coarse=coarse, ratios=ratios,
        fps=np.array([t.fps for t in tracks]), timeline_fps=float(tracks[reference].fps), reference=names[reference],
        method=method, pinned=tuple(names[c] for c in fixed), residual_px=float(np.sqrt(cost)) if np.isfinite(cost) else np.nan,
    )
    return detections, result, used_rig
