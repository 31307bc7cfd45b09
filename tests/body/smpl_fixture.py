"""A random SMPL-format model (no licensed data needed) for body-model tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from mvmocap.body.joint_sets import SMPL_PARENTS

SMPL_VERTICES = 6890
SMPL_JOINTS = 24


def random_smpl_arrays(rng: np.random.Generator, num_betas: int = 10, vertices: int = SMPL_VERTICES,
                       joints: int = SMPL_JOINTS, posedirs: bool = True) -> dict:
    """Arrays laid out like an official SMPL file, filled with random but plausible values.

    Each joint is regressed from 12 random vertices, each vertex skinned to 4 random joints.
    """
    regressor = np.zeros((joints, vertices))
    rows = np.repeat(np.arange(joints), 12)
    cols = np.argsort(rng.random((joints, vertices)), axis=1)[:, :12].ravel()
    regressor[rows, cols] = rng.uniform(0.1, 1.0, size=rows.size)
    regressor /= regressor.sum(1, keepdims=True)
    weights = np.zeros((vertices, joints))
    rows = np.repeat(np.arange(vertices), 4)
    cols = np.argsort(rng.random((vertices, joints)), axis=1)[:, :4].ravel()
    weights[rows, cols] = rng.uniform(0.0, 1.0, size=rows.size)
    weights /= weights.sum(1, keepdims=True)
    parents = np.array(list(SMPL_PARENTS[:joints]) + [0] * (joints - len(SMPL_PARENTS)))
    kintree = np.stack([parents % 2**32, np.arange(joints)]).astype(np.int64)
    arrays = {
        "v_template": rng.normal(scale=0.3, size=(vertices, 3)),
        "shapedirs": rng.normal(scale=0.02, size=(vertices, 3, num_betas)),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": rng.integers(0, vertices, size=(2 * vertices - 4, 3)).astype(np.uint32),
    }
    if posedirs:
        arrays["posedirs"] = rng.normal(scale=0.005, size=(vertices, 3, 9 * (joints - 1)))
    return arrays


def write_smpl_pickle(path: Path, arrays: dict) -> Path:
    """Save like the official files: a latin1-compatible pickle with a sparse J_regressor."""
    import scipy.sparse

    data = dict(arrays)
    data["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    with open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=2)
    return path
