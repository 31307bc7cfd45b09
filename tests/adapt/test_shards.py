"""``mvmocap adapt`` under ``torchrun``: 2 gloo processes with ``batch_size`` B adapt like 1 process with 2B.

The equivalence (:mod:`mvmocap.adapt.shards`): the step's 2B frames are the ones one process draws,
each process takes B, every loss term's denominator is summed over both and the gradients are
summed, so the weights match one process with 2B to float tolerance (the summation order differs).
The refits are whole-sequence fits done on one rank and broadcast: the caches match too. The same
holds for ``--method cmanet`` (CMANet's stage 2: its targets solved on one rank and broadcast), run in
the same ``torchrun`` launch (one launch for both: each costs seconds).
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
# CMANet's stage 2 in the same process group: 3 steps, the targets solved once (on rank 0, broadcast; a
# re-solve from the module costs ~2 s per process: tests/adapt/test_cmanet_adaptation.py's resume test has one).
CMANET = dict(method="cmanet", steps=3, lr=3e-3, refit_every=3, log_every=1, checkpoint_every=0)


def _records(out: Path, split: str) -> list[dict]:
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in lines if r["split"] == split]


def _has_cra() -> bool:
    from mvmocap.regressors.cra.inference import checkpoint_file

    return checkpoint_file(None).is_file()


@pytest.fixture(scope="module")
def ddp(run_dir, checkpoint, tmp_path_factory) -> dict[str, Path | None]:
    """One ``torchrun`` launch of 2 processes (each launch costs seconds): the volumetric run (batch 2 each,
    interrupted after step 2 and resumed to 4) and, when the shipped CRA is there, a cmanet run (batch 2 each)."""
    tmp = tmp_path_factory.mktemp("ddp")
    config_file = tmp / "config.json"
    config_file.write_text(json.dumps(AdaptConfig(checkpoint=str(checkpoint), batch_size=2, **SETTINGS).to_dict()))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(Path(__file__).with_name("ddp_worker.py")), str(config_file), str(run_dir), str(tmp / "volumetric"), "2"]
    if _has_cra():
        cmanet_file = tmp / "cmanet.json"
        cmanet_file.write_text(json.dumps(AdaptConfig(batch_size=2, **CMANET).to_dict()))
        cmd += [str(cmanet_file), str(tmp / "cmanet")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"volumetric": tmp / "volumetric", "cmanet": tmp / "cmanet" if _has_cra() else None}


def _same_lines(a: Path, b: Path, terms: tuple[str, ...]) -> None:
    """Rank 0 alone writes: one line per step / refit / evaluation, as one process; the same losses."""
    for split in ("train", "refit", "eval"):
        assert [r["step"] for r in _records(a, split)] == [r["step"] for r in _records(b, split)], split
    for x, y in zip(_records(a, "train"), _records(b, "train")):
        for term in terms:
            assert x[term] == pytest.approx(y[term], rel=1e-3), term


@pytest.mark.slow
def test_two_gloo_processes_adapt_like_one_process_with_twice_the_batch(ddp, run_dir, checkpoint, tmp_path):
    single = tmp_path / "single"
    run([run_dir], single, AdaptConfig(checkpoint=str(checkpoint), batch_size=4, **SETTINGS), progress=False)

    a, b = load_checkpoint(ddp["volumetric"]), load_checkpoint(single)
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
    _same_lines(ddp["volumetric"], single, ("loss", "loss_2d"))

    # A resume with another number of processes is refused, before any work.
    with pytest.raises(InputError, match="2 process"):
        run([run_dir], ddp["volumetric"], AdaptConfig(checkpoint=str(checkpoint), batch_size=2, **{**SETTINGS, "steps": 5}),
            resume=True, progress=False)


@pytest.mark.slow
def test_two_gloo_processes_train_cmanet_like_one_process_with_twice_the_batch(ddp, run_dir, body_model, tmp_path):
    if ddp["cmanet"] is None:
        pytest.skip("no shipped CRA checkpoint (cmanet's stage 1)")
    from mvmocap.methods import adaptation_methods

    single = tmp_path / "single"
    run([run_dir], single, AdaptConfig(batch_size=4, **CMANET), progress=False)
    a, b = load_checkpoint(ddp["cmanet"]), load_checkpoint(single)
    assert (a["world_size"], b["world_size"]) == (2, 1) and a["step"] == b["step"] == 3
    start = adaptation_methods()["cmanet"](None, body_model)[0].state_dict()
    moved = max(float((v - start[k]).abs().max()) for k, v in b["model"].items())
    assert moved > 1e-3  # the module did train
    for key, value in b["model"].items():
        assert torch.allclose(a["model"][key], value, atol=2e-5, rtol=1e-4), key
    for name, targets in b["fit_cache"].items():  # the targets rank 1 received
        assert torch.equal(a["fit_cache"][name]["solved"], targets["solved"])
        for field in ("orient", "pose", "betas"):
            assert torch.allclose(a["fit_cache"][name][field], targets[field], atol=1e-4), field
    _same_lines(ddp["cmanet"], single, ("loss", "loss_2d", "loss_smpl"))


def test_a_single_process_shard_is_the_whole_batch():
    frames = torch.arange(8)
    assert torch.equal(Shards().mine(frames), frames)
    assert torch.equal(Shards(1, 2).mine(frames), torch.arange(4, 8))
    assert [Shards(0, 3).owner(i) for i in range(4)] == [0, 1, 2, 0]
    assert Shards().seed(5) == 5 and Shards(1, 2).seed(5) != 5
    values = torch.tensor([1.5, 2.0])
    assert torch.equal(Shards().total(values), values)
