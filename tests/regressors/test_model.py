"""The volumetric network on the toy body: shapes over batch, a tiny overfit that lowers the loss."""

from __future__ import annotations

import pytest
import torch

from mvmocap.regressors.volumetric.training import VolumetricMethod
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body

SMALL = {"grid": 8, "side": 2.2, "crop": 32, "sigma": 1.0, "features": 8, "width": 8, "hidden": 64}


@pytest.fixture(scope="module")
def setup():
    body = load_body("toy")
    cfg = SynthConfig.from_dict({"views": 3, **VolumetricMethod.data_overrides})
    data = SyntheticMultiView(body, cfg, length=8, seed=0)
    return body, cfg, data


@pytest.mark.parametrize("batch", [1, 3])
def test_shapes_over_batch(setup, batch):
    body, cfg, data = setup
    torch.manual_seed(0)
    method = VolumetricMethod(SMALL, cfg, body).eval()
    b = data.batch(list(range(batch)))
    with torch.no_grad():
        pred = method(b)
    assert pred["joints3d"].shape == (batch, 17, 3)
    assert pred["vertices"].shape == (batch, body.num_vertices, 3)
    assert pred["global_orient"].shape == (batch, 3, 3)
    assert pred["body_pose"].shape == (batch, 23, 3, 3)
    assert pred["betas"].shape == (batch, 10)
    assert pred["cams"].shape == (batch, 3, 3)
    assert torch.isfinite(pred["vertices"]).all()
    # the predicted mid-hip sits on the triangulated pelvis
    hips = pred["joints3d"][:, [11, 12]].mean(-2)
    gt_hips = b["joints3d"][:, [11, 12]].mean(-2)
    assert float((hips - gt_hips).norm(dim=-1).max()) < 0.1


@pytest.mark.parametrize("ablate", ["consensus", "diversity", "balance"])
def test_ablations_run(setup, ablate):
    body, cfg, data = setup
    torch.manual_seed(0)
    method = VolumetricMethod({**SMALL, ablate: False}, cfg, body).eval()
    with torch.no_grad():
        pred = method(data.batch([0, 1]))
    assert pred["joints3d"].shape == (2, 17, 3) and torch.isfinite(pred["joints3d"]).all()


@pytest.mark.parametrize("ablate", [None])
def test_tiny_overfit_lowers_the_loss(setup, ablate):
    body, cfg, data = setup
    torch.manual_seed(0)
    options = {**SMALL, "augment": {"mask_dropout": 0.0, "mask_morph": 0.0, "mask_erase": 0.0, "pelvis_jitter": 0.0}}
    if ablate:
        options[ablate] = False
    method = VolumetricMethod(options, cfg, body).train()
    opt = torch.optim.Adam(method.parameters(), lr=2e-3)
    b = data.batch([0, 1])
    losses = []
    for _ in range(8):
        pred = method(b)
        loss, parts = method.loss(b, pred)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.7 * losses[0], losses


def test_skeleton_feedback_shapes_and_overfit(setup):
    body, cfg, data = setup
    torch.manual_seed(0)
    options = {**SMALL, "joint_feedback": True,
               "augment": {"mask_dropout": 0.0, "mask_morph": 0.0, "mask_erase": 0.0, "pelvis_jitter": 0.0}}
    method = VolumetricMethod(options, cfg, body).train()
    b = data.batch([0, 1])
    pred = method(b)
    assert len(pred["iterations"]) == 3 and pred["joints3d"].shape == (2, 17, 3)
    opt = torch.optim.Adam(method.parameters(), lr=2e-3)
    losses = []
    for _ in range(8):
        loss, _ = method.loss(b, method(b))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses


def test_skeleton_feedback_sees_the_triangulated_joints(setup):
    """Moving one triangulated joint changes the feedback network's output, not the plain one's."""
    from mvmocap.regressors.volumetric.training import synthetic_views

    body, cfg, data = setup
    b = data.batch([0])
    outputs = {}
    for feedback in (False, True):
        torch.manual_seed(0)
        method = VolumetricMethod({**SMALL, "joint_feedback": feedback}, cfg, body).eval()
        with torch.no_grad():
            for layer in (method.net.regressor.mlp[0], method.net.rotation.mlp[0]):
                layer.weight.normal_(0, 0.05)
            views = synthetic_views(b, body, method.net.options)
            moved = views.rows(slice(None))
            moved.joints3d = views.joints3d.clone()
            moved.joints3d[:, 9] += 0.3  # a wrist 30 cm away
            a = method.predict(views)["joints3d"]
            c = method.predict(moved)["joints3d"]
        outputs[feedback] = float((a - c).abs().max())
    assert outputs[False] == 0.0 and outputs[True] > 1e-4


def test_warm_start_keeps_the_old_network(setup, tmp_path):
    """A feedback network warm-started from a plain one predicts exactly what the plain one does."""
    from mvmocap.regressors.volumetric import inference
    from mvmocap.regressors.volumetric.training import warm_start
    from mvmocap.train.checkpoint import save_checkpoint

    body, cfg, data = setup
    torch.manual_seed(0)
    plain = VolumetricMethod(SMALL, cfg, body).eval()
    run = tmp_path / "checkpoint.pt"
    save_checkpoint(run, {"step": 1, "config": {"method": "volumetric", "model": SMALL}, "model": plain.state_dict()})
    torch.manual_seed(1)
    grown = VolumetricMethod({**SMALL, "joint_feedback": True}, cfg, body).eval()
    widened = warm_start(grown.net, str(run))
    assert sorted(widened) == ["regressor.mlp.0.weight", "rotation.mlp.0.weight"]
    b = data.batch([0, 1])
    with torch.no_grad():
        assert torch.allclose(grown(b)["joints3d"], plain(b)["joints3d"], atol=1e-5)
    inference._CACHE.clear()


def test_view_batch_rows_selects_every_field(setup):
    from mvmocap.regressors.volumetric.training import synthetic_views

    body, cfg, data = setup
    views = synthetic_views(data.batch([0, 1, 2]), body, {**SMALL})
    part = views.rows(torch.tensor([2, 0]))
    for name in ("heatmaps", "mask", "projection", "pelvis", "valid", "joints3d", "joints_seen"):
        assert torch.equal(getattr(part, name), getattr(views, name)[[2, 0]]), name


def test_missing_views_are_skipped_exactly(setup):
    """Encoding only the valid views gives what encoding all of them and zeroing the missing ones gives."""
    body, cfg, data = setup
    torch.manual_seed(1)
    method = VolumetricMethod(SMALL, cfg, body).eval()
    from mvmocap.regressors.volumetric.training import synthetic_views

    views = synthetic_views(data.batch([0, 1]), body, method.net.options)
    views.valid = torch.tensor([[True, False, True], [False, True, True]])
    with torch.no_grad():
        skipped = method.net.encode(views)
        every = method.net.encoder(torch.cat([views.heatmaps, views.mask.unsqueeze(2)], 2).flatten(0, 1))
    every = every.reshape(skipped.shape) * views.valid[..., None, None, None]
    assert torch.allclose(skipped, every, atol=1e-6)
    assert torch.all(skipped[~views.valid] == 0)
