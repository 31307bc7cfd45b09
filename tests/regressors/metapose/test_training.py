"""``train-synthetic --method metapose``: view shuffling, the progressive schedule, a tiny run, checkpoints."""

from __future__ import annotations

import pytest
import torch
import yaml

from mvmocap.errors import FileFormatError, InputError
from mvmocap.regressors.metapose.inference import export_checkpoint, load_optimizer
from mvmocap.regressors.metapose.training import MetaPoseMethod, shuffled_views
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body

DATA = {"views": 4, "views_min": 2, "noise": {"kind": "realistic"},
        "rig_families": ["full_ring", "half_ring", "opposite_sides", "four_corners", "front_arc"]}


@pytest.fixture(scope="module")
def toy():
    return load_body("toy")


@pytest.fixture(scope="module")
def batch(toy):
    return SyntheticMultiView(toy, SynthConfig.from_dict(DATA), length=64, seed=3).batch(list(range(16)))


def test_views_are_shuffled_with_the_usable_ones_first(batch):
    views = shuffled_views(batch, torch.Generator().manual_seed(0))
    valid = views["view_valid"]
    assert valid[:, 0].all()
    assert torch.equal(valid, valid.sort(dim=1, descending=True, stable=True).values)  # usable ones first
    again = shuffled_views(batch, torch.Generator().manual_seed(0))
    assert torch.equal(views["R"], again["R"])
    moved = ~torch.isclose(views["R"], batch["R"]).all(-1).all(-1)
    assert moved.any()  # some order changed


def test_a_tiny_training_run_lowers_the_loss(toy, batch):
    torch.manual_seed(0)
    method = MetaPoseMethod({"steps": 1, "layers": [64, "CC", 64], "stage_steps": 1000}, SynthConfig.from_dict(DATA), toy)
    method.train()
    optimizer = torch.optim.Adam(method.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss, _ = method.loss(batch, method(batch))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]


def test_networks_are_trained_one_after_the_other(toy, batch):
    method = MetaPoseMethod({"steps": 2, "layers": [16, "CC", 16], "stage_steps": 2}, SynthConfig.from_dict(DATA), toy)
    method.train()
    for expected in (0, 0, 1, 1, 1):
        assert method.active_step == expected
        method.zero_grad()
        loss, parts = method.loss(batch, method(batch))
        loss.backward()
        assert parts["stage"] == expected
        grads = [any(p.grad is not None and p.grad.abs().sum() > 0 for p in step.parameters())
                 for step in method.optimizer.steps]
        assert grads == [k == expected for k in range(2)]


def test_options_are_checked(toy):
    with pytest.raises(InputError, match="unknown metapose option"):
        MetaPoseMethod({"stpes": 2}, SynthConfig.from_dict(DATA), toy)
    with pytest.raises(InputError, match="loss"):
        MetaPoseMethod({"loss": "l1"}, SynthConfig.from_dict(DATA), toy)


def test_loop_run_and_checkpoint_round_trip(tmp_path):
    from mvmocap.train import run

    config = {"method": "metapose", "seed": 0, "body_model": "toy", "steps": 4, "batch_size": 4, "log_every": 2,
              "val_every": 4, "val_size": 8, "checkpoint_every": 4, "num_workers": 0, "threads": 1, "data": DATA,
              "model": {"steps": 2, "stage_steps": 2, "layers": [16, "CC", 16]}}
    path = tmp_path / "metapose.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run(None, path, tmp_path / "run", progress=False)
    assert result["step"] == 4 and result["val"]["pa_mpjpe"] > 0
    slim = export_checkpoint(tmp_path / "run", tmp_path / "metapose.pt")
    net, meta = load_optimizer(slim)
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["model"]
    for name, value in net.state_dict().items():
        torch.testing.assert_close(value, saved[f"optimizer.{name}"].float())
    assert meta["options"]["steps"] == 2 and meta["views"] == 4
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(FileFormatError):
        load_optimizer(tmp_path / "bad.pt")


def test_heatmap_mixtures_train_with_four_components(toy):
    data = {**DATA, "heatmap_size": 16}
    cfg = SynthConfig.from_dict(data)
    batch = SyntheticMultiView(toy, cfg, length=8, seed=1).batch(list(range(2)))
    method = MetaPoseMethod({"steps": 1, "layers": [16, "CC", 16], "heatmap_components": 4}, cfg, toy)
    pred = method(batch)
    assert pred["inputs"].gmm.components == 4
    loss, _ = method.loss(batch, pred)
    assert torch.isfinite(loss)
    with pytest.raises(InputError, match="heatmap_size"):
        MetaPoseMethod({"heatmap_components": 4}, SynthConfig.from_dict(DATA), toy)


def test_every_shipped_metapose_config_builds_its_method(toy):
    from pathlib import Path

    from mvmocap.train.config import load_config

    configs = sorted((Path(__file__).resolve().parents[3] / "examples" / "configs").glob("metapose*.yaml"))
    assert len(configs) >= 5
    for path in configs:
        config = load_config(path, {})
        method = MetaPoseMethod(config.model, SynthConfig.from_dict({**config.data, **MetaPoseMethod.data_overrides}), toy)
        assert len(method.optimizer.steps) == int(config.model["steps"]), path.name


def test_views_of_another_person_are_left_out_of_the_target(toy, batch):
    method = MetaPoseMethod({"steps": 1, "layers": [16, "CC", 16]}, SynthConfig.from_dict(DATA), toy)
    moved = dict(batch)
    kp = batch["keypoints2d"].clone()
    kp[0, :, :, :2] += 5000.0  # every view of sample 0 sees someone far away
    moved["keypoints2d"] = kp
    pred = method(moved)
    inputs = pred["inputs"]
    on_target = method._on_target(pred["views"], inputs, inputs.normalise(pred["views"]["keypoints2d_gt"][..., :17, :]))
    assert not on_target[0].any() and on_target[1:][inputs.view_valid[1:]].float().mean() > 0.9
    _, parts = method.loss(moved, pred)
    assert parts["target_views"] < 1.0
