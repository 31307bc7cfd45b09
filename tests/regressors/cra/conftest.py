"""Fixtures of the CRA tests: the toy body (SMPL layout, small) and a tiny synthetic batch."""

from __future__ import annotations

import pytest
import torch

from mvmocap.synth.toy_body import ToyBodyModel


@pytest.fixture(scope="session")
def toy_body():
    return ToyBodyModel()


TINY = {"variant": "cra", "parts": 24, "crop": 16, "width": 8, "perceptrons": [8, 4], "hidden": 32,
        "fuse_hidden": 32, "iterations": 1, "render_stride": 4}


@pytest.fixture(scope="session")
def tiny_batch(toy_body):
    """4 samples x 2 views at a 16-pixel crop, with vertices and IUV."""
    from mvmocap.regressors.cra.training import CRAMethod
    from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView

    cfg = SynthConfig.from_dict({"views": 2, "render_size": 16, **CRAMethod.data_overrides})
    return cfg, SyntheticMultiView(toy_body, cfg, length=8, seed=3).batch([0, 1, 2, 3])


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(7)
