"""``smpl_params.npz`` (AMASS-style) and its JSON twin: the main output of ``reconstruct``.

Keys: ``poses (F, 72)`` axis-angle (global orientation then the 23 body joints,
SMPL order), ``betas (10,)``, ``trans (F, 3)`` metres, ``global_orient (F, 3)``,
``body_pose (F, 69)``, ``transl (F, 3)`` (the same numbers under smplx's names),
``mocap_framerate``, ``gender``, ``body_model`` (name), ``body_model_sha256``,
``frame_ids (F,)``, ``valid (F,)``. World frame +Z up, metres; ``global_orient``
maps the body model's y-up rest frame into that world. Rows of frames where
nobody was seen (``valid = 0``) are NaN in the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.body.params import BodyParams
from mvmocap.io.atomic import atomic_path, atomic_write_text
from mvmocap.io.safe_read import json_safe

FORMAT_TAG = "mvmocap-smpl-params/1"


@dataclass(frozen=True)
class SmplParamsFile:
    """What a ``smpl_params.npz`` holds besides the parameters."""

    params: BodyParams
    frame_ids: np.ndarray
    framerate: float
    gender: str
    body_model: str
    body_model_sha256: str


def _arrays(record: SmplParamsFile) -> dict[str, np.ndarray]:
    p = record.params.detach().to(dtype=torch.float64, device="cpu")
    valid = p.valid.numpy()
    poses = p.to_smpl_poses().numpy().copy()
    trans = p.transl.numpy().copy()
    poses[~valid] = np.nan
    trans[~valid] = np.nan
    return {
        "format": np.array(FORMAT_TAG),
        "poses": poses,
        "betas": p.betas.numpy(),
        "trans": trans,
        "global_orient": poses[:, :3],
        "body_pose": poses[:, 3:],
        "transl": trans,
        "mocap_framerate": np.array(record.framerate),
        "gender": np.array(record.gender),
        "body_model": np.array(record.body_model),
        "body_model_sha256": np.array(record.body_model_sha256),
        "frame_ids": np.asarray(record.frame_ids, dtype=np.int64),
        "valid": valid.astype(np.uint8),
    }


def save_smpl_params(path: str | Path, record: SmplParamsFile) -> None:
    """Write the ``.npz`` atomically."""
    with atomic_path(path) as tmp:
        np.savez(tmp, **_arrays(record))


def save_smpl_params_json(path: str | Path, record: SmplParamsFile) -> None:
    """The same content as JSON (NaN rows become ``null``)."""
    doc = {}
    for key, value in _arrays(record).items():
        value = np.asarray(value)
        if value.dtype.kind in "fc":
            doc[key] = json_safe(value.tolist())
        else:
            doc[key] = value.tolist()
    atomic_write_text(path, json.dumps(doc, indent=1))


def load_smpl_params(path: str | Path) -> SmplParamsFile:
    """Read a ``smpl_params.npz`` back; invalid frames come back as zeros (``valid`` False)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "SMPL parameter file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # truncated or damaged archives raise zipfile, zlib, EOF and value errors
        raise FileFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in ("poses", "betas", "trans", "valid") if k not in arrays]
    if missing:
        raise FileFormatError(path, f"lacks {', '.join(missing)}")
    valid = arrays["valid"].astype(bool)
    poses = np.nan_to_num(arrays["poses"].astype(np.float64))
    trans = np.nan_to_num(arrays["trans"].astype(np.float64))
    try:
        params = BodyParams.from_smpl_poses(torch.from_numpy(poses), torch.from_numpy(arrays["betas"].astype(np.float64)),
                                            torch.from_numpy(trans), torch.from_numpy(valid))
    except ValueError as exc:
        raise FileFormatError(path, str(exc)) from None
    return SmplParamsFile(
        params=params,
        frame_ids=arrays.get("frame_ids", np.arange(len(poses))),
        framerate=float(arrays.get("mocap_framerate", np.nan)),
        gender=str(arrays.get("gender", "neutral")),
        body_model=str(arrays.get("body_model", "")),
        body_model_sha256=str(arrays.get("body_model_sha256", "")),
    )
