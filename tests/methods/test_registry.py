"""The method registry: fit, regressors added at run time, ``<regressor>+fit``."""

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit.inputs import MethodInputs, run_fit
from mvmocap.fit.smplify import FitConfig
from mvmocap.methods import available_methods, register_regressor, resolve_method, unregister_regressor
from mvmocap.regressors.spec import RegressorSpec

from tests.fit.conftest import rig4, synthetic, tiny_model  # noqa: F401,F811  (fixtures)


@pytest.fixture
def truth_regressor(synthetic):
    """A stand-in regressor: the true parameters, the body pose perturbed by 0.15 rad noise."""
    calls = []
    g = torch.Generator().manual_seed(7)
    noise = 0.15 * torch.randn(synthetic.params.body_pose.shape, generator=g, dtype=torch.float64)
    p = synthetic.params
    noisy = type(p)(p.global_orient, p.body_pose + noise, p.betas, p.transl, p.valid).to(dtype=torch.float32)

    def regress(inputs: MethodInputs):
        calls.append(inputs)
        frames = inputs.extras.get("frames", torch.arange(noisy.num_frames))
        return noisy.frames(frames)

    register_regressor(RegressorSpec("truth_for_test", regress))
    yield calls
    unregister_regressor("truth_for_test")


def test_fit_is_always_available():
    assert "fit" in available_methods()
    assert resolve_method("fit") is run_fit


def test_unknown_method_lists_the_available_ones():
    with pytest.raises(InputError, match="available: fit"):
        resolve_method("nonsense")
    with pytest.raises(InputError):
        RegressorSpec("a+b", lambda inputs: None)
    with pytest.raises(InputError):
        register_regressor("not a spec")


def test_regressor_alone_and_as_initialiser(synthetic, truth_regressor):
    assert {"truth_for_test", "truth_for_test+fit"} <= set(available_methods())
    cfg = FitConfig(iters_shape=40, iters_global=10, iters_pose=40)
    inputs = MethodInputs(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg, progress=False)
    alone = resolve_method("truth_for_test")(inputs)
    assert alone.history == []
    alone_error = (alone.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
    assert float(alone_error.mean()) > 0.03  # the perturbation shows
    refined = resolve_method("truth_for_test+fit")(inputs)
    assert len(truth_regressor) == 2 and refined.history
    error = (refined.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
    assert float(error.mean()) < 0.01


def test_regressor_plus_fit_asks_only_for_the_frames_it_starts_from(synthetic, truth_regressor):
    """With refine_start="anchors" the regressor runs on the key frames alone (the other frames start
    from their nearest fitted key frame); with "init" on every frame."""
    from mvmocap.fit.smplify import _keyframes

    base = FitConfig(iters_shape=30, iters_pose=30, shape_frames=6)
    for mode, expected in (("anchors", _keyframes(synthetic.params.valid, 6)), ("init", torch.arange(24))):
        truth_regressor.clear()
        inputs = MethodInputs(synthetic.keypoints_2d, synthetic.rig, synthetic.model, progress=False,
                              config=FitConfig(**{**base.to_dict(), "refine_start": mode}))
        result = resolve_method("truth_for_test+fit")(inputs)
        assert len(truth_regressor) == 1
        asked = truth_regressor[0]
        assert torch.equal(asked.extras["frames"], expected)
        assert asked.keypoints_2d.shape[0] == len(expected)
        torch.testing.assert_close(asked.keypoints_2d, synthetic.keypoints_2d[expected])
        error = (result.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
        assert float(error.mean()) < 0.015


def test_method_inputs_frames_slices_everything_per_frame(synthetic):
    kp = synthetic.keypoints_2d
    joints = torch.randn(kp.shape[0], 23, 3, generator=torch.Generator().manual_seed(1))
    inputs = MethodInputs(kp, synthetic.rig, synthetic.model, joints3d=joints, joints3d_confidence=torch.ones(kp.shape[0], 23),
                          extras={"videos": "v"})
    part = inputs.frames(torch.tensor([3, 1]))
    assert torch.equal(part.keypoints_2d, kp[[3, 1]]) and torch.equal(part.joints3d, joints[[3, 1]])
    assert part.joints3d_confidence.shape == (2, 23) and part.extras["videos"] == "v"
    assert torch.equal(part.frames(torch.tensor([1])).extras["frames"], torch.tensor([1]))  # positions compose
    assert inputs.extras == {"videos": "v"}  # the original is untouched


def test_a_callable_init_runs_with_the_callers_threads_and_must_match_its_frames(synthetic):
    from mvmocap.fit import fit_sequence

    seen_threads = []

    def init(frames):
        seen_threads.append(torch.get_num_threads())
        return synthetic.params.frames(frames).to(dtype=torch.float32)

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the caller's setting differs from the fit's single thread, whatever the test runner's
    try:
        cfg = FitConfig(iters_shape=10, iters_pose=10, shape_frames=4, num_threads=1)
        fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg, init=init, progress=False)
        assert seen_threads == [2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    with pytest.raises(InputError, match="init has 2 frames, the key frames 4"):
        fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg, progress=False,
                     init=lambda frames: synthetic.params.frames(slice(0, 2)))
