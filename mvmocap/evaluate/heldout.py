"""Held-out-camera evaluation on a real capture (``mvmocap eval heldout-camera``).

A real capture has no 3D ground truth, but it has a camera the method did not see: for each
camera ``h`` (a *fold*), every method reconstructs from the other cameras ``S``, its fitted
COCO-17 joints are projected into ``h`` with ``h``'s known calibration, and the pixel distances
to ``h``'s own detections are the errors. Reprojection into the cameras a method fitted rewards
fitting the detections' noise; a held-out camera does not.

Per fold this gives each method's median error, the *noise floor* (plain triangulation from
``S`` projected into ``h``: what the detections of ``S`` alone place there) and, for each method,
the ratio of its median to the reference method's (``fit``) with a paired moving-block
bootstrap interval (:mod:`mvmocap.evaluate.bootstrap`), on the points both compare: detected in
``h`` (confidence >= the triangulation threshold) in frames both methods gave a body for.
The held-out detections are used as they are (a left/right swap of the detector in ``h``
counts as an error for every method alike).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from mvmocap.console import console
from mvmocap.errors import InputError
from mvmocap.evaluate.bootstrap import median_ratio_interval

COCO17 = 17


@dataclass(frozen=True)
class HeldoutFold:
    """One held-out camera.

    Attributes:
        camera: the held-out camera; subset: the cameras the methods used.
        median_px: ``{method: median pixel error in the held-out camera}`` on the shared points.
        floor_px: the same for triangulation from ``subset`` (the noise floor).
        ratio, interval: ``{method: median / reference's median}`` and its bootstrap interval.
        points, frames: shared points and the frames that hold them.
    """

    camera: str
    subset: tuple[str, ...]
    median_px: dict[str, float]
    floor_px: float
    ratio: dict[str, float]
    interval: dict[str, tuple[float, float]]
    points: int
    frames: int


@dataclass(frozen=True)
class HeldoutResult:
    reference: str
    methods: tuple[str, ...]
    folds: list[HeldoutFold]
    block_frames: int
    level: float

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        lines = [f"held-out camera: methods fitted on the other cameras, COCO-17 joints projected into the held-out "
                 f"one; median px; ratio to {self.reference} with its {self.level:.0%} moving-block bootstrap interval "
                 f"(blocks of {self.block_frames} frames)"]
        for fold in self.folds:
            lines.append(f"{fold.camera} held out (fitted on {'+'.join(fold.subset)}; {fold.points} points, "
                         f"{fold.frames} frames): triangulation floor {fold.floor_px:.2f} px")
            for method in self.methods:
                low, high = fold.interval[method]
                verdict = "" if method == self.reference else (
                    ": lower" if high < 1 else ": higher" if low > 1 else ": not distinguishable")
                lines.append(f"  {method}: {fold.median_px[method]:.2f} px, ratio {fold.ratio[method]:.4f} "
                             f"({low:.4f}-{high:.4f}){verdict}")
        return "\n".join(lines)


def heldout_errors(points_world: torch.Tensor, valid: torch.Tensor, rig_h, detections_h: torch.Tensor,
                   min_confidence: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel distances of projected joints to a held-out camera's detections.

    Args:
        points_world: ``(F, J, 3)`` metres, world frame; J >= 17 (COCO-23 order, the first 17 count).
        valid: ``(F,)`` bool, frames with an estimate, or ``(F, J)`` per point (others count nowhere).
        rig_h: a :class:`~mvmocap.geometry.camera.CameraRig` of the held-out camera alone.
        detections_h: ``(F, J, 3)`` the held-out camera's detections (pixels, confidence).
        min_confidence: detections below it are missing.

    Returns:
        ``(errors (F, 17) px, mask (F, 17) bool)``; errors are 0 where the mask is False.
    """
    points = torch.nan_to_num(points_world[:, :COCO17].to(torch.float64))
    uv = rig_h.project(points)[:, 0]  # (F, 17, 2)
    seen = detections_h[:, :COCO17, 2] >= min_confidence
    finite = torch.isfinite(points_world[:, :COCO17]).all(-1) & torch.isfinite(uv).all(-1)
    valid = valid[:, :COCO17] if valid.dim() == 2 else valid[:, None]
    mask = seen & finite & valid
    errors = torch.linalg.norm(uv - detections_h[:, :COCO17, :2].to(torch.float64), dim=-1)
    return torch.where(mask, errors, torch.zeros_like(errors)), mask


def evaluate_heldout_cameras(videos_dir: str | Path, calibration: str | Path, out: str | Path, *,
                             methods: Sequence[str] = ("fit", "volumetric", "volumetric+fit"),
                             keypoints_dir: str | Path | None = None, config=None, block_frames: int = 10,
                             draws: int = 2000, level: float = 0.95, cameras: Sequence[str] | None = None,
                             progress: bool = False) -> HeldoutResult:
    """Run every method on every fold of ``videos_dir`` and score it in the held-out camera.

    Args:
        videos_dir: the capture (one video or image folder per camera), calibrated by ``calibration``.
        out: a work folder: ``out/work`` holds the detections of all cameras (detected once, reused by
            every fold), ``out/<camera>/<method>/`` each fold's reconstruct output (a rerun reuses
            finished ones).
        methods: ``--method`` values; the first is the reference of the ratios.
        keypoints_dir: OpenPose JSON instead of a detector (as ``reconstruct --keypoints``).
        config: a :class:`~mvmocap.reconstruct.ReconstructConfig` for every run (its method is replaced).
        cameras: the held-out cameras (default: every camera; each fold uses all the others).
    """
    from mvmocap import detect
    from mvmocap.io.calibration import load_rig
    from mvmocap.io.video import discover_cameras
    from mvmocap.reconstruct import ReconstructConfig

    if not methods:
        raise InputError("give at least one method")
    base = config or ReconstructConfig()
    rig = load_rig(calibration)
    inputs = {p.stem if p.is_file() else p.name: p for p in
              discover_cameras(videos_dir, allow_folders_without_images=keypoints_dir is not None)}
    names = sorted(inputs)
    if len(names) < 3:
        raise InputError(f"{videos_dir}: a held-out-camera evaluation needs at least 3 cameras (2 to fit, 1 to "
                         f"hold out), found {len(names)}")
    missing = [n for n in names if n not in rig.names]
    if missing:
        raise InputError(f"{calibration}: no camera for {', '.join(missing)}")
    held_out = list(cameras) if cameras else names
    unknown = [c for c in held_out if c not in names]
    if unknown:
        raise InputError(f"unknown held-out camera(s) {', '.join(unknown)}; cameras: {', '.join(names)}")
    out = Path(out)
    d = base.detect
    all_detections = detect.run(videos_dir, out / "work", detector="openpose-json" if keypoints_dir else d.detector,
                                frames=d.frames, offsets=list(d.offsets), strict=d.strict, device=base.device,
                                progress=progress, openpose_dir=keypoints_dir, scale=d.scale)
    folds = []
    for h in held_out:
        subset = tuple(n for n in names if n != h)
        runs = {}
        for method in methods:
            if progress:
                console.print(f"[bold cyan]heldout[/] {h} held out: {method} on {'+'.join(subset)}", highlight=False)
            runs[method] = _reconstruct_fold(inputs, subset, calibration, keypoints_dir, base, method, out / h)
        folds.append(_score_fold(h, subset, runs, rig.subset([h]), all_detections, base, methods,
                                 block_frames, draws, level))
    return HeldoutResult(methods[0], tuple(methods), folds, block_frames, level)


def _reconstruct_fold(inputs: dict[str, Path], subset: tuple[str, ...], calibration, keypoints_dir, base, method: str,
                      fold_dir: Path) -> Path:
    """``reconstruct`` with the cameras of ``subset`` only, the detections copied from ``fold_dir/../work``."""
    from mvmocap.reconstruct import ReconstructConfig, run
    from mvmocap.reconstruct.run_state import is_complete

    out = fold_dir / method.replace("+", "_plus_")
    if is_complete(out):
        return out
    videos = fold_dir / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    for name in subset:
        link = videos / inputs[name].name
        if not link.exists():
            link.symlink_to(inputs[name].resolve())
    shutil.copytree(fold_dir.parent / "work", out / "work", dirs_exist_ok=True)
    cfg = ReconstructConfig.from_dict({**base.to_dict(), "method": method})
    run(videos, out, calibration=calibration, keypoints_dir=keypoints_dir, config=cfg, progress=False)
    return out


def _score_fold(h: str, subset, runs: dict[str, Path], rig_h, detections, base, methods, block_frames, draws,
                level) -> HeldoutFold:
    min_confidence = base.triangulation.min_confidence
    camera = detections.camera_names.index(h)
    per_method, floor = {}, None
    for method, path in runs.items():
        with np.load(path / "joints3d.npz") as data:
            rows = _rows_of(detections.frame_ids, data["frame_ids"])
            observed = torch.from_numpy(detections.keypoints[camera][rows]).to(torch.float64)
            valid = torch.from_numpy(data["valid"].astype(bool))
            per_method[method] = heldout_errors(torch.from_numpy(data["fitted"]), valid, rig_h, observed, min_confidence)
            if floor is None:  # every method of the fold triangulates the same detections of the subset
                triangulated = torch.from_numpy(data["triangulated_confidence"] > 0)  # (F, 23)
                floor = heldout_errors(torch.from_numpy(data["triangulated"]), triangulated, rig_h, observed,
                                       min_confidence)
    shared = torch.stack([mask for _, mask in per_method.values()]).all(0)
    if not bool(shared.any()):
        raise InputError(f"held-out camera {h}: no detected point in frames every method reconstructed")
    reference_errors = per_method[methods[0]][0]
    generator = torch.Generator().manual_seed(0)
    median, ratio, interval = {}, {}, {}
    for method in methods:
        errors = per_method[method][0]
        median[method] = float(errors[shared].median())
        ratio[method] = median[method] / float(reference_errors[shared].median())
        interval[method] = median_ratio_interval(reference_errors, shared, errors, shared, block=block_frames,
                                                 draws=draws, level=level, generator=generator)
    floor_errors, floor_mask = floor
    floor_px = float(floor_errors[floor_mask & shared].median()) if bool((floor_mask & shared).any()) else float("nan")
    return HeldoutFold(h, tuple(subset), median, floor_px, ratio, interval, int(shared.sum()),
                       int(shared.any(1).sum()))


def _rows_of(all_frame_ids: np.ndarray, frame_ids: np.ndarray) -> np.ndarray:
    """Indices into the all-camera detections of a run's frames (the same timeline)."""
    lookup = {int(f): i for i, f in enumerate(all_frame_ids)}
    missing = [int(f) for f in frame_ids if int(f) not in lookup]
    if missing:
        raise InputError(f"frames {missing[:5]} of a fold are not in the all-camera detections")
    return np.array([lookup[int(f)] for f in frame_ids], dtype=np.int64)
