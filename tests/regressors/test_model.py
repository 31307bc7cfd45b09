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
