"""Checkpoints are read with torch.load(weights_only=True): ours load, a pickled payload does not run."""

from __future__ import annotations

import pytest
import torch

from mvmocap.errors import FileFormatError
from mvmocap.regressors.volumetric.inference import SHIPPED, load_network
from mvmocap.train.checkpoint import load_checkpoint, save_checkpoint
from tests.robustness import hostile


def test_our_checkpoint_round_trips(tmp_path):
    state = {"step": 3, "config": {"method": "mlp", "lr": 1e-3, "data": {"views": 4}}, "model": {"w": torch.ones(2)},
             "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}, "torch_rng": torch.get_rng_state()}
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    loaded = load_checkpoint(tmp_path)
    assert loaded["step"] == 3 and loaded["config"] == state["config"]
    assert torch.equal(loaded["model"]["w"], torch.ones(2)) and torch.equal(loaded["torch_rng"], state["torch_rng"])


def test_the_shipped_volumetric_checkpoint_loads_safely():
    net, meta = load_network(SHIPPED)
    assert meta["format"] and sum(p.numel() for p in net.parameters()) > 0


def test_a_pickled_payload_is_refused_and_does_not_run(tmp_path):
    path = hostile.torch_payload(tmp_path)
    with pytest.raises(FileFormatError, match="evil.pt: refused training checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileFormatError, match="evil.pt: refused volumetric regressor checkpoint"):
        load_network(path)
    assert not (tmp_path / hostile.MARKER).exists()


def test_damaged_checkpoints_give_one_line(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileFormatError, match="junk.pt: not a readable training checkpoint") as info:
        load_checkpoint(tmp_path / "junk.pt")
    assert "\n" not in str(info.value)
    torch.save({"format": "mvmocap-train-checkpoint/1", "config": [1], "model": {}, "step": 0}, tmp_path / "odd.pt")
    with pytest.raises(FileFormatError, match="'config' is missing or not a dict"):
        load_checkpoint(tmp_path / "odd.pt")
