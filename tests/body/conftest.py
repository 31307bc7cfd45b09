"""Fixtures for body-model tests: a random SMPL-format model file (no licensed data needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .smpl_fixture import random_smpl_arrays, write_smpl_pickle


@pytest.fixture(scope="session")
def smpl_arrays() -> dict:
    return random_smpl_arrays(np.random.default_rng(1234))


@pytest.fixture(scope="session")
def smpl_pkl(tmp_path_factory, smpl_arrays) -> Path:
    return write_smpl_pickle(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl", smpl_arrays)
