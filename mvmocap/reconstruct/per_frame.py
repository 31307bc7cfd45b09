"""``reconstruct`` without any camera source, with a method that estimates the cameras per frame (``--method metapose``).

This path is taken when neither ``--calibration``, ``--calibrate-from-joints`` nor ``--static-rig`` is
given; with one of them the cameras are static (a file, or calibrated from the joints: MetaPose
starts that calibration with ``--static-rig``) and the method builds its body from the joints
triangulated with them.

The method's ``cameras`` (:class:`mvmocap.regressors.spec.RegressorSpec`) is the camera stage: per-frame
cameras (a :class:`~mvmocap.geometry.frame_rig.FrameRig`) and the method's 3D joints in their metric,
+Z-up world (scale from ``--height``, floor and +Z up as ``--calibrate-from-joints`` sets them). The
pipeline then goes on as with any rig, with three differences:

* no multi-view left/right repair (it needs static cameras; MetaPose repairs mirrored views itself);
* the "triangulated" joints are the method's own joints (:func:`joints_as_triangulation`), which the
  fit of ``<method>+fit`` uses as its 3D evidence and ``<method>`` turns into the body;
* the outputs add ``cameras_per_frame.npz`` (:mod:`mvmocap.io.cameras_per_frame`) and the report's
  ``summary.cameras_per_frame`` (the estimate's settings and which cameras moved:
  :func:`mvmocap.geometry.frame_rig.camera_motion`); ``cameras.yaml`` holds each camera's mean pose
  over the sequence (what static-camera readers can use).

Refused before any work: a detector without monocular 3D, several people, ``--sync auto``, overlays
(``--render`` draws with static cameras), keypoints without videos.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.frame_rig import FrameRig, camera_motion, nominal_rig
from mvmocap.geometry.rotation_mean import chordal_mean
from mvmocap.geometry.triangulation import TriangulationResult


# Moved-camera flag for ESTIMATED per-frame cameras (mvmocap.geometry.frame_rig.camera_motion): a camera
# whose 0.5 s-smoothed pose leaves its first one by more than 20 degrees or by half its distance to the
# cameras' centroid. Independent per-frame estimates drift with the pose even when nothing moves:
# MetaPose S1 on 6 static synthetic clips (python benchmarks/metapose_moving.py --solver s1 --yaw 0
# --slide 0) drifted 7.3-12.7 degrees and 0.10-0.36 x that distance (0 of 18 cameras flagged); S1+S2
# with a 40-step smoke checkpoint on the static pose2sim_demo rig (python benchmarks/metapose_demo.py)
# 5.9-15.1 degrees and 0.57-1.16 m, about 0.3 x (none flagged). On the 6 hand-held clips (--solver s1: every camera yawing up to 25 degrees) 8 of the 18
# cameras that moved relative to the reference camera were flagged: the flag catches large turns
# (> ~20 degrees relative to the reference camera), not slow small ones.
MONOCULAR_3D_DETECTOR = "blazepose"  # the detector whose detections carry world landmarks (Detections.mono3d)
ESTIMATED_MOVED_ROTATION_DEG = 20.0
ESTIMATED_MOVED_POSITION_FRACTION = 0.5


def estimates_cameras(method: str) -> bool:
    """Whether ``--method`` estimates the cameras itself, per frame (its regressor declares ``cameras``)."""
    from mvmocap.methods import method_spec

    spec = method_spec(method)
    return spec is not None and spec.cameras is not None


def check_run(videos_dir, cfg) -> None:
    """The refusals of the module docstring, before anything is read or written."""
    method = cfg.method
    if videos_dir is None:
        raise InputError(f"--method {method} needs videos (its monocular 3D comes from the blazepose detector)")
    if cfg.detect.detector != MONOCULAR_3D_DETECTOR:
        raise InputError(f"--method {method} needs per-view monocular 3D joints, which only the "
                         f"{MONOCULAR_3D_DETECTOR} detector gives (got --detector {cfg.detect.detector})")
    if cfg.detect.max_people > 1:
        raise InputError(f"--method {method} reconstructs one person: use --max-people 1")
    if cfg.detect.sync == "auto":
        raise InputError(f"--method {method} needs synchronised videos (--sync auto estimates static cameras)")
    if cfg.export.render:
        raise InputError(f"--render draws with static cameras; --method {method} estimates them per frame")


@dataclass(frozen=True)
class PerFrameCameras:
    """The camera stage's output: ``rig`` (per frame), ``scene`` (the method's: joints, summary), and
    ``valid (F, C)`` the cameras estimated in each frame."""

    rig: FrameRig
    scene: object
    valid: torch.Tensor

    def mean_rig(self) -> CameraRig:
        """Each camera's mean pose over its estimated frames (chordal mean of the rotations, mean centre)."""
        w = self.valid.to(torch.float64)
        R = chordal_mean(self.rig.R.transpose(0, 1).to(torch.float64), w.T)
        centres = (self.rig.centers().to(torch.float64) * w[..., None]).sum(0) / w.sum(0).clamp(min=1)[:, None]
        t = -(R @ centres[..., None]).squeeze(-1)
        return CameraRig(self.rig.names, self.rig.K[0].to(torch.float64), self.rig.dist[0].to(torch.float64), R, t,
                         self.rig.sizes.to(torch.float64))


