"""``cameras_per_frame.npz``: cameras that may change every frame (a :class:`~mvmocap.geometry.frame_rig.FrameRig`).

Arrays (``F`` frames, ``C`` cameras; OpenCV cameras, ``x_cam = R x_world + t``, metres, the run's world
frame: +Z up, floor at z = 0):

* ``format``: ``"mvmocap-cameras-per-frame/1"``;
* ``camera_names`` ``(C,)`` str; ``frame_ids`` ``(F,)`` int64, the video frame numbers;
* ``R`` ``(F, C, 3, 3)`` and ``t`` ``(F, C, 3)`` float64, world -> camera;
* ``focal`` ``(F, C)`` float64 px (fx = fy), ``principal_point`` ``(F, C, 2)`` float64 px (no distortion);
* ``image_sizes`` ``(C, 2)`` int64 (width, height) px;
* ``valid`` ``(F, C)`` bool: the camera was estimated in that frame (elsewhere its pose is held
  from the nearest frame where it was).

Written atomically (temporary name, then rename); read with ``allow_pickle=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.geometry.frame_rig import FrameRig
from mvmocap.io.atomic import atomic_path

FORMAT = "mvmocap-cameras-per-frame/1"
FILE_NAME = "cameras_per_frame.npz"
KEYS = ("format", "camera_names", "frame_ids", "R", "t", "focal", "principal_point", "image_sizes", "valid")


@dataclass(frozen=True)
class CamerasPerFrame:
    """What the file holds: ``rig`` (a :class:`FrameRig`), ``frame_ids (F,)``, ``valid (F, C)`` bool."""

    rig: FrameRig
    frame_ids: np.ndarray
    valid: np.ndarray


def save_cameras_per_frame(path: str | Path, rig: FrameRig, frame_ids, valid=None) -> Path:
    """Write ``rig`` (pinholes without distortion, fx = fy) as ``cameras_per_frame.npz`` (see the module docstring)."""
    F, C = rig.num_frames, len(rig)
    K = rig.K.detach().to(torch.float64).cpu().numpy()
    if np.any(rig.dist.detach().cpu().numpy() != 0) or not np.allclose(K[..., 0, 0], K[..., 1, 1]):
        raise InputError("cameras_per_frame.npz holds pinholes with fx = fy and no distortion")
    frame_ids = np.asarray(frame_ids, dtype=np.int64)
    valid = np.ones((F, C), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    if frame_ids.shape != (F,) or valid.shape != (F, C):
        raise InputError(f"frame_ids must be ({F},) and valid ({F}, {C}), got {frame_ids.shape} and {valid.shape}")
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, format=np.array(FORMAT), camera_names=np.array(rig.names), frame_ids=frame_ids,
                     R=rig.R.detach().to(torch.float64).cpu().numpy(), t=rig.t.detach().to(torch.float64).cpu().numpy(),
                     focal=K[..., 0, 0], principal_point=K[..., :2, 2],
                     image_sizes=np.rint(rig.sizes.detach().cpu().numpy()).astype(np.int64), valid=valid)
    return path


def load_cameras_per_frame(path: str | Path) -> CamerasPerFrame:
    """Read a ``cameras_per_frame.npz`` (a file, or a ``reconstruct`` output folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise MissingFileError(path, "per-frame cameras")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in KEYS if k not in data.files]
            if missing:
                raise FileFormatError(path, f"not a per-frame camera file: no {', '.join(missing)}")
            arrays = {k: data[k] for k in KEYS}
    except (OSError, ValueError) as exc:
        raise FileFormatError(path, f"unreadable npz ({exc})") from None
    if str(arrays["format"]) != FORMAT:
        raise FileFormatError(path, f"format {str(arrays['format'])!r}, expected {FORMAT!r}")
    try:
        R, t, focal = (torch.from_numpy(np.asarray(arrays[k], dtype=np.float64)) for k in ("R", "t", "focal"))
        F, C = focal.shape
        K = torch.zeros(F, C, 3, 3, dtype=torch.float64)
        K[..., 0, 0] = K[..., 1, 1] = focal
        K[..., :2, 2] = torch.from_numpy(np.asarray(arrays["principal_point"], dtype=np.float64))
        K[..., 2, 2] = 1.0
        names = tuple(str(n) for n in arrays["camera_names"])
        rig = FrameRig(names, K, torch.zeros(F, C, 5, dtype=torch.float64), R, t,
                       torch.from_numpy(np.asarray(arrays["image_sizes"], dtype=np.float64)))
    except (InputError, RuntimeError, ValueError) as exc:
        raise FileFormatError(path, f"inconsistent arrays ({exc})") from None
    frame_ids, valid = np.asarray(arrays["frame_ids"]), np.asarray(arrays["valid"], dtype=bool)
    if frame_ids.shape != (F,) or valid.shape != (F, C) or not np.all(np.isfinite(R.numpy())):
        raise FileFormatError(path, "inconsistent arrays (frame_ids, valid or non-finite cameras)")
    return CamerasPerFrame(rig, frame_ids, valid)
