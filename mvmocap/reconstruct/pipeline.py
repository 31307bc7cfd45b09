"""``run``: synchronised videos in, SMPL parameters per frame out.

Stages (each cached in ``OUT`` so a rerun resumes): detect (``OUT/work``) ->
cameras (a calibration file, or estimated from the joints) -> robust
triangulation -> fit (``--method``) -> export (``smpl_params.npz``,
``joints3d.npz``, ``cameras.yaml``, ``report.json``, ``config.yaml``,
optional ``smpl_params.json`` and overlays).
"""

from __future__ import annotations

import functools
import json
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mvmocap import __version__
from mvmocap.console import console
from mvmocap.detect.detections import Detections
from mvmocap.errors import InputError, MissingFileError, MvmocapError
from mvmocap.geometry.camera import CameraRig
from mvmocap.io.atomic import atomic_path, atomic_write_text
from mvmocap.io.safe_read import json_safe
from mvmocap.reconstruct.config import ReconstructConfig
from mvmocap.reconstruct.run_state import exclusive_run, mark_complete, mark_running
from mvmocap.reconstruct.stage_cache import StageCache, stage_key

COCO17 = slice(0, 17)
SIZE_TOLERANCE = 0.05  # calibration vs video image size, relative
# The files that make up a finished run (checksummed in run.json, written last).
RESULT_FILES = ("smpl_params.npz", "smpl_params.json", "joints3d.npz", "cameras.yaml", "report.json", "config.yaml")


@dataclass
class ReconstructionResult:
    """What :func:`run` produced (the files are in ``out``)."""

    out: Path
    params: object  # mvmocap.body.params.BodyParams
    rig: CameraRig  # a FrameRig (mvmocap.geometry.frame_rig) when the method estimated the cameras per frame
    summary: dict
    timings: dict[str, float] = field(default_factory=dict)


def run(
    videos_dir: str | Path | None,
    out: str | Path,
    *,
    calibration: str | Path | None = None,
    calibrate_from_joints: bool = False,
    keypoints_dir: str | Path | None = None,
    config: ReconstructConfig | None = None,
    progress: bool = True,
) -> ReconstructionResult:
    """Reconstruct the person in ``videos_dir`` into ``out``; see the module docstring.

    ``videos_dir`` None: keypoints only, from the OpenPose JSON in ``keypoints_dir`` with the image
    sizes of ``calibration`` (:mod:`mvmocap.detect.keypoints_only`); no overlays.

    Raises :class:`mvmocap.errors.MvmocapError` subclasses for bad input: mismatched camera
    names, fewer than two usable cameras, a missing calibration, ...
    """
    cfg = config or ReconstructConfig()
    out = Path(out)
    from mvmocap.reconstruct.static_rig import check_static_rig

    calibrate_from_joints = check_static_rig(cfg, calibration, calibrate_from_joints)  # --static-rig
    checked = _preflight(videos_dir, calibration, calibrate_from_joints, keypoints_dir, cfg, progress)  # nothing written yet
    created = not out.exists()
    with exclusive_run(out):
        try:
            if cfg.detect.max_people > 1:
                return _run_people(videos_dir, out, checked, calibration, keypoints_dir, cfg, progress)
            return _run(videos_dir, out, checked, calibration, keypoints_dir, cfg, progress)
        except MvmocapError:
            if created:  # a refused run leaves nothing behind
                shutil.rmtree(out, ignore_errors=True)
            raise


@dataclass
class _Checked:
    """What :func:`_preflight` validated and loaded, handed to the stages."""

    rig: CameraRig | None
    body_model: object  # mvmocap.body.BodyModel
    detections: Detections | None = None  # keypoints-only runs: read from the JSON by the checks
    per_frame_cameras: bool = False  # the method estimates the cameras per frame (mvmocap.reconstruct.per_frame)


