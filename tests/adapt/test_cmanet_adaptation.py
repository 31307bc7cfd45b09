"""``mvmocap adapt --method cmanet``: CMANet's stage 2 (the inter-view module on frozen CRA) through the adapt
loop (mvmocap/regressors/cmanet/adaptation.py): it learns, never reads ground truth, resumes exactly, refuses
another method's checkpoint, and its checkpoint is what ``reconstruct --method cmanet`` takes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from typer.testing import CliRunner

from mvmocap.adapt import AdaptConfig, adapt, run
from mvmocap.methods import adaptation_methods
from mvmocap.train.checkpoint import load_checkpoint
from tests.adapt.test_loop import Tripwire, _records, assert_same_run
from tests.reconstruct.test_pipeline import EXAMPLE, capture  # noqa: F401  (module fixture)

pytestmark = pytest.mark.usefixtures("needs_cra")
FAST = dict(method="cmanet", batch_size=4, lr=3e-3, refit_every=3, log_every=1, checkpoint_every=2)


def test_a_tiny_cmanet_adaptation_lowers_its_loss_and_writes_a_cmanet_checkpoint(run_dir, tmp_path):
    from mvmocap.regressors.cmanet.on_cra import load_fusion

    out = tmp_path / "cmanet"
    result = run([run_dir], out, AdaptConfig(steps=8, **{**FAST, "refit_every": 100}), progress=False)
    start, end = result["eval_start"], result["eval_end"]
    assert end["loss"] < 0.9 * start["loss"], (start, end)
    assert [r["step"] for r in _records(out, "refit")] == [0] and len(_records(out, "train")) == 8
    saved = load_checkpoint(out)
    assert saved["config"]["method"] == "cmanet" and all(k.startswith("net.inter.") for k in saved["model"])
    fusion = load_fusion(out / "checkpoint.pt")  # what reconstruct --method cmanet --checkpoint reads
    for key, value in fusion.state_dict().items():
        assert torch.equal(value, saved["model"]["net." + key]), key


def test_cmanet_adaptation_never_reads_ground_truth(synthetic, body_model, tmp_path):
    _, capture_ = synthetic
    guarded = replace(capture_, inputs=replace(capture_.inputs, extras={
        **capture_.inputs.extras, "ground_truth": Tripwire(), "posed": Tripwire()}))
    plain = replace(capture_, inputs=replace(capture_.inputs, extras={"detections": capture_.inputs.extras["detections"]}))
    weights = []
    for name, c in (("guarded", guarded), ("plain", plain)):
        method, train_config, _ = adaptation_methods()["cmanet"](None, body_model)
        adapt(method, train_config, [c], tmp_path / name, AdaptConfig(steps=2, **FAST), progress=False)
        weights.append(load_checkpoint(tmp_path / name)["model"])
    moved = max(float((v - adaptation_methods()["cmanet"](None, body_model)[0].state_dict()[k]).abs().max())
                for k, v in weights[0].items())
    assert moved > 0
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key


def test_cmanet_resume_gives_the_same_result_as_an_uninterrupted_run(run_dir, tmp_path):
    config = AdaptConfig(steps=5, **FAST)  # refits at 0 and 3 (the second from the module's result)
    run([run_dir], tmp_path / "whole", config, progress=False)
    run([run_dir], tmp_path / "parts", replace(config, steps=2), progress=False)
    run([run_dir], tmp_path / "parts", config, resume=True, progress=False)
    assert_same_run(tmp_path / "whole", tmp_path / "parts")
    assert load_checkpoint(tmp_path / "whole")["step"] == 5
    assert [(r["step"], r["from_module"]) for r in _records(tmp_path / "parts", "refit")] == [(0, 0), (3, 8)]


def test_cmanet_adapt_refuses_another_methods_checkpoint(run_dir, checkpoint, tmp_path):
    from mvmocap.cli.main import app

    out = tmp_path / "refused"
    result = CliRunner().invoke(app, ["adapt", str(run_dir), "--method", "cmanet", "--checkpoint", str(checkpoint),
                                      "--out", str(out), "--steps", "1", "-q"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:") and "not cmanet" in result.output and "'volumetric'" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_cmanet_adapts_on_a_folder_without_a_fit_and_reconstruct_takes_its_checkpoint(run_dir, capture, tmp_path):  # noqa: F811
    import shutil

    import numpy as np

    from mvmocap.cli.main import app

    bare = tmp_path / "no_fit"  # cmanet reads the detections and the cameras only
    shutil.copytree(run_dir, bare)
    (bare / "smpl_params.npz").unlink()
    (bare / "joints3d.npz").unlink()
    refused = CliRunner().invoke(app, ["adapt", str(bare), "--out", str(tmp_path / "vol"), "--steps", "1", "-q"])
    assert refused.exit_code == 2 and refused.output.startswith("error:") and "smpl_params.npz" in refused.output
    assert len(refused.output.strip().splitlines()) == 1 and not (tmp_path / "vol").exists()
    out = tmp_path / "adapted"
    adapted = CliRunner().invoke(app, ["adapt", str(bare), "--method", "cmanet", "--out", str(out), "--steps", "2",
                                       "--batch-size", "4", "--refit-every", "100", "-q"])
    assert adapted.exit_code == 0, adapted.output
    assert adapted.output.startswith("adapted to step 2")
    root, _, _ = capture
    result = CliRunner().invoke(app, [
        "reconstruct", str(root / "videos"), "--keypoints", str(root / "json"), "--calibration",
        str(EXAMPLE / "calibration.yaml"), "--frames", "0:6", "--method", "cmanet", "-q", "--out", str(tmp_path / "rec"),
        "--checkpoint", str(out / "checkpoint.pt")])
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "rec" / "smpl_params.npz") as data:
        valid = data["valid"].astype(bool)
        assert valid.sum() >= 3 and np.isfinite(data["poses"][valid]).all()


def test_cmanet_drift_guard_adds_the_labelled_source_loss_and_resumes_exactly(run_dir, small_source, tmp_path):
    guarded = AdaptConfig(steps=4, synthetic_every=2, synthetic_batch=3, **FAST)
    run([run_dir], tmp_path / "plain", replace(guarded, synthetic_every=0), progress=False)
    run([run_dir], tmp_path / "whole", guarded, progress=False)
    train = _records(tmp_path / "whole", "train")
    assert ["loss_synthetic" in r for r in train] == [True, False, True, False]
    assert all(r["loss_synthetic"] > 0 for r in train[::2])
    plain, whole = load_checkpoint(tmp_path / "plain")["model"], load_checkpoint(tmp_path / "whole")["model"]
    assert any(not torch.equal(value, whole[key]) for key, value in plain.items())  # the guard's gradients count
    assert [r["loss"] for r in _records(tmp_path / "plain", "train")][0] < train[0]["loss"]

    run([run_dir], tmp_path / "parts", replace(guarded, steps=3), progress=False)  # stops after a guarded step
    run([run_dir], tmp_path / "parts", guarded, resume=True, progress=False)
    assert_same_run(tmp_path / "whole", tmp_path / "parts")
