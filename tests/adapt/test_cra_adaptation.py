"""``mvmocap adapt --method cra``: CMANet's stage 1 on CRA (mvmocap/regressors/cmanet/intra_view.py): CRA
fine-tuned per view against each view's SMPLify and its keypoints; it learns, never reads ground truth,
resumes exactly, its drift guard adds the labelled source, and its checkpoint is a cra checkpoint that
``reconstruct --method cra`` and, through ``$MVMOCAP_CRA_CHECKPOINT``, stage 2 take."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from mvmocap.adapt import AdaptConfig, adapt, run
from mvmocap.methods import adaptation_methods
from mvmocap.train.checkpoint import load_checkpoint
from tests.adapt.test_loop import Tripwire, _records, assert_same_run

pytestmark = pytest.mark.usefixtures("needs_cra")
FAST = dict(method="cra", batch_size=2, lr=1e-4, refit_every=3, log_every=1, checkpoint_every=2)


def test_a_tiny_stage_1_lowers_its_loss_and_writes_a_cra_checkpoint(run_dir, tmp_path):
    from mvmocap.regressors.cra.inference import SHIPPED, load_network

    out = tmp_path / "cra"
    result = run([run_dir], out, AdaptConfig(steps=6, **{**FAST, "refit_every": 100}), progress=False)
    start, end = result["eval_start"], result["eval_end"]
    assert end["loss"] < 0.9 * start["loss"], (start, end)
    saved = load_checkpoint(out)
    assert saved["config"]["method"] == "cra" and all(k.startswith("net.") for k in saved["model"])
    adapted, _ = load_network(out / "checkpoint.pt")  # what reconstruct --method cra --checkpoint reads
    shipped, _ = load_network(SHIPPED)
    for key, value in adapted.state_dict().items():
        assert torch.equal(value, saved["model"]["net." + key]), key
    assert any(not torch.equal(value, shipped.state_dict()[key]) for key, value in adapted.state_dict().items())
    shipped_again = torch.load(SHIPPED, weights_only=True)["weights"]  # the cached inference network is untouched
    for key, value in shipped.state_dict().items():
        assert torch.equal(value, shipped_again[key]), key


def test_stage_1_never_reads_ground_truth(synthetic, body_model, tmp_path):
    _, capture_ = synthetic
    guarded = replace(capture_, inputs=replace(capture_.inputs, extras={
        **capture_.inputs.extras, "ground_truth": Tripwire(), "posed": Tripwire()}))
    plain = replace(capture_, inputs=replace(capture_.inputs, extras={"detections": capture_.inputs.extras["detections"]}))
    weights = []
    for name, c in (("guarded", guarded), ("plain", plain)):
        method, train_config, _ = adaptation_methods()["cra"](None, body_model)
        adapt(method, train_config, [c], tmp_path / name, AdaptConfig(steps=2, **FAST), progress=False)
        weights.append(load_checkpoint(tmp_path / name)["model"])
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key


def test_stage_1_resume_with_the_drift_guard_gives_the_same_result(run_dir, small_source, tmp_path):
    config = AdaptConfig(steps=4, synthetic_every=2, synthetic_batch=2, **FAST)  # refits at 0 and 3
    run([run_dir], tmp_path / "whole", config, progress=False)
    train = _records(tmp_path / "whole", "train")
    assert ["loss_synthetic" in r for r in train] == [True, False, True, False]
    run([run_dir], tmp_path / "parts", replace(config, steps=2), progress=False)
    run([run_dir], tmp_path / "parts", config, resume=True, progress=False)
    assert_same_run(tmp_path / "whole", tmp_path / "parts")
    assert [(r["step"], r["from_module"]) for r in _records(tmp_path / "parts", "refit")] == [(0, 0), (3, 8)]


def test_stage_1_refuses_the_uncalibrated_fit_and_another_methods_checkpoint(run_dir, checkpoint, tmp_path):
    from typer.testing import CliRunner

    from mvmocap.cli.main import app

    for extra, words in ((["--fit", "uncalibrated"], "each view alone"), (["--checkpoint", str(checkpoint)], "'volumetric'")):
        out = tmp_path / "refused"
        result = CliRunner().invoke(app, ["adapt", str(run_dir), "--method", "cra", "--out", str(out), "--steps", "1",
                                          "-q", *extra])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error:") and words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and not out.exists()