def _preflight(videos_dir, calibration, calibrate_from_joints: bool, keypoints_dir, cfg: ReconstructConfig,
               progress: bool) -> _Checked:
    """Every check that needs no detection, so a bad input is refused in seconds, with nothing written."""
    from mvmocap.reconstruct import per_frame

    # e.g. --method metapose without a camera source: cameras per frame (mvmocap.reconstruct.per_frame)
    per_frame_cameras = calibration is None and not calibrate_from_joints and per_frame.estimates_cameras(cfg.method)
    if per_frame_cameras:
        per_frame.check_run(videos_dir, cfg)
    elif (calibration is None) == (not calibrate_from_joints):
        raise InputError("give a calibration file (--calibration FILE) or --calibrate-from-joints, not both or neither")
    if calibration is not None and not Path(calibration).exists():
        raise MissingFileError(calibration, "calibration file")
    from mvmocap.body import load_body_model
    from mvmocap.methods import resolve_method
    from mvmocap.io.calibration import load_rig
    from mvmocap.io.video import discover_cameras

    resolve_method(cfg.method)  # an unknown --method fails before any long work
    if cfg.checkpoint is not None:
        from mvmocap.methods.checkpoints import check_checkpoint

        check_checkpoint(cfg.method, cfg.checkpoint)  # and a checkpoint it cannot load
    if cfg.export.formats:
        from mvmocap.export.formats import validate_formats

        validate_formats(cfg.export.formats)  # so does an unknown --export format
    if cfg.export.rerun:
        from mvmocap.export.rerun_recording import require_rerun

        require_rerun()  # and a missing rerun-sdk
    if cfg.detect.max_people > 1:
        from mvmocap.reconstruct.people import check_people_inputs

        check_people_inputs(calibrate_from_joints, videos_dir, cfg.detect.sync)
    rig = load_rig(calibration) if calibration is not None else None
    detections = None
    if videos_dir is None:  # keypoints-only: OpenPose JSON + calibration, read (and checked) here
        detections = _detect_from_json(keypoints_dir, calibration, calibrate_from_joints, cfg, progress)
    elif rig is not None and Path(videos_dir).is_dir():
        names = [p.stem if p.is_file() else p.name for p in discover_cameras(videos_dir, allow_folders_without_images=True)]
        _check_camera_names(names, rig, calibration)
    return _Checked(rig=rig, body_model=load_body_model(cfg.body_model), detections=detections,
                    per_frame_cameras=per_frame_cameras)


def _check_camera_names(names, rig: CameraRig, calibration) -> None:
    missing = [n for n in names if n not in rig.names]
    if missing:
        raise InputError(
            f"video names do not match the calibration {calibration}: no camera for {', '.join(missing)}; "
            f"videos: {', '.join(names)}; calibration: {', '.join(rig.names)}"
        )


def _run_people(videos_dir, out: Path, checked: _Checked, calibration, keypoints_dir, cfg: ReconstructConfig,
                progress: bool):
    """``--max-people N > 1``: :func:`mvmocap.reconstruct.people.run_people`, marked like a single-person run."""
    from mvmocap.reconstruct.people import run_people

    mark_running(out)
    result = run_people(videos_dir, out, rig=checked.rig, body_model=checked.body_model, calibration=calibration,
                        keypoints_dir=keypoints_dir, config=cfg, progress=progress)
    atomic_write_text(out / "config.yaml", cfg.resolved().dumps())
    person_files = [f"{person['folder']}/{name}" for person in result.people for name in RESULT_FILES]
    mark_complete(out, ("people.json", "config.yaml", *person_files))
    return result


