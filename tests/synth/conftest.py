"""Fixtures of the synthetic-engine tests: the toy capsule body (always available, SMPL layout)."""

from __future__ import annotations

import pytest

from mvmocap.synth.toy_body import ToyBodyModel


@pytest.fixture(scope="session")
def toy_body():
    return ToyBodyModel()
