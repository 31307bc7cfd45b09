"""The collaborative loop on a tiny synthetic capture: it learns, it never reads ground truth, it resumes exactly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from mvmocap.adapt import AdaptConfig, adapt, run
from mvmocap.adapt.captures import Capture
from mvmocap.methods import adaptation_methods
from mvmocap.train.checkpoint import load_checkpoint

FAST = dict(batch_size=4, lr=1e-3, refit_every=3, log_every=1, checkpoint_every=2, fit={"refine_start": "init", "gn_iters": 3})


def _records(out, split):
    return [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["split"] == split]


def assert_same_run(whole, parts) -> None:
    """An uninterrupted adapt run ``whole`` and an interrupted-then-resumed one ``parts`` (folders)
    ended with the same step, weights, fit caches and training loss lines."""
    a, b = load_checkpoint(whole), load_checkpoint(parts)
    assert a["step"] == b["step"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    for name, cache in a["fit_cache"].items():
        for field, value in cache.items():
            assert torch.equal(value, b["fit_cache"][name][field]), field
    assert [r["loss"] for r in _records(whole, "train")] == [r["loss"] for r in _records(parts, "train")]


def test_a_tiny_adaptation_lowers_the_self_supervised_loss(run_dir, checkpoint, tmp_path):
    out = tmp_path / "adapted"
    result = run([run_dir], out, AdaptConfig(checkpoint=str(checkpoint), steps=6, **FAST), progress=False)
    start, end = result["eval_start"], result["eval_end"]
    assert end["loss"] < 0.9 * start["loss"], (start, end)
    assert end["regressor_px"] < start["regressor_px"]
    refits = _records(out, "refit")
    assert [r["step"] for r in refits] == [0, 3] and all(r["cached_frames"] > 0 for r in refits)
    assert len(_records(out, "train")) == 6
    # The result is a train-synthetic checkpoint the volumetric method loads.
    from mvmocap.regressors.volumetric.inference import load_network

    net, meta = load_network(out / "checkpoint.pt")
    saved = load_checkpoint(out)
    assert saved["step"] == 6 and saved["config"]["method"] == "volumetric"
    assert torch.equal(net.state_dict()["encoder.net.0.0.weight"], saved["model"]["net.encoder.net.0.0.weight"])


class Tripwire:
    """Ground truth handed along with a capture: any read fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the adapt loop read ground truth ({name})")

    def __getitem__(self, key):
        raise AssertionError(f"the adapt loop read ground truth ({key})")


def _adapt_in_memory(capture: Capture, checkpoint, body, out):
    method, train_config, _ = adaptation_methods()["volumetric"](checkpoint, body)
    adapt(method, train_config, [capture], out, AdaptConfig(steps=3, **FAST), progress=False)
    return load_checkpoint(out)


def test_ground_truth_is_never_read(synthetic, checkpoint, body_model, tmp_path):
    sc, capture = synthetic
    # What a capture holds: 2D evidence, cameras, triangulation, a fit; no field for ground truth.
    assert set(Capture.__dataclass_fields__) == {"name", "inputs", "fit"}
    guarded = replace(capture, inputs=replace(capture.inputs, extras={**capture.inputs.extras, "ground_truth": Tripwire(),
                                                                       "posed": Tripwire()}))
    plain = replace(capture, inputs=replace(capture.inputs, extras={"detections": capture.inputs.extras["detections"]}))
    a = _adapt_in_memory(guarded, checkpoint, body_model, tmp_path / "guarded")
    b = _adapt_in_memory(plain, checkpoint, body_model, tmp_path / "plain")
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key


def test_resume_gives_the_same_result_as_an_uninterrupted_run(run_dir, checkpoint, tmp_path):
    config = AdaptConfig(checkpoint=str(checkpoint), steps=5, **FAST)
    whole = tmp_path / "whole"
    run([run_dir], whole, config, progress=False)
    parts = tmp_path / "parts"
    run([run_dir], parts, replace(config, steps=2), progress=False)  # "interrupted" after step 2
    run([run_dir], parts, config, resume=True, progress=False)
    assert_same_run(whole, parts)
    assert load_checkpoint(whole)["step"] == 5
    assert [r["step"] for r in _records(parts, "refit")] == [0, 3]


def test_resume_refuses_changed_settings(run_dir, checkpoint, tmp_path):
    from mvmocap.errors import InputError

    config = AdaptConfig(checkpoint=str(checkpoint), steps=1, **FAST)
    run([run_dir], tmp_path / "r", config, progress=False)
    with pytest.raises(InputError, match="lr"):
        run([run_dir], tmp_path / "r", replace(config, steps=2, lr=1e-2), resume=True, progress=False)
    with pytest.raises(InputError, match="--resume"):
        run([run_dir], tmp_path / "r", config, progress=False)


def test_the_drift_guard_mixes_in_labelled_synthetic_batches(run_dir, checkpoint, tmp_path):
    out = tmp_path / "guarded"
    run([run_dir], out, AdaptConfig(checkpoint=str(checkpoint), steps=2, synthetic_every=2, synthetic_batch=2,
                                    **{**FAST, "batch_size": 2}), progress=False)
    train = _records(out, "train")
    assert "loss_synthetic" in train[0] and "loss_synthetic" not in train[1]
    assert train[0]["loss_synthetic"] > 0
