import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit import methods
from mvmocap.fit.methods import MethodInputs, available_methods, register_regressor, resolve_method
from mvmocap.fit.smplify import FitConfig


@pytest.fixture
def truth_regressor(synthetic):
    """A stand-in regressor: the true parameters, the body pose perturbed by 0.15 rad noise."""
    calls = []
    g = torch.Generator().manual_seed(7)
    noise = 0.15 * torch.randn(synthetic.params.body_pose.shape, generator=g, dtype=torch.float64)
    p = synthetic.params
    noisy = type(p)(p.global_orient, p.body_pose + noise, p.betas, p.transl, p.valid).to(dtype=torch.float32)

    @register_regressor("truth_for_test")
    def regress(inputs: MethodInputs):
        calls.append(inputs)
        return noisy

    yield calls
    methods._REGRESSORS.pop("truth_for_test")


def test_fit_is_always_available():
    assert "fit" in available_methods()
    assert resolve_method("fit") is methods.run_fit


def test_unknown_method_lists_the_available_ones():
    with pytest.raises(InputError, match="available: fit"):
        resolve_method("nonsense")
    with pytest.raises(InputError):
        register_regressor("a+b")


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
