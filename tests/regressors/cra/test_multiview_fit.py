"""A per-view regressor through the registry: ``NAME+fit`` gives every frame seen by one camera a body."""

from __future__ import annotations

import dataclasses

import torch

from mvmocap.fit.config import FitConfig
from mvmocap.fit.inputs import MethodInputs
from mvmocap.methods import register_regressor, resolve_method, unregister_regressor
from mvmocap.regressors.cra.multiview import regress_with
from mvmocap.regressors.spec import RegressorSpec
from tests.fit.conftest import make_rig, make_tiny_body_model, render_sequence, true_sequence
from tests.regressors.cra.test_multiview import exact_views

F = 20
SINGLE = list(range(6, 14))


def test_regressor_plus_fit_covers_the_frames_one_camera_sees():
    model, rig = make_tiny_body_model(), make_rig()
    truth = true_sequence(F)
    synthetic = render_sequence(model, rig, truth)
    kp = synthetic.keypoints_2d.clone()
    kp[SINGLE, 1:] = 0.0  # cameras 1-3 lose the person
    valid = torch.ones(F, 4, dtype=torch.bool)
    valid[SINGLE, 1:] = False
    views = exact_views(rig, truth, synthetic.keypoints3d, valid=valid)
    asked = []

    def predict_views(inputs: MethodInputs):
        frames = inputs.extras["frames"]
        asked.append(frames.tolist())
        return type(views)(*(getattr(views, f.name)[frames] for f in dataclasses.fields(views)))

    tri = rig.triangulate_robust(kp[..., :2], kp[..., 2])
    inputs = MethodInputs(kp, rig, model, tri.points, tri.confidence,
                          FitConfig(iters_shape=40, iters_global=10, iters_pose=40), progress=False)
    register_regressor(RegressorSpec("test-views", regress_with(predict_views)))
    try:
        plain = resolve_method("fit")(inputs)
        refined = resolve_method("test-views+fit")(inputs)
    finally:
        unregister_regressor("test-views")
    assert not bool(plain.params.valid[SINGLE].any())
    assert bool(refined.params.valid.all())
    assert any(set(SINGLE) <= set(frames) for frames in asked)  # the single-view frames were asked for
    error = (refined.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
    assert float(error[SINGLE].mean()) < 0.02  # metres: exact views, 1 px noise
    multi = [f for f in range(F) if f not in SINGLE]
    assert float(error[multi].mean()) < 0.01
