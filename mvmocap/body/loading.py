"""Reading body-model files: the shipped open models and official SMPL ``.pkl`` / ``.npz`` files.

Which model: an explicit name or path, else ``$MVMOCAP_BODY_MODEL``, else the shipped
``open_neutral``. Official SMPL pickles hold chumpy arrays; they are read with an allowlisting unpickler
(:mod:`mvmocap.body.model_files`) that turns them into numpy arrays, so neither chumpy nor smplx
is needed and no code in a file can run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvmocap.body.joint_sets import SMPL_PARENTS, KeypointRegressor, h36m17_from, smpl_coco23
from mvmocap.body.model import BodyModel
from mvmocap.body.model_files import dense, read_model_bytes, read_npz, unpickle
from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.keypoints import COCO23

ENV_VARIABLE = "MVMOCAP_BODY_MODEL"
SHIPPED_MODELS = ("open_neutral", "open_male", "open_female")
DEFAULT_MODEL = "open_neutral"
OPEN_FORMAT = "mvmocap-body/1"
MODELS_DIR = Path(__file__).resolve().parents[2] / "models" / "body"

# (vertices, joints) of the SMPL family, to name what a wrong file is.
_FAMILY = {
    (6890, 24): "SMPL",
    (6890, 52): "SMPL-H",
    (10475, 55): "SMPL-X",
    (778, 16): "MANO",
}
_OFFICIAL_KEYS = ("v_template", "shapedirs", "J_regressor", "weights", "kintree_table", "f")


def resolve_model_path(source: str | os.PathLike | None) -> Path:
    """The file a model source names: a shipped name, a path, or None (environment, then default)."""
    if source is None:
        source = os.environ.get(ENV_VARIABLE) or DEFAULT_MODEL
    text = os.fspath(source)
    if text in SHIPPED_MODELS:
        return MODELS_DIR / f"{text}.npz"
    return Path(text).expanduser()


def load_body_model(
    source: str | os.PathLike | None = None, num_betas: int = 10, dtype: torch.dtype = torch.float32
) -> BodyModel:
    """Load a body model on the CPU (``dtype`` float32 by default; the file's values are read in
    float64 first, so ``dtype=torch.float64`` keeps an official file's precision).

    Args:
        source: ``"open_neutral"``, ``"open_male"``, ``"open_female"``, a path to an official SMPL
            ``.pkl``/``.npz`` or an open-model ``.npz``; None: ``$MVMOCAP_BODY_MODEL`` or open_neutral.
        num_betas: number of shape coefficients kept (at most what the file has).
    Raises:
        MissingFileError, FileFormatError (unreadable, wrong family such as SMPL-H/SMPL-X, wrong
        shapes), InputError (bad ``num_betas``).
    """
    if num_betas < 1:
        raise InputError(f"num_betas must be >= 1, got {num_betas}")
    path = resolve_model_path(source)
    if not path.exists():
        what = "shipped body model (run `mvmocap body build-open`)" if path.parent == MODELS_DIR else "body model file"
        raise MissingFileError(path, what)
    raw = read_model_bytes(path)
    arrays = _read_arrays(path, raw)
    file_hash = hashlib.sha256(raw).hexdigest()
    try:
        if _text(arrays.get("format")) == OPEN_FORMAT:
            model = _open_model(path, arrays, file_hash, num_betas)
        else:
            model = _official_model(path, arrays, file_hash, num_betas)
    except (LookupError, ValueError, TypeError, AttributeError, RuntimeError) as exc:  # odd shapes or types
        raise FileFormatError(path, f"damaged body model ({type(exc).__name__}: {exc})") from None
    _check_values(path, model)
    return model.to(dtype=dtype)


def _check_values(path: Path, model: BodyModel) -> None:
    """Refuse non-finite values and faces that name missing vertices."""
    for key in ("v_template", "shapedirs", "posedirs", "joint_regressor", "weights"):
        value = getattr(model, key)
        if value is not None and not bool(torch.isfinite(value).all()):
            raise FileFormatError(path, f"{key} has non-finite values (NaN or Inf)")
    faces = model.faces
    if faces.numel() and (int(faces.min()) < 0 or int(faces.max()) >= model.num_vertices):
        raise FileFormatError(path, f"faces name vertices outside 0..{model.num_vertices - 1}")


# ---- raw reading --------------------------------------------------------------------------------


def _read_arrays(path: Path, raw: bytes) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_npz(path, raw)  # object arrays are converted by _plain when used
    if suffix == ".pkl":
        data = unpickle(path, raw)
        if not isinstance(data, dict):
            raise FileFormatError(path, f"expected a dict of arrays, found {type(data).__name__}")
        return data  # values are converted by _plain when used
    raise FileFormatError(path, "unknown body-model extension (expected .npz or .pkl)")


def _plain(value: Any) -> Any:
    """numpy array from chumpy stand-ins, sparse matrices and 0-d object arrays; else unchanged."""
    return dense(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(np.asarray(value).item()) if np.asarray(value).shape == () else None


# ---- official SMPL ------------------------------------------------------------------------------


def _official_model(path: Path, arrays: dict[str, Any], file_hash: str, num_betas: int) -> BodyModel:
    missing = [k for k in _OFFICIAL_KEYS if k not in arrays]
    if missing:
        raise FileFormatError(path, f"not an SMPL model file: missing {', '.join(missing)}")
    a = {}
    for key in (*_OFFICIAL_KEYS, "posedirs"):
        if key in arrays:
            try:
                a[key] = np.asarray(_plain(arrays[key]), dtype=np.float64 if key != "f" else None)
            except (ValueError, TypeError) as exc:
                raise FileFormatError(path, f"cannot read {key} as an array ({exc})") from None
    vertices = a["v_template"].shape[0]
    joints = a["kintree_table"].shape[-1] if a["kintree_table"].ndim == 2 else -1
    family = _FAMILY.get((vertices, joints))
    if family != "SMPL" or "hands_componentsl" in arrays:
        found = family or f"an unknown model ({vertices} vertices, {joints} joints)"
        if "hands_componentsl" in arrays and family == "SMPL":
            found = "SMPL-H (hand PCA components)"
        raise FileFormatError(path, f"expected an SMPL body (6890 vertices, 24 joints), found {found}")
    _check_shape(path, "v_template", a["v_template"], (vertices, 3))
    shapedirs = a["shapedirs"]
    if shapedirs.ndim != 3 or shapedirs.shape[:2] != (vertices, 3):
        raise FileFormatError(path, f"shapedirs has shape {shapedirs.shape}, expected ({vertices}, 3, S)")
    _check_shape(path, "J_regressor", a["J_regressor"], (joints, vertices))
    _check_shape(path, "weights", a["weights"], (vertices, joints))
    _check_shape(path, "f", a["f"], (a["f"].shape[0], 3))
    parents = a["kintree_table"][0].astype(np.int64)
    parents[0] = -1
    if tuple(parents.tolist()) != SMPL_PARENTS:
        raise FileFormatError(path, f"kinematic tree {parents.tolist()} is not SMPL's")
    posedirs = None
    if "posedirs" in a:
        _check_shape(path, "posedirs", a["posedirs"], (vertices, 3, 9 * (joints - 1)))
        posedirs = a["posedirs"].reshape(vertices * 3, -1).T
    coco23 = smpl_coco23(joints)
    head_top = int(np.argmax(a["v_template"][:, 1]))
    return _assemble(
        name=_official_name(path, arrays),
        file_hash=file_hash,
        v_template=a["v_template"],
        shapedirs=shapedirs[:, :, :num_betas],
        posedirs=posedirs,
        joint_regressor=a["J_regressor"],
        weights=a["weights"],
        faces=a["f"],
        parents=parents,
        coco23=coco23,
        h36m17=h36m17_from(coco23, head_top, joints),
        coco23_available=np.ones(len(COCO23), dtype=bool),
    )


def _official_name(path: Path, arrays: dict[str, Any]) -> str:
    stem = path.stem.upper()
    for gender in ("NEUTRAL", "MALE", "FEMALE"):
        if gender in stem.replace("_", " ").split() or f"_{gender}" in stem or stem.startswith(gender):
            return f"SMPL_{gender}"
    return path.stem


def _check_shape(path: Path, key: str, array: np.ndarray, expected: tuple[int, ...]) -> None:
    if array.shape != expected:
        raise FileFormatError(path, f"{key} has shape {array.shape}, expected {expected}")


# ---- open models --------------------------------------------------------------------------------


def _open_model(path: Path, arrays: dict[str, Any], file_hash: str, num_betas: int) -> BodyModel:
    try:
        vertices = arrays["v_template"].shape[0]
        joints = arrays["parents"].shape[0]
        coco23 = _stored_regressor(arrays, "coco23")
        h36m17 = _stored_regressor(arrays, "h36m17")
        j_regressor = _stored_regressor(arrays, "J_regressor").dense_vertex_weights(vertices).numpy()
        model = _assemble(
            name=_text(arrays["name"]) or path.stem,
            file_hash=file_hash,
            v_template=arrays["v_template"],
            shapedirs=arrays["shapedirs"][:, :, :num_betas],
            posedirs=None,
            joint_regressor=j_regressor,
            weights=arrays["weights"],
            faces=arrays["faces"],
            parents=arrays["parents"],
            coco23=coco23,
            h36m17=h36m17,
            coco23_available=arrays["coco23_available"].astype(bool),
        )
    except (KeyError, IndexError, ValueError, RuntimeError, AttributeError, TypeError) as exc:
        raise FileFormatError(path, f"damaged open body model ({type(exc).__name__}: {exc})") from None
    expected = {
        "shapedirs": (vertices, 3),
        "weights": (vertices, joints),
        "faces": (model.faces.shape[0], 3),
        "coco23_available": (len(COCO23),),
    }
    for key, shape in expected.items():
        if tuple(arrays[key].shape[: len(shape)]) != shape:
            raise FileFormatError(path, f"{key} has shape {arrays[key].shape}, expected {shape}")
    if tuple(model.parents.tolist()) != SMPL_PARENTS:
        raise FileFormatError(path, "kinematic tree is not SMPL's")
    return model


def _stored_regressor(arrays: dict[str, Any], prefix: str) -> KeypointRegressor:
    joint_weights = arrays.get(f"{prefix}_joint_weights")
    indices = arrays[f"{prefix}_vertex_indices"]
    if joint_weights is None:
        joint_weights = np.zeros((indices.shape[0], arrays["parents"].shape[0]))
    return KeypointRegressor(
        torch.as_tensor(np.asarray(joint_weights, dtype=np.float64)),
        torch.as_tensor(np.asarray(indices, dtype=np.int64)),
        torch.as_tensor(np.asarray(arrays[f"{prefix}_vertex_weights"], dtype=np.float64)),
    )


def _assemble(*, name, file_hash, v_template, shapedirs, posedirs, joint_regressor, weights, faces, parents,
              coco23, h36m17, coco23_available) -> BodyModel:
    def f64(x):
        return torch.as_tensor(np.ascontiguousarray(x, dtype=np.float64))

    return BodyModel(
        name=name,
        file_hash=file_hash,
        v_template=f64(v_template),
        shapedirs=f64(shapedirs),
        posedirs=None if posedirs is None else f64(posedirs),
        joint_regressor=f64(joint_regressor),
        weights=f64(weights),
        faces=torch.as_tensor(np.asarray(faces, dtype=np.int64)),
        parents=torch.as_tensor(np.asarray(parents, dtype=np.int64)),
        coco23_regressor=coco23,
        h36m17_regressor=h36m17,
        coco23_available=torch.as_tensor(np.asarray(coco23_available, dtype=bool)),
    )


def describe(model: BodyModel) -> str:
    """One line naming a loaded model (for logs and CLI output)."""
    return json.dumps(
        {"name": model.name, "vertices": model.num_vertices, "betas": model.num_betas, "sha256": model.file_hash[:12]}
    )
