"""DDP through torchrun: 2 CPU processes on gloo must train exactly like 1 process with twice the batch."""

import os
import subprocess
import sys

import pytest
import torch

from mvmocap.train.checkpoint import load_checkpoint


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path, tiny_config):
    ddp_out, single_out = tmp_path / "ddp", tmp_path / "single"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "mvmocap.train", "--config", str(tiny_config(steps=4, batch_size=2, val_every=0)),
           "--out", str(ddp_out), "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    single = [sys.executable, "-m", "mvmocap.train", "--config", str(tiny_config(steps=4, batch_size=4, val_every=0)),
              "--out", str(single_out), "--no-progress"]
    proc = subprocess.run(single, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = load_checkpoint(ddp_out), load_checkpoint(single_out)
    assert a["world_size"] == 2 and b["world_size"] == 1
    for key in a["model"]:
        assert torch.allclose(a["model"][key], b["model"][key], atol=1e-5), key


@pytest.mark.slow
def test_train_synthetic_command_under_torchrun(tmp_path, tiny_config):
    """`torchrun --standalone --nproc_per_node 2 mvmocap train-synthetic ...`: one 2-process run, one report line."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "mvmocap.cli.main", "train-synthetic", "--config", str(tiny_config(steps=2, batch_size=2, val_every=0)),
           "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    checkpoint = load_checkpoint(out)
    assert checkpoint["world_size"] == 2 and checkpoint["step"] == 2
    assert (proc.stdout + proc.stderr).count("trained to step 2") == 1  # only rank 0 reports
