"""``mvmocap adapt`` under ``torchrun``: 2 gloo processes with ``batch_size`` B adapt like 1 process with 2B.

The equivalence (:mod:`mvmocap.adapt.shards`): the step's 2B frames are the ones one process draws,
each process takes B, every loss term's denominator is summed over both and the gradients are
summed, so the weights match one process with 2B to float tolerance (the summation order differs).
The refits are whole-sequence fits done on one rank and broadcast: the caches match too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mvmocap.adapt import AdaptConfig, run
from mvmocap.adapt.shards import Shards
from mvmocap.errors import InputError
from mvmocap.train.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
# One refit at step 0 and one at step 3, after the resume at step 2.
SETTINGS = dict(steps=4, lr=1e-3, refit_every=3, log_every=1, checkpoint_every=2,
                fit={"refine_start": "init", "gn_iters": 3})


def _records(out: Path, split: str) -> list[dict]:
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in lines if r["split"] == split]


@pytest.mark.slow
def test_two_gloo_processes_adapt_like_one_process_with_twice_the_batch(run_dir, checkpoint, tmp_path):
    single = tmp_path / "single"
    run([run_dir], single, AdaptConfig(checkpoint=str(checkpoint), batch_size=4, **SETTINGS), progress=False)

    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(AdaptConfig(checkpoint=str(checkpoint), batch_size=2, **SETTINGS).to_dict()))
    ddp = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(Path(__file__).with_name("ddp_worker.py")), str(config_file), str(run_dir), str(ddp), "2"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]

    a, b = load_checkpoint(ddp), load_checkpoint(single)
    assert (a["world_size"], b["world_size"]) == (2, 1) and a["step"] == b["step"] == 4
    assert len(a["torch_rng_ranks"]) == 2
    for key, value in b["model"].items():
        assert torch.allclose(a["model"][key], value, atol=2e-5, rtol=1e-4), key
    start = torch.load(checkpoint, weights_only=True)["model"]
    moved = max(float((b["model"][k] - v).abs().max()) for k, v in start.items() if k in b["model"])
    assert moved > 1e-3  # the runs did train (the comparison is not between two untouched networks)
    for name, cache in b["fit_cache"].items():
        assert torch.equal(a["fit_cache"][name]["valid"], cache["valid"])
        for field in ("global_orient", "body_pose", "betas", "transl"):
            assert torch.allclose(a["fit_cache"][name][field], cache[field], atol=1e-3), field
    # Rank 0 alone writes: one line per step / refit / evaluation, as one process; the same losses.
    for split in ("train", "refit", "eval"):
        assert [r["step"] for r in _records(ddp, split)] == [r["step"] for r in _records(single, split)], split
    for x, y in zip(_records(ddp, "train"), _records(single, "train")):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-3) and x["loss_2d"] == pytest.approx(y["loss_2d"], rel=1e-3)

    # A resume with another number of processes is refused, before any work.
    with pytest.raises(InputError, match="2 process"):
        run([run_dir], ddp, AdaptConfig(checkpoint=str(checkpoint), batch_size=2, **{**SETTINGS, "steps": 5}),
            resume=True, progress=False)


def test_a_single_process_shard_is_the_whole_batch():
    frames = torch.arange(8)
    assert torch.equal(Shards().mine(frames), frames)
    assert torch.equal(Shards(1, 2).mine(frames), torch.arange(4, 8))
    assert [Shards(0, 3).owner(i) for i in range(4)] == [0, 1, 2, 0]
    assert Shards().seed(5) == 5 and Shards(1, 2).seed(5) != 5
    values = torch.tensor([1.5, 2.0])
    assert torch.equal(Shards().total(values), values)
