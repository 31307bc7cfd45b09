"""A tiny training run lowers the loss; checkpoints round-trip; train-synthetic knows the method."""

from __future__ import annotations

import pytest
import torch

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.regressors.cra import inference
from mvmocap.regressors.cra.training import CRAMethod, view_targets, world_joints
from mvmocap.train.checkpoint import save_checkpoint
from tests.regressors.cra.conftest import TINY


def test_train_synthetic_knows_cra():
    from mvmocap.train.methods import get_method

    assert get_method("cra") is CRAMethod


def test_targets_are_the_views_camera_frame(tiny_batch):
    _, batch = tiny_batch
    target = view_targets(batch, 16, 4)
    B, C = batch["R"].shape[:2]
    assert target["joints"].shape == (B * C, 17, 3) and target["vertices"].shape[0] == B * C
    assert torch.allclose(target["joints"][:, [11, 12]].mean(1), torch.zeros(B * C, 3), atol=1e-5)
    # back into the world through each camera, every view gives the same skeleton
    back = world_joints(target["joints"].reshape(B, C, 17, 3), batch["R"], torch.ones(B, C, dtype=torch.bool))
    world = batch["joints3d"] - batch["joints3d"][:, [11, 12]].mean(1, keepdim=True)
    assert torch.allclose(back, world, atol=1e-5)
    # the 2D targets are the true projections in the crop, inside [-1, 1] for a body inside its crop
    assert target["joints2d"].abs().max() < 1.0


@pytest.mark.parametrize("variant", ["cra", "j"])
def test_a_tiny_training_run_lowers_the_loss(tiny_batch, toy_body, variant):
    cfg, batch = tiny_batch
    torch.manual_seed(0)
    method = CRAMethod({**TINY, "variant": variant}, cfg, toy_body)
    opt = torch.optim.Adam(method.parameters(), lr=2e-3)
    losses = []
    for _ in range(12):
        loss, parts = method.loss(batch, method(batch))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        assert set(parts) >= {"loss_v", "loss_j2d", "loss_j3d", "loss_smpl", "mpjpe_mm"}
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3


def test_bad_options_are_one_line_errors(tiny_batch, toy_body):
    cfg, _ = tiny_batch
    with pytest.raises(InputError, match="render_size"):
        CRAMethod({**TINY, "crop": 32}, cfg, toy_body)
    with pytest.raises(InputError, match="parts must be 1"):
        CRAMethod({**TINY, "parts": 3}, cfg, toy_body)
    with pytest.raises(InputError, match="unknown CRA variant"):
        CRAMethod({**TINY, "variant": "triple"}, cfg, toy_body)
    with pytest.raises(InputError, match="crop must be"):
        CRAMethod({**TINY, "crop": 24}, cfg, toy_body)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, tiny_batch, toy_body):
    cfg, _ = tiny_batch
    torch.manual_seed(1)
    method = CRAMethod({**TINY, "parts": 1}, cfg, toy_body)
    run = tmp_path_factory.mktemp("run") / "checkpoint.pt"
    save_checkpoint(run, {"step": 1, "config": {"method": "cra", "model": {**TINY, "parts": 1}, "body_model": "toy"},
                          "model": method.state_dict(), "body_model_name": toy_body.name})
    return method, run, inference.export_checkpoint(run, run.parent / "cra.pt")


def test_checkpoint_round_trip(tiny_checkpoint, tiny_batch, toy_body):
    method, run, slim = tiny_checkpoint
    _, batch = tiny_batch
    method.eval()
    with torch.no_grad():
        expected = method(batch)["theta"]
        for path in (slim, run):  # the slim export and the run's own checkpoint
            net, meta = inference.load_network(path)
            assert net.options["parts"] == 1 and meta["body_model_name"] == toy_body.name
            from mvmocap.regressors.cra.training import synthetic_evidence

            got = net(synthetic_evidence(batch, net.options), method.decoder)["theta"]
            assert torch.allclose(got, expected, atol=1e-5)
    payload = torch.load(slim, weights_only=True)
    assert payload["format"] == "mvmocap-regressor/1" and all(v.dtype == torch.float32 for v in payload["weights"].values())


def test_bad_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(MissingFileError):
        inference.load_network(tmp_path / "absent.pt")
    other = tmp_path / "other.pt"
    torch.save({"format": "mvmocap-regressor/1", "name": "volumetric", "options": {}, "weights": {}}, other)
    with pytest.raises(FileFormatError, match="a checkpoint of method 'volumetric', not cra"):
        inference.load_network(other)
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something-else/1", "weights": {}}, foreign)
    with pytest.raises(FileFormatError, match="not a cra mvmocap-regressor/1 checkpoint"):
        inference.load_network(foreign)
    broken = tmp_path / "broken.pt"
    torch.save({"format": "mvmocap-regressor/1", "name": "cra", "options": {}, "weights": {"x": torch.zeros(1)}}, broken)
    with pytest.raises(FileFormatError, match="damaged"):
        inference.load_network(broken)


def test_reconstruct_checkpoint_check_refuses_another_methods_file_for_cra(tmp_path):
    from mvmocap.methods.checkpoints import check_checkpoint

    other = tmp_path / "volumetric.pt"
    torch.save({"format": "mvmocap-regressor/1", "name": "volumetric", "options": {}, "weights": {}}, other)
    for method in ("cra", "cra+fit"):
        with pytest.raises(FileFormatError, match="not cra"):
            check_checkpoint(method, other)
