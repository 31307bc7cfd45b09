"""DDP through torchrun: 2 CPU processes on gloo must train exactly like 1 process with twice the batch."""

import os
import subprocess
import sys

import pytest
import torch

from mvmocap.train.checkpoint import load_checkpoint


@pytest.mark.slow
def test_train_synthetic_under_torchrun_matches_one_process_with_twice_the_batch(tmp_path, tiny_config):
    """`torchrun --standalone --nproc_per_node 2 mvmocap train-synthetic ...`: one report line (rank 0's), and the
    weights of one process with the 2x batch (one launch: each costs seconds)."""
    ddp_out, single_out = tmp_path / "ddp", tmp_path / "single"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "mvmocap.cli.main", "train-synthetic", "--config", str(tiny_config(steps=4, batch_size=2, val_every=0)),
           "--out", str(ddp_out), "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (proc.stdout + proc.stderr).count("trained to step 4") == 1  # only rank 0 reports
    single = [sys.executable, "-m", "mvmocap.train", "--config", str(tiny_config(steps=4, batch_size=4, val_every=0)),
              "--out", str(single_out), "--no-progress"]
    proc = subprocess.run(single, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = load_checkpoint(ddp_out), load_checkpoint(single_out)
    assert a["world_size"] == 2 and b["world_size"] == 1 and a["step"] == b["step"] == 4
    for key in a["model"]:
        assert torch.allclose(a["model"][key], b["model"][key], atol=1e-5), key