def estimate_cameras(detections, body_model, cfg, keypoints: torch.Tensor) -> PerFrameCameras:
    """Run the method's camera stage on the detections (``keypoints (F, C, 23, 3)`` as every method reads them)."""
    from mvmocap.fit.inputs import MethodInputs
    from mvmocap.methods import method_spec

    placeholder = nominal_rig(detections.camera_names, torch.as_tensor(detections.image_sizes))
    inputs = MethodInputs(keypoints_2d=keypoints, rig=placeholder, body_model=body_model, config=cfg.fit_config(),
                          extras={"detections": detections, "subject_height_m": cfg.subject_height_m,
                                  "checkpoint": cfg.checkpoint}, progress=False)
    scene = method_spec(cfg.method).cameras(inputs)
    rig = scene.rig.subset(detections.camera_names)
    order = [scene.rig.names.index(n) for n in detections.camera_names]
    valid = getattr(scene, "view_valid", None)
    valid = torch.ones(rig.num_frames, len(rig), dtype=torch.bool) if valid is None else torch.as_tensor(valid)[:, order]
    never = [name for name, seen in zip(rig.names, valid.any(0).tolist()) if not seen]
    if never:  # no frame gave this camera a pose: its detections cannot be used
        warnings.warn(f"{cfg.method} estimated no pose for camera(s) {', '.join(never)} (too few joints seen with "
                      "the reference camera): skipped", stacklevel=2)
        kept = [c for c, name in enumerate(rig.names) if name not in never]
        rig, valid = rig.subset([rig.names[c] for c in kept]), valid[:, kept]
    return PerFrameCameras(rig, scene, valid.bool())


def joints_as_triangulation(cameras: PerFrameCameras, keypoints: torch.Tensor) -> TriangulationResult:
    """The method's joints in the place of the pipeline's triangulation: points ``(F, 23, 3)``, their
    confidence, and their reprojection errors ``(F, C, 23)`` px under the per-frame cameras."""
    points = torch.as_tensor(cameras.scene.joints3d, dtype=torch.float64)
    confidence = torch.as_tensor(cameras.scene.confidence, dtype=torch.float64)
    kp = torch.as_tensor(keypoints, dtype=torch.float64)
    errors = cameras.rig.to(torch.float64).reprojection_errors(points, kp[..., :2])
    used = (kp[..., 2] > 0) & (confidence > 0)[:, None]
    return TriangulationResult(points=points, confidence=confidence, errors=errors, used=used)


def write_outputs(out: Path, cameras: PerFrameCameras, detections) -> dict:
    """Write ``cameras_per_frame.npz``; return the report's ``cameras_per_frame`` section."""
    from mvmocap.io.cameras_per_frame import FILE_NAME, save_cameras_per_frame

    save_cameras_per_frame(out / FILE_NAME, cameras.rig, detections.frame_ids, cameras.valid.numpy())
    fps = float(np.median(detections.fps)) if len(detections.fps) else 30.0
    motion = camera_motion(cameras.rig, fps, cameras.valid, ESTIMATED_MOVED_ROTATION_DEG,
                           ESTIMATED_MOVED_POSITION_FRACTION)
    summary = dict(getattr(cameras.scene, "summary", {}) or {})
    return {
        **summary,
        "file": FILE_NAME,
        "moved_cameras": [n for n, m in zip(cameras.rig.names, motion.moved.tolist()) if m],
        "moved_threshold": {"rotation_deg": motion.rotation_threshold_deg,
                            "position_m": dict(zip(cameras.rig.names, (round(float(x), 3) for x in motion.position_threshold_m)))},
        "motion": {n: {"rotation_deg": round(float(r), 2), "position_m": round(float(p), 3), "moved": bool(m)}
                   for n, r, p, m in zip(cameras.rig.names, motion.rotation_deg, motion.position_m, motion.moved)},
    }