def _run(videos_dir, out: Path, checked: _Checked, calibration, keypoints_dir, cfg: ReconstructConfig,
         progress: bool) -> ReconstructionResult:
    mark_running(out)
    timings: dict[str, float] = {}
    start = time.perf_counter()

    log = functools.partial(log_stage, progress)
    tick = time.perf_counter()
    sync, rig = None, None
    if checked.detections is not None:  # keypoints-only, read by the checks
        detections = checked.detections
        if cfg.export.render:
            log("no videos: overlays are off (--render draws over the videos)")
    elif cfg.detect.sync == "auto":  # cameras not started together: offsets estimated from the people (mvmocap.sync)
        from mvmocap.reconstruct.synced import synchronised_inputs

        detections, rig, sync = synchronised_inputs(videos_dir, out, keypoints_dir, cfg, calibration, progress)
    else:
        detections = _detect(videos_dir, out, keypoints_dir, cfg, progress)
    timings["detect"] = time.perf_counter() - tick

    tick = time.perf_counter()
    detections = _usable_cameras(detections)
    moving = None  # per-frame cameras (mvmocap.reconstruct.per_frame)
    if checked.rig is not None:
        rig = _rig_for(checked.rig, calibration, detections)
    elif checked.per_frame_cameras:
        from mvmocap.reconstruct import per_frame

        moving = per_frame.estimate_cameras(detections, checked.body_model, cfg,
                                            keypoints_tensor(detections, cfg.triangulation.min_confidence))
        rig = moving.rig
    elif rig is None:  # (sync without cameras estimated them together with the offsets)
        rig = _calibrate_from_joints(detections, out, cfg, progress)
    detections = detections.subset_cameras(rig.names)
    timings["cameras"] = time.perf_counter() - tick

    tick = time.perf_counter()
    from mvmocap.detect.left_right import fix_left_right

    if moving is None:
        detections, flips = fix_left_right(detections, rig)  # detectors confuse left and right in some frames
    else:  # the repair needs static cameras; the per-frame method repairs mirrored views itself
        flips = np.zeros((len(rig), detections.num_frames), dtype=bool)
    timings["left_right"] = time.perf_counter() - tick
    log(f"{len(rig)} cameras, {detections.num_frames} frames, {int(flips.sum())} left/right swaps repaired")

    tick = time.perf_counter()
    keypoints = keypoints_tensor(detections, cfg.triangulation.min_confidence)  # (F, C, 23, 3)
    if moving is None:
        tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2], threshold_px=cfg.triangulation.threshold_px)
    else:
        tri = per_frame.joints_as_triangulation(moving, keypoints)
    timings["triangulate"] = time.perf_counter() - tick

    tick = time.perf_counter()
    body_model = checked.body_model
    fit = _fit(keypoints, rig, body_model, tri, detections, cfg, out, progress)
    timings["fit"] = time.perf_counter() - tick

    tick = time.perf_counter()
    fit_err = rig.reprojection_errors(fit.keypoints3d.detach().to(torch.float64), keypoints[..., :2])  # (F, C, 23)
    compared = _comparison_mask(keypoints, tri, fit.params.valid.cpu())
    summary = _export(out, detections, rig if moving is None else moving.mean_rig(), tri, fit, fit_err, compared,
                      body_model, cfg)
    summary["left_right_swaps_repaired"] = int(flips.sum())
    summary["sync"] = None if sync is None else sync.to_dict()
    written: list[str] = []  # files the optional exports wrote (folders are not checksummed)
    if moving is not None:
        summary["cameras_per_frame"] = per_frame.write_outputs(out, moving, detections)
        written.append(summary["cameras_per_frame"]["file"])
        log(f"per-frame cameras -> {summary['cameras_per_frame']['file']}; moved: "
            f"{', '.join(summary['cameras_per_frame']['moved_cameras']) or 'none'}")
    timings["export"] = time.perf_counter() - tick
    if cfg.export.render and videos_dir is not None:
        tick = time.perf_counter()
        from mvmocap.reconstruct.render import render_overlays

        render_overlays(out, videos_dir, detections, rig, fit.params, body_model, cfg, progress=progress, sync=sync)
        timings["render"] = time.perf_counter() - tick
    if cfg.export.formats:
        tick = time.perf_counter()
        from mvmocap.export.formats import export_run

        written += [path.name for path in export_run(out, cfg.export.formats, body_model=cfg.body_model)]
        timings["export_formats"] = time.perf_counter() - tick
    if cfg.export.rerun:
        tick = time.perf_counter()
        from mvmocap.export.rerun_recording import write_recording

        written.append(write_recording(out, videos_dir, body_model=cfg.body_model).name)
        timings["rerun"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - start
    _write_report(out, detections, rig, tri, fit, fit_err, compared, summary, timings, cfg, calibration, keypoints_dir, flips)
    atomic_write_text(out / "config.yaml", cfg.resolved().dumps())  # the values used, defaults included
    mark_complete(out, RESULT_FILES + tuple(written))
    log(
        f"median reprojection {summary['median_reprojection_fit_px']:.1f} px (triangulation "
        f"{summary['median_reprojection_triangulation_px']:.1f} px), height {summary['height_m']:.2f} m, "
        f"{summary['valid_frames']}/{detections.num_frames} frames, {timings['total']:.1f} s -> {out}"
    )
    return ReconstructionResult(out, fit.params, rig, summary, timings)


# -- stages ---------------------------------------------------------------------------------


def log_stage(progress: bool, message: str) -> None:
    """One ``reconstruct ...`` progress line (nothing when ``progress`` is off)."""
    if progress:
        console.print(f"[bold cyan]reconstruct[/] {message}", highlight=False)


def _detect(videos_dir, out: Path, keypoints_dir, cfg: ReconstructConfig, progress: bool) -> Detections:
    from mvmocap import detect

    d = cfg.detect
    return detect.run(
        videos_dir,
        out=out / "work",
        detector="openpose-json" if keypoints_dir is not None else d.detector,
        frames=d.frames,
        offsets=list(d.offsets),
        strict=d.strict,
        device=cfg.device,
        progress=progress,
        openpose_dir=keypoints_dir,
        scale=d.scale,
        max_people=d.max_people,
    )


def _detect_from_json(keypoints_dir, calibration, calibrate_from_joints: bool, cfg: ReconstructConfig,
                      progress: bool) -> Detections:
    from mvmocap.detect.keypoints_only import detections_from_json
    from mvmocap.io.calibration import load_rig

    if keypoints_dir is None:
        raise InputError("give a videos folder, or --keypoints DIR with --calibration FILE")
    if calibrate_from_joints:
        raise InputError("--keypoints without videos needs --calibration FILE (the image sizes come from it)")
    rig = load_rig(calibration)
    sizes = {name: tuple(int(v) for v in size) for name, size in zip(rig.names, rig.sizes.tolist())}
    return detections_from_json(keypoints_dir, sizes, calibration=calibration, frames=cfg.detect.frames,
                                offsets=list(cfg.detect.offsets), progress=progress)


def _usable_cameras(detections: Detections) -> Detections:
    """Drop cameras that never saw the person (with a warning); fewer than 2 left is an error."""
    seen = (detections.keypoints[..., 2] > 0).any(axis=2).mean(axis=1)  # (C,) fraction of frames
    usable = [n for n, s in zip(detections.camera_names, seen) if s > 0]
    dropped = [n for n in detections.camera_names if n not in usable]
    if dropped:
        warnings.warn(f"no detections in camera(s) {', '.join(dropped)}: skipped", stacklevel=2)
    if len(usable) < 2:
        raise InputError(
            f"only {len(usable)} camera(s) with detections ({', '.join(usable) or 'none'}); at least 2 are needed"
        )
    return detections.subset_cameras(usable)


def _rig_for(rig: CameraRig, calibration, detections: Detections) -> CameraRig:
    _check_camera_names(detections.camera_names, rig, calibration)
    rig = rig.subset(detections.camera_names)
    for name, cal, vid in zip(rig.names, rig.sizes.numpy(), detections.image_sizes):
        if np.any(np.abs(cal / np.asarray(vid, dtype=float) - 1) > SIZE_TOLERANCE):
            raise InputError(
                f"camera {name}: calibration image size {int(cal[0])}x{int(cal[1])} does not match the video "
                f"({int(vid[0])}x{int(vid[1])}); was the video resized or rotated?"
            )
        if np.any(cal != np.asarray(vid, dtype=float)):  # within tolerance: same pixels, cropped or padded
            warnings.warn(
                f"camera {name}: video {int(vid[0])}x{int(vid[1])} px, calibration {int(cal[0])}x{int(cal[1])} px: "
                "used as is (the principal point is kept, as for a video cropped or padded at its right/bottom edge)",
                stacklevel=2,
            )
    return rig


def _checkpoint_key(cfg: ReconstructConfig) -> tuple[str, ...]:
    """The stage caches' share of ``--checkpoint``: its file's digest (nothing without one, as before)."""
    from mvmocap.methods.checkpoints import checkpoint_digest

    return (checkpoint_digest(cfg.checkpoint),) if cfg.checkpoint is not None else ()


def _calibrate_from_joints(detections: Detections, out: Path, cfg: ReconstructConfig, progress: bool) -> CameraRig:
    cache = StageCache(out)
    key = stage_key("calibration/1", detections.keypoints, detections.image_sizes, cfg.subject_height_m,
                    *(("static-rig", *_checkpoint_key(cfg)) if cfg.static_rig else ()))
    cached = cache.load("calibration", key)
    if cached is not None:
        names = tuple(str(n) for n in cached["names"])
        return CameraRig(names, *(torch.from_numpy(cached[k]) for k in ("K", "dist", "R", "t", "sizes")))
    from mvmocap.calibrate.from_joints import calibrate_from_joints

    from mvmocap.reconstruct.static_rig import metapose_checkpoint, static_rig_start

    start = static_rig_start(functools.partial(log_stage, progress), metapose_checkpoint(cfg)) if cfg.static_rig else None
    result = calibrate_from_joints(detections, None, height_m=cfg.subject_height_m, progress=progress, frame_cameras=start)
    rig = result.rig
    cache.save("calibration", key, {"names": np.array(rig.names), **{k: getattr(rig, k).numpy() for k in ("K", "dist", "R", "t", "sizes")}})
    return rig


def keypoints_tensor(detections: Detections, min_confidence: float) -> torch.Tensor:
    """The detections as every method reads them: ``(F, C, 23, 3)`` float64 pixels + confidence, confidences
    below ``min_confidence`` set to 0 (treated as missing)."""
    kp = torch.from_numpy(np.ascontiguousarray(detections.keypoints.transpose(1, 0, 2, 3))).to(torch.float64)
    conf = kp[..., 2]
    kp[..., 2] = torch.where(conf >= min_confidence, conf, torch.zeros_like(conf))
    return kp


def _fit(keypoints, rig, body_model, tri, detections, cfg: ReconstructConfig, out: Path, progress: bool):
    from mvmocap.fit.inputs import MethodInputs, evaluate_params
    from mvmocap.methods import resolve_method
    from mvmocap.body.params import BodyParams

    fit_config = cfg.fit_config()
    method = resolve_method(cfg.method)
    inputs = MethodInputs(
        keypoints_2d=keypoints,
        rig=rig,
        body_model=body_model,
        joints3d=tri.points,
        joints3d_confidence=tri.confidence,
        config=fit_config,
        extras={"detections": detections, "checkpoint": cfg.checkpoint},
        progress=progress,
    )
    cache = StageCache(out)
    key = stage_key(
        "fit/1", cfg.method, fit_config.to_dict(), body_model.file_hash, keypoints.numpy(),
        *(getattr(rig, k).numpy() for k in ("K", "dist", "R", "t")), cfg.triangulation.threshold_px,
        *_checkpoint_key(cfg),
    )
    cached = cache.load("fit", key)
    if cached is not None:
        params = BodyParams.from_smpl_poses(
            torch.from_numpy(cached["poses"]), torch.from_numpy(cached["betas"]),
            torch.from_numpy(cached["trans"]), torch.from_numpy(cached["valid"].astype(bool)),
        )
        return evaluate_params(inputs, params)
    result = method(inputs)
    p = result.params.detach().to(dtype=torch.float64, device="cpu")
    cache.save("fit", key, {"poses": p.to_smpl_poses().numpy(), "betas": p.betas.numpy(),
                            "trans": p.transl.numpy(), "valid": p.valid.numpy()})
    return result


def _median(values: torch.Tensor) -> float:
    return float(values.median()) if values.numel() else float("nan")


def _export(out: Path, detections, rig, tri, fit, fit_err, mask, body_model, cfg: ReconstructConfig) -> dict:
    """Write the parameter, joint and camera files; return the summary figures.

    ``fit_err (F, C, 23)`` px are the fitted keypoints' reprojection errors and ``mask`` where
    they are compared with triangulation's (:func:`_comparison_mask`).
    """
    from mvmocap.io.calibration import save_rig
    from mvmocap.io.smpl_params import SmplParamsFile, save_smpl_params, save_smpl_params_json

    params = fit.params.detach().to(dtype=torch.float64, device="cpu")
    record = SmplParamsFile(
        params=params,
        frame_ids=detections.frame_ids,
        framerate=float(np.median(detections.fps)),
        gender=_gender(body_model.name),
        body_model=body_model.name,
        body_model_sha256=body_model.file_hash,
    )
    save_smpl_params(out / "smpl_params.npz", record)
    if cfg.export.json:
        save_smpl_params_json(out / "smpl_params.json", record)
    save_rig(rig, out / "cameras.yaml")

    with torch.no_grad():
        body = body_model(
            global_orient=params.global_orient.to(body_model.v_template.dtype),
            body_pose=params.body_pose.to(body_model.v_template.dtype),
            betas=params.betas[None].expand(params.num_frames, -1).to(body_model.v_template.dtype),
            transl=params.transl.to(body_model.v_template.dtype),
        )
    with atomic_path(out / "joints3d.npz") as tmp:
        np.savez(
            tmp,
            joint_names=np.array(detections.joint_names),
            camera_names=np.array(rig.names),
            frame_ids=detections.frame_ids,
            triangulated=tri.points.numpy(),
            triangulated_confidence=tri.confidence.numpy(),
            triangulated_reprojection_px=tri.errors.numpy(),
            fitted=fit.keypoints3d.detach().to(torch.float64).numpy(),
            fitted_reprojection_px=fit_err.numpy(),
            compared=mask.numpy(),
            smpl_joints=body.joints.numpy().astype(np.float64),
            valid=params.valid.numpy().astype(np.uint8),
        )
    return {
        "median_reprojection_fit_px": _median(fit_err[mask]),
        "median_reprojection_triangulation_px": _median(tri.errors[mask]),
        "height_m": float(fit.height_m),
        "valid_frames": int(params.valid.sum()),
        "frames": int(params.num_frames),
    }


def _comparison_mask(keypoints, tri, valid) -> torch.Tensor:
    """Where fit and triangulation are compared: COCO-17 detections of valid frames whose point triangulated."""
    mask = keypoints[..., 2] > 0
    mask &= (tri.confidence > 0)[:, None, :]
    mask &= valid[:, None, None]
    mask[..., 17:] = False
    return mask


def _gender(name: str) -> str:
    lower = name.lower()
    if "female" in lower:
        return "female"
    if "male" in lower:
        return "male"
    return "neutral"


def _write_report(out, detections, rig, tri, fit, fit_err, mask, summary, timings, cfg, calibration, keypoints_dir, flips) -> None:
    cameras = []
    for c, name in enumerate(rig.names):
        seen = detections.keypoints[c, :, :17, 2] > 0
        cameras.append({
            "name": name,
            "frames_detected_fraction": float((detections.boxes[c, :, 4] > 0).mean()),
            "mean_confidence": float(detections.keypoints[c, :, :17, 2][seen].mean()) if seen.any() else 0.0,
            "left_right_swaps_repaired": int(flips[c].sum()),
            "median_reprojection_fit_px": _median(fit_err[:, c][mask[:, c]]),
            "median_reprojection_triangulation_px": _median(tri.errors[:, c][mask[:, c]]),
        })
    per_frame = []
    for f, frame_id in enumerate(detections.frame_ids):
        per_frame.append({
            "frame": int(frame_id),
            "valid": bool(fit.params.valid[f]),
            "median_reprojection_fit_px": _median(fit_err[f][mask[f]]),
            "median_reprojection_triangulation_px": _median(tri.errors[f][mask[f]]),
        })
    ratio = summary["median_reprojection_fit_px"] / summary["median_reprojection_triangulation_px"]
    report = {
        "mvmocap_version": __version__,
        "inputs": {
            "calibration": str(calibration) if calibration else (
                "estimated per frame by the method" if "cameras_per_frame" in summary else "estimated from the joints"),
            "keypoints": str(keypoints_dir) if keypoints_dir else None,
            "detector": detections.detector,
            "method": cfg.method,
        },
        "summary": {**summary, "fit_to_triangulation_ratio": ratio},
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "cameras": cameras,
        "frames": per_frame,
    }
    atomic_write_text(out / "report.json", json.dumps(json_safe(report), indent=1, allow_nan=False))
