"""The captures ``mvmocap adapt`` learns from: ``reconstruct`` output folders, read back.

A folder gives, for F frames and its C cameras: the detections (``work/detections``, with the
left/right repair and the confidence threshold the run applied), the cameras (``cameras.yaml``),
the triangulated joints (``joints3d.npz``) and the run's fitted bodies (``smpl_params.npz``: the
first entries of the fit cache). An adaptation method declares which of these it reads
(:data:`RUN_FILES`' keys, ``mvmocap.methods.adaptation_needs``: ``volumetric`` all of them, ``cmanet``
and ``cra`` the detections and the cameras); :func:`check_run_dirs` checks those before any long work and
refuses a folder without one of them in one line. What a method does not need may be absent: no fit
= no cached fit (every frame starts uncached), no ``joints3d.npz`` = triangulated from the detections.

No ground truth is read: a reconstruct folder has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvmocap.body.params import BodyParams
from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.fit.inputs import MethodInputs
from mvmocap.fit.smplify import FitConfig
from mvmocap.io.safe_read import CONFIG_MAX_BYTES, load_yaml

# What a reconstruct folder holds for adapt: ``{need: (file, what it is)}``; a method reads some or all.
RUN_FILES = {
    "fit": ("smpl_params.npz", "fit (smpl_params.npz) of a reconstruct run"),
    "cameras": ("cameras.yaml", "cameras (cameras.yaml) of a reconstruct run"),
    "triangulation": ("joints3d.npz", "triangulated joints (joints3d.npz) of a reconstruct run"),
    "detections": ("work/detections/index.json", "detections (work/detections) of a reconstruct run"),
}
ALL_NEEDS = tuple(RUN_FILES)
FIT_FILE = RUN_FILES["fit"][0]
DEFAULT_MIN_CONFIDENCE = 0.2  # ReconstructConfig's triangulation.min_confidence


@dataclass
class Capture:
    """One capture to adapt on.

    Attributes:
        name: a short unique name (the folder's name, numbered when repeated).
        inputs: what every method reads (keypoints ``(F, C, 23, 3)``, rig, triangulated joints).
        fit: the run's fitted :class:`BodyParams` (F frames), the fit cache's first entries.
    """

    name: str
    inputs: MethodInputs
    fit: BodyParams

    @property
    def num_frames(self) -> int:
        return int(self.inputs.keypoints_2d.shape[0])


def check_run_dirs(run_dirs: list[str | Path], needs: tuple[str, ...] = ALL_NEEDS) -> list[Path]:
    """The folders as paths, each checked to hold the files of ``needs`` (:data:`RUN_FILES`' keys: what
    the adapted method reads; files only, fast).

    Raises :class:`MissingFileError` naming the first missing file, :class:`InputError` for no folder.
    """
    unknown = [n for n in needs if n not in RUN_FILES]
    if unknown:
        raise InputError(f"unknown run-folder need(s) {', '.join(unknown)}; known: {', '.join(RUN_FILES)}")
    if not run_dirs:
        raise InputError("give at least one reconstruct output folder to adapt on")
    paths = []
    for run in run_dirs:
        run = Path(run)
        if not run.is_dir():
            raise MissingFileError(run, "reconstruct output folder")
        if (run / "people.json").is_file():
            raise InputError(f"{run}: a multi-person run; give one person's folder (adapt needs one person per capture)")
        for need in needs:
            name, what = RUN_FILES[need]
            if not (run / name).is_file():
                raise MissingFileError(run / name, what)
        paths.append(run)
    return paths


def _min_confidence(run: Path) -> float:
    """The run's ``triangulation.min_confidence`` (its config.yaml; the default when absent)."""
    path = run / "config.yaml"
    if not path.is_file():
        return DEFAULT_MIN_CONFIDENCE
    config = load_yaml(path, CONFIG_MAX_BYTES, "reconstruct config") or {}  # bounded, aliases checked
    triangulation = config.get("triangulation") if isinstance(config, dict) else None
    value = triangulation.get("min_confidence") if isinstance(triangulation, dict) else None
    try:
        return DEFAULT_MIN_CONFIDENCE if value is None else float(value)
    except (TypeError, ValueError):
        raise FileFormatError(path, f"triangulation.min_confidence is not a number: {value!r}") from None


def _triangulated(run: Path, frames: int, joints: int) -> tuple[torch.Tensor, torch.Tensor]:
    path = run / "joints3d.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            points, confidence = data["triangulated"], data["triangulated_confidence"]
    except (KeyError, ValueError, OSError) as exc:
        raise FileFormatError(path, f"no triangulated joints ({type(exc).__name__})") from None
    if points.shape != (frames, joints, 3) or confidence.shape != (frames, joints):
        raise FileFormatError(path, f"triangulated joints of shape {points.shape}, expected ({frames}, {joints}, 3)")
    points = torch.nan_to_num(torch.from_numpy(points).to(torch.float64))
    return points, torch.from_numpy(confidence).to(torch.float64)


def load_capture(run: str | Path, body_model, name: str | None = None, fit_config: FitConfig | None = None,
                 cameras: list[str] | None = None) -> Capture:
    """Read one reconstruct folder (checked by :func:`check_run_dirs`) into a :class:`Capture`.

    ``body_model`` must be the one the run's fit used (its name is checked against the file's).
    ``cameras``: keep only these (None: all). With fewer cameras than the run, the left/right repair
    and the triangulation are redone from them, and the run's fit, which saw the others, is left out
    of the fit cache (its frames start uncached; the first refit fills them), so a held-out camera
    never supervises the regressor. A folder without a fit (a method that does not need it, see
    :func:`check_run_dirs`) gives a capture whose fit is empty (no frame valid); one without
    ``joints3d.npz`` is triangulated from its detections.
    """
    from mvmocap.detect.run import load as load_detections
    from mvmocap.detect.left_right import fix_left_right
    from mvmocap.io.calibration import load_rig
    from mvmocap.io.smpl_params import load_smpl_params
    from mvmocap.reconstruct.pipeline import keypoints_tensor

    run = Path(run)
    fitted = load_smpl_params(run / FIT_FILE) if (run / FIT_FILE).is_file() else None
    if fitted is not None and fitted.body_model and fitted.body_model != getattr(body_model, "name", fitted.body_model):
        raise InputError(f"{run}: fitted with body model {fitted.body_model!r}, adapt uses {body_model.name!r}")
    rig = load_rig(run / "cameras.yaml")
    subset = bool(cameras) and list(cameras) != list(rig.names)
    if cameras:
        _check_cameras(run, cameras, rig.names)
        rig = rig.subset(list(cameras))
    detections = load_detections(run / "work")
    missing = [n for n in rig.names if n not in detections.camera_names]
    if missing:
        raise FileFormatError(run / "work" / "detections", f"no detections for camera(s) {', '.join(missing)}")
    detections = detections.subset_cameras(rig.names)
    if fitted is not None and not np.array_equal(np.asarray(detections.frame_ids), np.asarray(fitted.frame_ids)):
        raise FileFormatError(run / FIT_FILE, f"the fit covers other frames than the detections "
                              f"({len(fitted.frame_ids)} against {detections.num_frames})")
    detections, _ = fix_left_right(detections, rig)  # as the run did before triangulating and fitting
    keypoints = keypoints_tensor(detections, _min_confidence(run))  # (F, C, 23, 3)
    fit = fitted.params.to(dtype=torch.float32) if fitted is not None else no_fit(keypoints.shape[0])
    if subset or not (run / RUN_FILES["triangulation"][0]).is_file():
        tri = rig.to(dtype=torch.float64).triangulate_robust(keypoints[..., :2], keypoints[..., 2])
        points, confidence = tri.points, tri.confidence
        fit = fit.with_valid(torch.zeros_like(fit.valid)) if subset else fit
    else:
        points, confidence = _triangulated(run, keypoints.shape[0], keypoints.shape[2])
    inputs = MethodInputs(keypoints, rig, body_model, points, confidence, fit_config or FitConfig(),
                          extras={"detections": detections}, progress=False)
    return Capture(name or run.name, inputs, fit)


def no_fit(frames: int) -> BodyParams:
    """The fit of a capture that has none: ``frames`` rest-pose frames, none valid (nothing cached)."""
    return BodyParams.zeros(frames).with_valid(torch.zeros(frames, dtype=torch.bool))


def run_body_model_name(run: str | Path) -> str | None:
    """The body model a reconstruct folder used: its fit's (``smpl_params.npz``), else its
    ``config.yaml``'s ``body_model``; None: not recorded (the default body model)."""
    from mvmocap.io.smpl_params import load_smpl_params

    run = Path(run)
    if (run / FIT_FILE).is_file():
        return load_smpl_params(run / FIT_FILE).body_model or None
    path = run / "config.yaml"
    if not path.is_file():
        return None
    config = load_yaml(path, CONFIG_MAX_BYTES, "reconstruct config") or {}
    name = config.get("body_model") if isinstance(config, dict) else None
    return str(name) if name else None


def _check_cameras(run: Path, cameras: list[str], names) -> None:
    unknown = [c for c in cameras if c not in names]
    if unknown:
        raise InputError(f"{run}: no camera {', '.join(unknown)}; cameras: {', '.join(names)}")
    if len(set(cameras)) < 2:
        raise InputError("adapt needs at least 2 cameras per capture")


def select(capture: Capture, frames: tuple[int, int] | None = None) -> Capture:
    """The frame positions ``frames = (start, stop)`` of a capture (None: all of it)."""
    if frames is None:
        return capture
    start, stop = frames
    F = capture.num_frames
    if not 0 <= start < stop <= F:
        raise InputError(f"{capture.name}: frames {start}:{stop} outside the capture's 0:{F}")
    idx = torch.arange(start, stop)
    return Capture(capture.name, capture.inputs.frames(idx), capture.fit.frames(idx))


def capture_from_detections(name: str, detections, rig, body_model, fit_config: FitConfig | None = None,
                            min_confidence: float = DEFAULT_MIN_CONFIDENCE, threshold_px: float = 20.0,
                            fit: bool = True) -> Capture:
    """A :class:`Capture` made as ``reconstruct --method fit`` makes its folder: the left/right repair,
    the confidence threshold, the robust triangulation and the fit (from the geometric start) of
    ``detections`` seen by the calibrated ``rig`` (for synthetic captures and benchmarks; only 2D
    evidence and cameras go in). ``fit=False``: no fit (an empty one, no frame valid; for a method
    that does not read it, as ``cmanet``)."""
    from mvmocap.detect.left_right import fix_left_right
    from mvmocap.fit.inputs import run_fit
    from mvmocap.reconstruct.pipeline import keypoints_tensor

    detections = detections.subset_cameras(list(rig.names))
    detections, _ = fix_left_right(detections, rig)
    keypoints = keypoints_tensor(detections, min_confidence)
    tri = rig.to(dtype=torch.float64).triangulate_robust(keypoints[..., :2], keypoints[..., 2], threshold_px=threshold_px)
    inputs = MethodInputs(keypoints, rig, body_model, tri.points, tri.confidence, fit_config or FitConfig(),
                          extras={"detections": detections}, progress=False)
    if not fit:
        return Capture(name, inputs, no_fit(keypoints.shape[0]))
    return Capture(name, inputs, run_fit(inputs).params.detach().to(dtype=torch.float32))


def unfitted_captures(truths: list, body_model, name: str) -> list[tuple[Any, Capture]]:
    """``(truth, Capture)`` pairs, the captures without a fit (:func:`capture_from_detections` with
    ``fit=False``) named ``name0, name1, ...``, of synthetic captures ``truths``
    (:class:`~mvmocap.synth.sequence.SyntheticCapture`; only their detections and cameras go in)."""
    return [(truth, capture_from_detections(f"{name}{index}", truth.detections, truth.rig, body_model, fit=False))
            for index, truth in enumerate(truths)]
