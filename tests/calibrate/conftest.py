"""Synthetic captures shared by the calibration tests (small, so the tests stay fast)."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.calibrate.observations import prepare_observations
from mvmocap.calibrate.synthetic import make_capture


def rotation_errors_deg(R_est: np.ndarray, R_true: np.ndarray) -> np.ndarray:
    """Per-camera angle between two sets of world->camera rotations, after the best common rotation."""
    M = np.einsum("cji,cjk->ik", R_true, R_est)
    U, _, Vt = np.linalg.svd(M)
    Q = U @ np.diag([1, 1, np.sign(np.linalg.det(U @ Vt))]) @ Vt
    rel = np.einsum("cij,kj->cik", R_est, Q) @ np.transpose(R_true, (0, 2, 1))
    cos = (np.trace(rel, axis1=1, axis2=2) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


@pytest.fixture(scope="module")
def capture4():
    return make_capture(4, 60, seed=11)


@pytest.fixture(scope="module")
def observations4(capture4):
    return prepare_observations(capture4.detections, capture4.rig)
