"""The loop's refit without the calibration (``--fit uncalibrated|single-view``): the world <-> per-view edges
round-trip, the refit lands near the truth on a synthetic capture, and a tiny adapt run uses it."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from mvmocap.adapt.view_fits import view_refit, view_starts
from mvmocap.cli.main import app
from mvmocap.errors import InputError
from mvmocap.evaluate.metrics import pa_mpjpe
from mvmocap.fit.uncalibrated import ViewFit, world_body
from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_angle_between


def test_per_view_starts_come_back_to_the_same_world_body(synthetic, body_model):
    _, capture = synthetic
    body = body_model.to(dtype=torch.float64)
    rig = capture.inputs.rig.to(dtype=torch.float64)
    start = capture.fit
    views = view_starts(body, rig, start)
    F, C = views.global_orient.shape[:2]
    # each view's camera-axes body is the world body moved by that camera
    posed = body(global_orient=views.global_orient, body_pose=views.body_pose, betas=views.betas,
                 transl=views.transl).coco23
    world = body(global_orient=axis_angle_to_matrix(start.global_orient.double()),
                 body_pose=axis_angle_to_matrix(start.body_pose.double()), betas=start.betas.double().expand(F, -1),
                 transl=start.transl.double()).coco23
    expected = torch.einsum("cij,fkj->fcki", rig.R, world) + rig.t[None, :, None]
    torch.testing.assert_close(posed, expected, atol=1e-9, rtol=0)
    fit = ViewFit(views.global_orient, views.body_pose[:, 0], views.betas[:, 0], views.transl,
                  torch.zeros(F, C, 23), torch.zeros(F), True)
    orient, pose, _ = world_body(fit, rig.R, torch.ones(F, C, dtype=torch.float64))
    assert float(rotation_angle_between(orient, axis_angle_to_matrix(start.global_orient.double())).max()) < 1e-6


@pytest.mark.parametrize("mode", ["uncalibrated", "single-view"])
def test_the_refit_lands_near_the_truth(synthetic, mode):
    sc, capture = synthetic
    params = view_refit(capture.inputs, capture.fit, mode)
    assert params.global_orient.shape == capture.fit.global_orient.shape and bool(params.valid.any())
    for value in (params.global_orient, params.body_pose, params.betas, params.transl):
        assert bool(torch.isfinite(value).all())
    body = capture.inputs.body_model.to(dtype=torch.float64)
    F = params.global_orient.shape[0]
    joints = body(global_orient=params.global_orient.double(), body_pose=params.body_pose.double(),
                  betas=params.betas.double().expand(F, -1), transl=params.transl.double()).coco23[:, :17]
    truth = sc.posed.coco23[:, :17].double()
    error = pa_mpjpe(joints, truth)[params.valid]
    # noisy synthetic detections, 3 views, the fit's start about 15-20 mm off: a refit within a few cm
    assert float(error.mean()) < 60.0, error
    assert float((joints - truth).norm(dim=-1).mean()) < 0.15  # placed in the world on the triangulated joints


def test_calibrated_mode_is_not_a_view_refit(synthetic):
    _, capture = synthetic
    with pytest.raises(InputError, match="uncalibrated"):
        view_refit(capture.inputs, capture.fit, "calibrated")
    with pytest.raises(InputError, match="fit mode"):
        view_refit(capture.inputs, capture.fit, "sideways")


def test_adapt_with_the_uncalibrated_refit(run_dir, checkpoint, tmp_path):
    out = tmp_path / "adapted"
    result = CliRunner().invoke(app, ["adapt", str(run_dir), "--out", str(out), "--checkpoint", str(checkpoint),
                                      "--steps", "2", "--batch-size", "4", "--refit-every", "2", "--fit", "uncalibrated",
                                      "-q"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    refits = [r for r in lines if r["split"] == "refit"]
    assert refits and all(r["cached_frames"] > 0 for r in refits)
    # the cache starts empty (not with the run's calibrated fit): every cached frame is an uncalibrated refit
    assert refits[0]["replaced_frames"] == refits[0]["cached_frames"]
    bad = CliRunner().invoke(app, ["adapt", str(run_dir), "--out", str(tmp_path / "bad"), "--fit", "sideways"])
    assert bad.exit_code == 2 and "fit mode must be one of" in bad.output and not (tmp_path / "bad").exists()
