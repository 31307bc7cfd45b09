"""``mvmocap.detect.run``: videos -> cached per-camera detections -> :class:`Detections`.

A backend (:mod:`~mvmocap.detect.blazepose`, :mod:`~mvmocap.detect.detectron2`,
:mod:`~mvmocap.detect.openpose_json`) has a ``name``, a ``settings`` dict (what
changes its output: part of the cache key), ``start_camera(name)``, ``close()``
and either ``process(image_bgr) -> Candidates`` or, with ``reads_images = False``,
``process_frame(local_frame) -> Candidates | None`` (None = no data for that frame);
optionally ``source_key(camera) -> dict`` (its inputs, for the cache key).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mvmocap.detect.cache import (
    CameraDetections,
    camera_file,
    clear_index,
    find_reusable,
    load_camera,
    make_key,
    read_index,
    save_camera,
    write_index,
)
from mvmocap.detect.candidates import NUM_JOINTS
from mvmocap.detect.detections import Detections
from mvmocap.detect.report import Reporter, print_summary
from mvmocap.detect.tracking import PersonTracker
from mvmocap.errors import FileFormatError, InputError
from mvmocap.io.video import CameraSource, discover_cameras, open_camera, parse_offsets, plan_frames

DETECTORS = ("blazepose", "detectron2", "openpose-json")
DEVICES = ("cpu", "cuda")


def run(
    videos_dir: str | Path,
    out: str | Path,
    detector: str = "blazepose",
    frames: str | None = None,
    offsets: Mapping[str, int] | Sequence[str] | None = None,
    strict: bool = False,
    device: str = "cpu",
    export_openpose: str | Path | None = None,
    progress: bool = True,
    *,
    weights: str | Path | None = None,
    densepose_weights: str | Path | None = None,
    openpose_dir: str | Path | None = None,
    scale: float = 0.5,
    force: bool = False,
    max_people: int = 1,
    own_frames: bool = False,
) -> Detections:
    """Detect the person in every camera of ``videos_dir`` and cache the result under ``out/detections``.

    Args:
        videos_dir: one video per camera (stem = camera name) or one image folder per camera.
        out: the work folder (shared with ``calibrate --from-joints`` and ``reconstruct``).
        detector: ``"blazepose"`` (default, CPU), ``"detectron2"`` (Keypoint R-CNN, optional
            DensePose; needs detectron2 installed) or ``"openpose-json"`` (import per-frame JSON).
        frames: ``"start:stop:step"`` on the common timeline (None = all common frames).
        offsets: per-camera start offsets in frames (``{"cam02": 3}`` or ``["cam02=3"]``): a
            camera that started 3 frames late shows timeline frame ``i`` as its frame ``i - 3``.
        strict: frame counts / rates that differ between cameras are an error instead of a warning.
        device: ``"cpu"`` or ``"cuda"`` (detectron2 only; BlazePose always runs on the CPU).
        export_openpose: also write OpenPose BODY_25 JSON per camera into this folder.
        progress: show per-camera progress bars and the summary table (on stderr).
        weights: Keypoint R-CNN weights file (detectron2).
        densepose_weights: DensePose R-101 weights file (detectron2; IUV maps only when given).
        openpose_dir: where the ``<camera>_json`` folders are (openpose-json; default ``videos_dir``).
        scale: BlazePose input downscale factor (speed; landmarks stay full-resolution pixels).
        force: recompute every camera even when the cache matches.
        max_people: 1 (default) keeps one tracked person per camera; N > 1 keeps every person
            (up to N + 2 per camera) and returns :class:`~mvmocap.detect.people.PeopleDetections`
            (see :mod:`mvmocap.detect.people_run`).
        own_frames: detect every camera over all its own frames (``frames``, ``offsets`` and
            ``strict`` ignored) and return the per-camera ``CameraDetections`` list unassembled
            (for :mod:`mvmocap.sync`, which puts them on one timeline).

    Returns:
        The :class:`Detections` of every camera over the common frames. Cameras whose cache
        matches (same detector, settings, source file and frames) are not recomputed.
    """
    if detector not in DETECTORS:
        raise InputError(f"unknown detector {detector!r}: use one of {', '.join(DETECTORS)}")
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r}: use cpu or cuda")
    if max_people != 1:
        from mvmocap.detect.people_run import export_people_openpose, run_people

        people = run_people(videos_dir, out, max_people=max_people, detector=detector, frames=frames, offsets=offsets,
                            strict=strict, progress=progress, openpose_dir=openpose_dir, scale=scale, force=force,
                            device=device, weights=weights, densepose_weights=densepose_weights)
        if export_openpose is not None:
            export_people_openpose(export_openpose, people)
        return people
    paths = discover_cameras(videos_dir, allow_folders_without_images=detector == "openpose-json")
    backend = _make_backend(detector, device=device, weights=weights, densepose_weights=densepose_weights,
                            openpose_dir=Path(openpose_dir) if openpose_dir else Path(videos_dir), scale=scale)
    sources = [open_camera(p) for p in paths]
    if own_frames:  # every camera over all its own frames; mvmocap.sync puts them on one timeline
        plans = {s.name: (np.arange(s.num_frames, dtype=np.int64),) * 2 for s in sources}
    else:
        plan = plan_frames(sources, frames, parse_offsets(offsets), strict=strict)
        plans = {s.name: (plan.frame_ids, plan.local_frames(s.name)) for s in sources}
    out = Path(out)
    clear_index(out)
    reporter = Reporter(progress)
    results: list[CameraDetections] = []
    try:
        with reporter:
            for source in sources:
                frame_ids, local = plans[source.name]
                key = make_key(detector, backend.settings, _source_key(source, backend))
                cached = None if force else find_reusable(out, source.name, key, frame_ids)
                if cached is not None:
                    reporter.skip(source.name, len(local))
                    results.append(cached)
                    continue
                det = detect_camera(backend, source, frame_ids, local, key, reporter)
                save_camera(out, det)
                results.append(det)
    finally:
        backend.close()
    write_index(out, [r.camera for r in results], detector)
    if own_frames:
        return results
    detections = _assemble(results)
    if export_openpose is not None:
        from mvmocap.io.openpose import export_camera

        for name, kp in zip(detections.camera_names, detections.keypoints):
            export_camera(export_openpose, name, detections.frame_ids, kp)
    if progress:
        print_summary(detections, reporter.status)
    return detections


def load(work_dir: str | Path) -> Detections:
    """The detections of the last complete ``run`` into ``work_dir``.

    Raises :class:`MissingFileError` when ``work_dir`` holds no complete detections.
    """
    cameras = read_index(work_dir)
    return _assemble([load_camera(camera_file(work_dir, c)) for c in cameras])


# -- backends ------------------------------------------------------------------------------


def _make_backend(detector: str, *, device: str, weights, densepose_weights, openpose_dir: Path, scale: float):
    if detector == "blazepose":
        from mvmocap.detect.blazepose import BlazePoseDetector

        if device != "cpu":
            warnings.warn("the blazepose detector runs on the CPU (MediaPipe); --device is ignored", stacklevel=3)
        return BlazePoseDetector(scale=scale)
    if detector == "detectron2":
        from mvmocap.detect.detectron2 import Detectron2Detector

        return Detectron2Detector(weights=weights, densepose_weights=densepose_weights, device=device)
    from mvmocap.detect.openpose_json import OpenPoseJsonReader

    return OpenPoseJsonReader(openpose_dir)


def _source_key(source: CameraSource, backend) -> dict:
    stat = source.path.stat()
    key = {"path": str(source.path.resolve()), "size": list(source.size), "frames": source.num_frames,
           "bytes": stat.st_size if source.is_video else len(source.images), "mtime_ns": stat.st_mtime_ns}
    if hasattr(backend, "source_key"):
        key["detector_input"] = backend.source_key(source.name)
    return key


# -- one camera ------------------------------------------------------------------------------


def detect_camera(backend, source: CameraSource, frame_ids: np.ndarray, local: np.ndarray, key: str,
                  reporter: Reporter) -> CameraDetections:
    """Run ``backend`` over one camera's ``local`` frames and keep the tracked person.

    ``frame_ids (F,)`` timeline frames and ``local (F,)`` the camera's own frame numbers.
    Unreadable frames are confidence 0 (a warning); all unreadable is a :class:`FileFormatError`.
    """
    F = len(local)
    keypoints = np.zeros((F, NUM_JOINTS, 3), np.float32)
    boxes = np.zeros((F, 5), np.float32)
    mono3d = np.zeros((F, NUM_JOINTS, 4), np.float32)
    masks: list = [None] * F
    iuv: np.ndarray | None = None
    has_mono3d = has_masks = False
    tracker = PersonTracker(source.size)
    unreadable = 0
    reporter.start(source.name, F)
    if getattr(backend, "reads_images", True):
        from mvmocap.io.video import iter_frames

        backend.start_camera(source.name)
        items = ((lf, image, backend.process(image) if image is not None else None)
                 for lf, image in iter_frames(source, local))
    else:
        backend.start_camera(source.name)
        items = ((lf, None, backend.process_frame(lf)) for lf in local)
    position = {int(lf): i for i, lf in enumerate(local)}
    for lf, _image, cands in items:
        f = position[int(lf)]
        if cands is None:
            unreadable += 1
        elif len(cands):
            chosen = tracker.select(cands.boxes)
            if chosen is not None:
                keypoints[f] = _finite_or_missing(cands.keypoints[chosen])
                boxes[f] = cands.boxes[chosen]
                if cands.mono3d is not None:
                    mono3d[f] = _finite_or_missing(cands.mono3d[chosen])
                    has_mono3d = True
                if cands.masks is not None:
                    masks[f] = cands.masks[chosen]
                    has_masks = True
                if cands.iuv is not None:
                    if iuv is None:
                        iuv = np.zeros((F,) + cands.iuv.shape[1:], np.uint8)
                    iuv[f] = cands.iuv[chosen]
        else:
            tracker.select(cands.boxes)
        reporter.advance(source.name)
    if unreadable == F:
        raise FileFormatError(source.path, "zero readable frames in the requested range")
    if unreadable:
        warnings.warn(f"{source.name}: {unreadable} of {F} frames could not be read (kept as confidence 0)",
                      stacklevel=3)
    return CameraDetections(
        camera=source.name,
        detector=backend.name,
        key=key,
        frame_ids=frame_ids,
        local_frames=local,
        keypoints=keypoints,
        boxes=boxes,
        image_size=source.size,
        fps=source.fps,
        mono3d=mono3d if has_mono3d else None,
        masks=masks if has_masks else None,
        iuv=iuv,
    )


def _finite_or_missing(points: np.ndarray) -> np.ndarray:
    """``(J, D)`` points with confidence last: a row with any NaN/inf becomes missing (all 0)."""
    bad = ~np.isfinite(points).all(-1)
    return np.where(bad[:, None], 0, points).astype(np.float32)


def _assemble(cameras: list[CameraDetections]) -> Detections:
    frame_ids = cameras[0].frame_ids
    for cam in cameras[1:]:
        if not np.array_equal(cam.frame_ids, frame_ids):
            raise InputError(f"cached detections of {cam.camera} cover other frames than {cameras[0].camera}; "
                             "rerun mvmocap detect")
    detectors = {c.detector for c in cameras}
    if len(detectors) > 1:
        raise InputError(f"cached detections mix detectors {sorted(detectors)}; rerun mvmocap detect")

    def optional(attr):
        values = [getattr(c, attr) for c in cameras]
        if all(v is None for v in values):
            return None
        return values

    mono3d = optional("mono3d")
    if mono3d is not None:
        mono3d = np.stack([m if m is not None else np.zeros(c.keypoints.shape[:2] + (4,), np.float32)
                           for m, c in zip(mono3d, cameras)])
    masks = optional("masks")
    if masks is not None:
        masks = [m if m is not None else [None] * len(frame_ids) for m in masks]
    iuv = optional("iuv")
    if iuv is not None:
        shape = next(v.shape for v in iuv if v is not None)
        iuv = np.stack([v if v is not None else np.zeros(shape, np.uint8) for v in iuv])
    return Detections(
        camera_names=tuple(c.camera for c in cameras),
        frame_ids=np.asarray(frame_ids),
        keypoints=np.stack([c.keypoints for c in cameras]),
        boxes=np.stack([c.boxes for c in cameras]),
        image_sizes=np.array([c.image_size for c in cameras], dtype=np.int64),
        fps=np.array([c.fps for c in cameras], dtype=np.float64),
        detector=next(iter(detectors)),
        mono3d=mono3d,
        masks=masks,
        iuv=iuv,
    )
