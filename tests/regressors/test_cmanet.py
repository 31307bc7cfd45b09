"""CMANet (library module): the canonical space, any number of views, missing views, and the two training stages."""

from __future__ import annotations

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit.uncalibrated import ViewFitConfig
from mvmocap.regressors.cmanet.inputs import crop_keypoints, network_input
from mvmocap.regressors.cmanet.model import BODY, PARAMS, CMANet, decode, mean_params, screen
from mvmocap.regressors.cmanet.training import STAGES, TrainConfig, stage_losses, train
from mvmocap.synth.dataset import load_body
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.sequence import SequenceConfig, synthetic_capture

SMALL = {"hidden": 32, "model": 16, "heads": 2}
FAST = TrainConfig(lr=1e-3, smplify=ViewFitConfig(sigma_px=10.0, iterations=10))


@pytest.fixture(scope="module")
def body():
    return load_body(None)


@pytest.fixture(scope="module")
def detections(body):
    """``(F, C, 23, 3)`` noisy synthetic detections of 3 cameras, 6 frames (no ground truth kept)."""
    sc = synthetic_capture(body, SequenceConfig(cameras=3, condition="noisy", motion=MotionConfig(frames=6)), seed=4, index=0)
    return torch.from_numpy(sc.detections.keypoints).float().transpose(0, 1).contiguous()


def _model(seed: int = 0) -> CMANet:
    torch.manual_seed(seed)
    return CMANet(SMALL)


@pytest.mark.parametrize("views", [1, 2, 5])
def test_any_number_of_views_gives_one_body_and_a_camera_per_view(body, detections, views):
    kp = detections[:, [c % 3 for c in range(views)]]
    uv, conf, _ = crop_keypoints(kp)
    out = _model()(network_input(uv, conf), uv, conf, body)
    canonical = out["canonical"]
    assert canonical.view.shape == (6, views, 9) and canonical.body.shape == (6, BODY)
    assert out["intra"][-1].shape == (6, views, PARAMS) and bool(torch.isfinite(canonical.body).all())


def test_a_missing_view_changes_nothing(body, detections):
    model = _model()
    kp = detections.clone()
    kp[:, 2, :, 2] = 0.0  # camera 2 sees nobody
    uv, conf, _ = crop_keypoints(kp)
    x = network_input(uv, conf)
    garbage = x.clone()
    garbage[:, 2] = torch.randn(garbage[:, 2].shape, generator=torch.Generator().manual_seed(0))
    a = model(x, uv, conf, body)["canonical"]
    b = model(garbage, uv, conf, body)["canonical"]
    torch.testing.assert_close(a.body, b.body)
    torch.testing.assert_close(a.view[:, :2], b.view[:, :2])
    nobody = torch.zeros_like(kp)  # a frame-set seen by no camera: finite, no NaN from the attention mask
    uv0, conf0, _ = crop_keypoints(nobody)
    assert bool(torch.isfinite(model(network_input(uv0, conf0), uv0, conf0, body)["canonical"].body).all())


def test_screening_picks_the_view_that_reprojects_best(body):
    truth = mean_params().expand(2, 3, PARAMS).clone()
    truth[..., 6 * 18:6 * 18 + 3] += torch.tensor([0.3, 0.2, 0.0])  # an elbow bent
    observed = decode(truth, body)["uv"]
    guesses = mean_params().expand(2, 3, PARAMS).clone()
    guesses[:, 1] = truth[:, 1]  # view 1 of each frame-set guessed right
    picked = screen(guesses, body, observed, torch.ones(2, 3, 17))
    assert picked.tolist() == [1, 1]


def test_stage_1_lowers_its_loss_and_stage_2_leaves_the_intra_view_module_alone(body, detections):
    model = _model()
    before = stage_losses(model, detections, "intra", body, FAST)[1]
    records = train(model, [detections], "intra", 25, body, FAST)
    # the 2D term falls fast; the SMPLify term is against a target that moves with the estimate
    assert records[-1]["intra_2d"] < 0.6 * before["intra_2d"], (before, records[-1])
    assert records[-1]["loss"] < before["loss"], (before, records[-1])
    intra = {k: v.clone() for k, v in model.intra.state_dict().items()}
    inter = {k: v.clone() for k, v in model.inter.state_dict().items()}
    start = stage_losses(model, detections, "inter", body, FAST)[1]["loss"]
    records = train(model, [detections], "inter", 15, body, FAST)
    for k, v in model.intra.state_dict().items():
        assert torch.equal(v, intra[k]), k
    assert any(not torch.equal(v, inter[k]) for k, v in model.inter.state_dict().items())
    assert records[-1]["loss"] < start, (start, records[-1])


def test_joint_and_inter_view_only_train_and_unknown_stages_are_refused(body, detections):
    for stage in ("joint", "inter-only"):
        records = train(_model(), [detections], stage, 2, body, FAST)
        assert all(torch.isfinite(torch.tensor(r["loss"])) for r in records)
        assert ("intra_2d" in records[0]) == (stage == "joint")
    assert set(STAGES) == {"intra", "inter", "joint", "inter-only"}
    with pytest.raises(InputError, match="stage"):
        stage_losses(_model(), detections, "both", body, FAST)
