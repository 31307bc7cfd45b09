"""Reading ``joints3d.npz``, the joint file of ``reconstruct`` (written by :mod:`mvmocap.reconstruct.pipeline`).

Keys read here: ``frame_ids (F,)``, ``camera_names (C,)``, ``fitted_reprojection_px (F, C, 23)``
pixels (the fitted model's COCO-23 points against the detections, computed everywhere) and
``compared (F, C, 23)`` bool, where the report's median reprojection errors are taken (written
since the file gained it; older files lack it and are refused with that reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.io.safe_read import check_regular_file

REQUIRED = ("frame_ids", "camera_names", "fitted_reprojection_px", "compared")


@dataclass(frozen=True)
class FitReprojection:
    """A reconstruction's reprojection errors.

    Attributes:
        errors: ``(F, C, 23)`` pixels; compared: ``(F, C, 23)`` bool, which of them count.
        frame_ids: ``(F,)`` video frame numbers; camera_names: ``C`` names.
    """

    errors: Tensor
    compared: Tensor
    frame_ids: np.ndarray
    camera_names: tuple[str, ...]


def load_fit_reprojection(path: str | Path) -> FitReprojection:
    """:class:`FitReprojection` from a ``joints3d.npz`` or a ``reconstruct`` output folder holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "joints3d.npz"
    if not path.is_file():
        raise MissingFileError(path, "reconstruct joint file")
    check_regular_file(path, "reconstruct joint file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k in REQUIRED}
    except Exception as exc:  # truncated or damaged archives raise zipfile, zlib, EOF and value errors
        raise FileFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise FileFormatError(path, f"lacks {', '.join(missing)} (written by an older mvmocap: rerun reconstruct)")
    errors, compared = arrays["fitted_reprojection_px"], arrays["compared"]
    if arrays["frame_ids"].ndim != 1 or arrays["camera_names"].ndim != 1:
        raise FileFormatError(path, "frame_ids and camera_names must be 1-D arrays")
    frames, cameras = len(arrays["frame_ids"]), len(arrays["camera_names"])
    if errors.ndim != 3 or errors.shape[:2] != (frames, cameras) or compared.shape != errors.shape:
        raise FileFormatError(path, f"fitted_reprojection_px {errors.shape} and compared {compared.shape} do not "
                                    f"match {frames} frames x {cameras} cameras")
    return FitReprojection(torch.from_numpy(errors.astype(np.float64)), torch.from_numpy(compared.astype(bool)),
                           arrays["frame_ids"], tuple(str(n) for n in arrays["camera_names"]))
