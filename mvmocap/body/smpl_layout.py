"""A body model written in the official SMPL file layout, so that ``smplx.SMPL`` can load it.

Keys (plain numpy arrays only, float64 unless said): ``v_template (V, 3)``, ``shapedirs (V, 3, S)``,
``posedirs (V, 3, 207)`` (zeros when the model has no pose correctives, as the open bodies),
``J_regressor (24, V)`` dense, ``weights (V, 24)``, ``kintree_table (2, 24)`` int64 (parents in row 0,
the root's is -1 stored as 2**32 - 1 like the official files; row 1 the joint indices), ``f (T, 3)``
uint32. ``.pkl`` (a pickled dict, what ``smplx.SMPL(model_path=FILE)`` reads) or ``.npz``.

What this does not make the body: SMPL. The vertex count, topology and betas are the model's own
(the open bodies' betas are not SMPL's), and smplx's extra keypoints (``output.joints[:, 24:]``)
pick official SMPL vertex numbers, which mean nothing on another mesh: use ``vertices`` and the
first 24 joints.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from mvmocap.body.model import BodyModel
from mvmocap.errors import InputError
from mvmocap.io.atomic import atomic_path

ROOT_PARENT = 2**32 - 1  # the official files' uint32 -1
SUFFIXES = (".pkl", ".npz")


def smpl_layout_arrays(body: BodyModel) -> dict[str, np.ndarray]:
    """The official SMPL file's arrays for ``body``."""
    vertices, joints = body.num_vertices, body.num_joints
    if body.posedirs is None:
        posedirs = np.zeros((vertices, 3, 9 * (joints - 1)))
    else:  # ours is (9 (J - 1), V * 3); the file's (V, 3, 9 (J - 1))
        posedirs = body.posedirs.double().numpy().T.reshape(vertices, 3, -1)
    parents = body.parents.numpy().astype(np.int64)
    parents[0] = ROOT_PARENT
    regressor = body.joint_regressor
    regressor = regressor.to_dense() if regressor.is_sparse else regressor
    return {
        "v_template": body.v_template.double().numpy().copy(),
        "shapedirs": body.shapedirs.double().numpy().copy(),
        "posedirs": posedirs,
        "J_regressor": regressor.double().numpy().copy(),
        "weights": body.weights.double().numpy().copy(),
        "kintree_table": np.stack([parents, np.arange(joints, dtype=np.int64)]),
        "f": body.faces.numpy().astype(np.uint32),
    }


def write_smpl_layout(body: BodyModel, path: str | Path) -> Path:
    """Write ``body`` to ``path`` (``.pkl`` or ``.npz``) atomically and return the path."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"{path}: the output must end in .pkl or .npz")
    arrays = smpl_layout_arrays(body)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".npz":
            np.savez(tmp, **arrays)
        else:
            with open(tmp, "wb") as handle:
                pickle.dump(arrays, handle, protocol=4)
    return path
