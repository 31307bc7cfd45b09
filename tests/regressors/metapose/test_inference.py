"""MetaPose at inference: the estimates, the registry entry and the ``--method`` errors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit.inputs import MethodInputs
from mvmocap.regressors.metapose.body import regress
from mvmocap.regressors.metapose.inference import estimate
from mvmocap.regressors.metapose.model import NeuralOptimizer

from .conftest import make_inputs


def test_estimates_have_the_shapes_of_the_frame_sets():
    inputs, _, _ = make_inputs(B=2, C=3)
    for solver, net in (("s1", None), ("s2", NeuralOptimizer(steps=1, layers=(16, "CC", 16))), ("ir", None)):
        joints, cameras = estimate(inputs, solver, net)
        assert joints.shape == (2, 17, 3) and cameras.shape == (2, 3, 9)
    with pytest.raises(InputError, match="trained optimizer"):
        estimate(inputs, "s2")


def test_registry_declares_metapose_without_calibration():
    from mvmocap.methods import available_methods, method_spec

    assert {"metapose", "metapose+fit"} <= set(available_methods())
    assert method_spec("metapose").needs_calibration is False


def _method_inputs(C=3, F=2, person=True, mono=True):
    rng = np.random.default_rng(0)
    kp = np.zeros((F, C, 23, 3))
    if person:
        kp[..., :2] = rng.uniform(100, 900, size=(F, C, 23, 2))
        kp[..., 2] = 0.9
    detections = SimpleNamespace(mono3d=rng.normal(size=(C, F, 23, 4)).astype(np.float32) if mono else None,
                                 camera_names=tuple(f"cam{c}" for c in range(C)), image_sizes=np.full((C, 2), 1000))
    return MethodInputs(keypoints_2d=torch.from_numpy(kp), rig=None, body_model=None, extras={"detections": detections})


@pytest.mark.parametrize("kwargs, message", [
    ({"C": 1}, "at least 2 cameras"),
    ({"person": False}, "no person"),
    ({"mono": False}, "monocular 3D"),
    ({}, "checkpoint .*absent.pt is missing"),
])
def test_regress_says_what_is_missing(kwargs, message, monkeypatch, tmp_path):
    monkeypatch.setenv("MVMOCAP_METAPOSE_CHECKPOINT", str(tmp_path / "absent.pt"))
    with pytest.raises(InputError, match=message):
        regress(_method_inputs(**kwargs))
