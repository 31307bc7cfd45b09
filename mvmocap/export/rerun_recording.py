"""A Rerun recording of a ``reconstruct`` run: ``RUN_DIR/recording.rrd`` (the optional ``view`` extra).

One timeline, ``frame`` (the video frame numbers), and the entities (world +Z up, metres):

* ``world/cameras/NAME``: the camera pose and an OpenCV pinhole (a frustum in the viewer), with
  ``.../image`` the video frame (JPEG, half size) when the videos are given, and
  ``.../image/detections`` the 2D keypoints of the run's detection cache (``work/``);
* ``world/triangulated``: the triangulated COCO-23 joints (confidence > 0);
* ``world/fitted``: the fitted model's COCO-23 keypoints; ``world/skeleton``: SMPL's 24 joints and bones;
* ``world/body``: the fitted mesh (frames where nobody was seen are left out).

Reads only the run's files (:func:`mvmocap.export.run_files.load_run`, ``cameras.yaml``,
``work/``); rerun-sdk is imported only here, with a one-line error when it is missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mvmocap.errors import DependencyError, MissingFileError
from mvmocap.export.run_files import RunResult, load_run
from mvmocap.io.atomic import atomic_path
from mvmocap.io.safe_read import load_yaml
from mvmocap.keypoints import COCO23_LIMBS

IMAGE_SCALE = 0.5
JPEG_QUALITY = 80
TIMELINE = "frame"
MESH_COLOUR = (140, 170, 230)


def require_rerun():
    try:
        import rerun
    except ImportError:
        raise DependencyError("the Rerun recording needs rerun-sdk: pip install 'mvmocap[view]' (or rerun-sdk)") from None
    return rerun


def write_recording(run_dir: str | Path, videos_dir: str | Path | None = None, out: str | Path | None = None,
                    body_model: str | None = None) -> Path:
    """Write ``out`` (default ``RUN_DIR/recording.rrd``) atomically and return it."""
    rr = require_rerun()
    run_dir = Path(run_dir)
    run = load_run(run_dir, body_model=body_model)
    rig = _rig(run_dir)
    detections = _detections(run_dir, rig.names)
    sources, offsets = _videos(run_dir, videos_dir, rig.names)
    out = Path(out) if out is not None else run_dir / "recording.rrd"
    with atomic_path(out) as tmp:
        rec = rr.RecordingStream("mvmocap")
        rec.save(str(tmp))
        _log_static(rr, rec, run, rig)
        _log_frames(rr, rec, run, rig, detections)
        if sources:
            _log_images(rr, rec, run, rig, sources, offsets)
        rec.flush()
        rec.disconnect()
    return out


def _rig(run_dir: Path):
    from mvmocap.io.calibration import load_rig

    path = run_dir / "cameras.yaml"
    if not path.is_file():
        raise MissingFileError(path, "cameras of the run")
    return load_rig(path)


def _detections(run_dir: Path, names) -> dict[str, np.ndarray]:
    """``{camera: (F, 23, 3)}`` from the run's detection cache, or {} when there is none."""
    from mvmocap.detect.run import load

    try:
        detections = load(run_dir / "work")
    except MissingFileError:
        return {}
    return {n: detections.keypoints[c] for c, n in enumerate(detections.camera_names) if n in names}


def _videos(run_dir: Path, videos_dir, names):
    if videos_dir is None:
        return {}, {}
    from mvmocap.io.video import discover_cameras, open_camera, parse_offsets

    sources = {s.name: s for s in (open_camera(p) for p in discover_cameras(videos_dir, allow_folders_without_images=True))}
    missing = [n for n in names if n not in sources]
    if missing:
        raise MissingFileError(Path(videos_dir) / missing[0], f"video of camera {missing[0]}")
    config = run_dir / "config.yaml"
    values = load_yaml(config, what="run configuration") if config.is_file() else {}
    offsets = parse_offsets(list(((values or {}).get("detect") or {}).get("offsets") or []))
    return {n: sources[n] for n in names}, offsets


def _log_static(rr, rec, run: RunResult, rig) -> None:
    rec.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    for c, name in enumerate(rig.names):
        R, t = rig.R[c].numpy(), rig.t[c].numpy()
        width, height = (int(v) for v in rig.sizes[c].tolist())
        K = rig.K[c].numpy() * np.array([[IMAGE_SCALE], [IMAGE_SCALE], [1.0]])
        rec.log(f"world/cameras/{name}", rr.Transform3D(translation=-R.T @ t, mat3x3=R.T), static=True)
        rec.log(f"world/cameras/{name}/image", rr.Pinhole(image_from_camera=K, camera_xyz=rr.ViewCoordinates.RDF,
                                                         resolution=[width * IMAGE_SCALE, height * IMAGE_SCALE],
                                                         image_plane_distance=0.3), static=True)


def _log_frames(rr, rec, run: RunResult, rig, detections: dict[str, np.ndarray]) -> None:
    faces = run.body.faces.numpy().astype(np.uint32)
    bones = [(j, p) for j, p in enumerate(run.parents) if p >= 0]
    limbs = np.array(COCO23_LIMBS)
    for f in range(run.num_frames):
        rec.set_time(TIMELINE, sequence=int(run.frame_ids[f]))
        if run.triangulated is not None:
            seen = run.triangulated_confidence[f] > 0
            rec.log("world/triangulated", rr.Points3D(run.triangulated[f][seen], radii=0.015, colors=(230, 60, 60)))
        for name, keypoints in detections.items():
            kp = keypoints[f]
            seen = kp[:, 2] > 0
            rec.log(f"world/cameras/{name}/image/detections",
                    rr.Points2D(kp[seen, :2] * IMAGE_SCALE, radii=2.0, colors=(230, 60, 60)))
        if not run.valid[f]:
            continue
        rec.log("world/fitted", rr.Points3D(run.coco23[f], radii=0.012, colors=(60, 200, 60)))
        rec.log("world/fitted/limbs", rr.LineStrips3D(run.coco23[f][limbs], colors=(60, 200, 60)))
        joints = run.smpl_joints[f]
        rec.log("world/skeleton", rr.LineStrips3D([[joints[j], joints[p]] for j, p in bones], colors=(240, 200, 60)))
        rec.log("world/body", rr.Mesh3D(vertex_positions=run.vertices(np.array([f]))[0].astype(np.float32),
                                        triangle_indices=faces, albedo_factor=MESH_COLOUR))


def _log_images(rr, rec, run: RunResult, rig, sources, offsets) -> None:
    import cv2

    from mvmocap.io.video import iter_frames

    for name in rig.names:
        local = run.frame_ids - int(offsets.get(name, 0))
        for f, (_, image) in enumerate(iter_frames(sources[name], local)):
            if image is None:
                continue
            small = cv2.resize(image, None, fx=IMAGE_SCALE, fy=IMAGE_SCALE, interpolation=cv2.INTER_AREA)
            ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            rec.set_time(TIMELINE, sequence=int(run.frame_ids[f]))
            rec.log(f"world/cameras/{name}/image", rr.EncodedImage(contents=jpeg.tobytes(), media_type="image/jpeg"))
