"""Multi-view SMPLify on a synthetic sequence with known parameters (tiny body, 4 cameras)."""

import dataclasses
import re

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit import FitConfig, fit_sequence
from mvmocap.fit.smplify import FitResult

FAST = FitConfig(iters_shape=40, iters_global=10, iters_pose=40)


@pytest.fixture(scope="module")
def default_fit(synthetic) -> FitResult:
    return fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, progress=False)


def test_fit_recovers_the_true_keypoints(synthetic, default_fit):
    # 1 px noise, 10 % of the detections missing: the model's keypoints within 1 cm on average.
    error = (default_fit.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
    assert float(error.mean()) < 0.01
    assert float(error.max()) < 0.04
    assert default_fit.median_reprojection_px() < 2.0
    assert bool(default_fit.params.valid.all())


def test_result_shapes_and_records(synthetic, default_fit):
    F, C = synthetic.keypoints_2d.shape[:2]
    p = default_fit.params
    assert p.global_orient.shape == (F, 3) and p.body_pose.shape == (F, 23, 3)
    assert p.betas.shape == (10,) and p.transl.shape == (F, 3)
    assert p.to_smpl_poses().shape == (F, 72)
    assert default_fit.keypoints3d.shape == (F, 23, 3)
    assert default_fit.reprojection_px.shape == (F, C, 23)
    assert torch.equal(default_fit.observed, synthetic.keypoints_2d[..., 2] > 0)
    assert {"initialise", "shape", "pose", "total"} <= set(default_fit.timings)
    vertices = synthetic.model(betas=default_fit.params.betas.double()).vertices
    assert default_fit.height_m == pytest.approx(float(vertices[:, 1].max() - vertices[:, 1].min()), rel=1e-5)
    stages = [h["stage"] for h in default_fit.history]
    assert stages[0] == "shape/global" and stages[-1].endswith("/all2")
    # the optimisation lowers the energy it starts from
    assert default_fit.history[1]["loss"] < default_fit.history[0]["loss"]


def test_chunking_gives_the_same_answer(synthetic):
    one = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=FAST, progress=False)
    chunked_cfg = dataclasses.replace(FAST, chunk_size=9)
    chunked = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=chunked_cfg, progress=False)
    assert sum(h["stage"].startswith("pose[") for h in chunked.history) == 3 * 3  # 24 frames / 9 -> 3 chunks
    difference = (one.keypoints3d - chunked.keypoints3d).norm(dim=-1)
    assert float(difference.mean()) < 0.005
    torch.testing.assert_close(one.params.betas, chunked.params.betas)


def test_frames_with_nobody_are_invalid_and_interpolated(synthetic):
    kp = synthetic.keypoints_2d.clone()
    empty = [0, 10, 11]
    kp[empty, :, :, 2] = 0.0
    kp[empty, :, :, :2] = 0.0
    result = fit_sequence(kp, synthetic.rig, synthetic.model, config=FAST, progress=False)
    p = result.params
    expected = torch.ones(kp.shape[0], dtype=torch.bool)
    expected[empty] = False
    assert torch.equal(p.valid, expected)
    for t in (p.global_orient, p.body_pose, p.transl, result.keypoints3d, result.reprojection_px):
        assert torch.isfinite(t).all()
    torch.testing.assert_close(p.transl[0], p.transl[1])  # held before the first valid frame
    torch.testing.assert_close(p.transl[10], p.transl[9] + (p.transl[12] - p.transl[9]) / 3)
    # the interpolated frames stay close to the truth of a slow motion
    error = (result.keypoints3d[10] - synthetic.keypoints3d[10].float()).norm(dim=-1)
    assert float(error.mean()) < 0.05


def test_no_person_at_all_is_an_input_error(synthetic):
    kp = torch.zeros_like(synthetic.keypoints_2d)
    with pytest.raises(InputError, match="nobody"):
        fit_sequence(kp, synthetic.rig, synthetic.model, progress=False)


def test_given_joints3d_and_init(synthetic, default_fit):
    # perfect 3D joints and a start at the answer: the fit stays there
    cfg = dataclasses.replace(FAST, iters_shape=20, iters_pose=20)
    result = fit_sequence(
        synthetic.keypoints_2d,
        synthetic.rig,
        synthetic.model,
        joints3d=synthetic.keypoints3d,
        joints3d_confidence=torch.ones(synthetic.keypoints3d.shape[:2], dtype=torch.float64),
        config=cfg,
        init=synthetic.params,
        progress=False,
    )
    error = (result.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
    assert float(error.mean()) < 0.005


@pytest.mark.parametrize(
    "bad",
    [
        lambda kp: kp[:, :3],  # camera count differs from the rig
        lambda kp: kp[..., :17, :],  # not COCO-23
        lambda kp: torch.where(torch.ones_like(kp, dtype=torch.bool), float("nan"), kp),
        lambda kp: kp[:0],
    ],
)
def test_bad_keypoints_are_input_errors(synthetic, bad):
    with pytest.raises(InputError):
        fit_sequence(bad(synthetic.keypoints_2d), synthetic.rig, synthetic.model, progress=False)


def test_fit_config_validation():
    with pytest.raises(InputError):
        FitConfig(chunk_size=0)
    with pytest.raises(InputError):
        FitConfig(optimizer="sgd")
    with pytest.raises(InputError, match="unknown fit option"):
        FitConfig.from_dict({"weight_2d": 1.0, "wieght_3d": 2.0})
    cfg = FitConfig.from_dict({"weight_2d": 2.0})
    assert cfg.weight_2d == 2.0 and FitConfig.from_dict(cfg.to_dict()) == cfg


def test_previous_chunk_warm_start_runs(synthetic):
    cfg = dataclasses.replace(FAST, chunk_size=12, warm_start="previous_chunk", iters_shape=30, iters_pose=40)
    result = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg, progress=False)
    error = (result.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
    assert float(error.mean()) < 0.03


def test_adam_optimiser_lowers_the_energy(synthetic):
    cfg = FitConfig(optimizer="adam", adam_lr=0.02, iters_shape=30, iters_global=10, iters_pose=30, shape_frames=6)
    result = fit_sequence(synthetic.keypoints_2d[:8], synthetic.rig, synthetic.model, config=cfg, progress=False)
    first, last = result.history[0], result.history[-1]
    assert last["2d"] < first["2d"]
    assert torch.isfinite(result.keypoints3d).all()


def test_single_frame(synthetic):
    result = fit_sequence(synthetic.keypoints_2d[5:6], synthetic.rig, synthetic.model, config=FAST, progress=False)
    assert not any(h["stage"].startswith("pose[") for h in result.history)
    error = (result.keypoints3d[0] - synthetic.keypoints3d[5].float()).norm(dim=-1)
    assert float(error.mean()) < 0.02


def test_a_fit_from_init_uses_the_refinement_schedule(synthetic):
    cfg = dataclasses.replace(FAST, sigma_schedule=(4.0, 1.0), refine_sigma_schedule=(1.0,), refine_iters_global=3,
                              refine_iters_shape=7, refine_iters_pose=9, optimizer="lbfgs", refine_optimizer=None)
    kwargs = dict(config=cfg, progress=False)
    fresh = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, **kwargs)
    refined = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, init=synthetic.params, **kwargs)
    # "pose[0:24]/all" -> "pose/all": one entry per chunk
    stages = lambda result: {(re.sub(r"\[.*?\]", "", h["stage"]), h["iterations"], h["sigma_scale"])  # noqa: E731
                             for h in result.history}
    assert {("shape/all2", 20, 1.0), ("shape/global", 10, 4.0), ("pose/all1", 20, 4.0)} <= stages(fresh)
    assert stages(refined) >= {("shape/global", 3, 1.0), ("shape/all", 7, 1.0), ("pose/all", 9, 1.0)}
    assert not any(stage.endswith("all2") for stage, _, _ in stages(refined))
    # None keeps the fresh fit's setting
    kept = dataclasses.replace(cfg, refine_iters_pose=None, refine_sigma_schedule=None).for_refinement()
    assert kept.iters_pose == FAST.iters_pose and kept.sigma_schedule == (4.0, 1.0) and kept.iters_shape == 7
    with pytest.raises(InputError, match="refine_sigma_schedule"):
        FitConfig(refine_sigma_schedule=())


def test_gauss_newton_stages_and_refinement_optimizer(synthetic, monkeypatch):
    """Gauss-Newton fits every stage (the key frames with the shared betas too) without a torch
    optimiser, at most gn_iters steps a pass, and recovers the sequence like L-BFGS does;
    refine_optimizer picks the refinement's."""
    def no_optimiser(*args, **kwargs):
        raise AssertionError("a torch optimiser was built (importing torch._dynamo costs 0.7 s)")

    monkeypatch.setattr(torch.optim, "LBFGS", no_optimiser)
    monkeypatch.setattr(torch.optim, "Adam", no_optimiser)
    cfg = dataclasses.replace(FAST, optimizer="gauss-newton", gn_iters=6, refine_optimizer="lbfgs")
    result = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg, progress=False)
    stages = [h["stage"].split("/") for h in result.history]
    assert [s[1] for s in stages if s[0] == "shape"] == ["global", "all1", "all2"]
    assert [s[1] for s in stages if s[0].startswith("pose[")] == ["global", "all1", "all2"]
    assert all(1 <= h["iterations"] <= 6 for h in result.history)
    shape = [h for h in result.history if h["stage"].startswith("shape/")]
    assert shape[-1]["loss"] < shape[0]["loss"] and shape[-1]["shape"] > 0  # the betas moved off zero
    error = (result.keypoints3d - synthetic.keypoints3d.float()).norm(dim=-1)
    assert float(error.mean()) < 0.01 and float(error.max()) < 0.04
    assert cfg.for_refinement().optimizer == "lbfgs"
    assert dataclasses.replace(cfg, refine_optimizer=None).for_refinement().optimizer == "gauss-newton"
    with pytest.raises(InputError, match="refine_optimizer"):
        FitConfig(refine_optimizer="newton")
    with pytest.raises(InputError, match="optimizer"):
        FitConfig(optimizer="sgd")


def test_fit_runs_under_no_grad(synthetic):
    """Evaluation code calls methods under torch.no_grad(); every optimiser turns gradients back on."""
    for optimizer in ("gauss-newton", "lbfgs"):
        with torch.no_grad():
            result = fit_sequence(synthetic.keypoints_2d[:6], synthetic.rig, synthetic.model, progress=False,
                                  config=dataclasses.replace(FAST, optimizer=optimizer, shape_frames=3))
        error = (result.keypoints3d - synthetic.keypoints3d[:6].float()).norm(dim=-1)
        assert float(error.mean()) < 0.02, optimizer


def test_gauss_newton_lowers_the_energy_more_than_lbfgs_in_as_many_steps(synthetic):
    """From the same start and with the same few steps, Levenberg-Marquardt ends lower than L-BFGS."""
    start = _scrambled_init(synthetic, list(range(0, 24, 3)))
    losses = {}
    for optimizer in ("gauss-newton", "lbfgs"):
        cfg = dataclasses.replace(FAST, optimizer=optimizer, refine_optimizer=None, gn_iters=5, refine_iters_pose=5,
                                  refine_iters_global=0, refine_iters_shape=0, refine_start="init",
                                  refine_sigma_schedule=(1.0,), gn_tolerance=0.0)
        result = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg, init=start,
                              progress=False)
        losses[optimizer] = result.history[-1]["loss"]
    assert losses["gauss-newton"] < 0.75 * losses["lbfgs"]  # measured: 0.61


def _scrambled_init(synthetic, frames):
    """The true parameters with the body pose of ``frames`` replaced by a far-off random pose."""
    g = torch.Generator().manual_seed(11)
    p = synthetic.params
    pose = p.body_pose.clone()
    pose[frames] = 0.8 * torch.randn(len(frames), 23, 3, generator=g, dtype=pose.dtype)
    return dataclasses.replace(p, body_pose=pose)


def test_lower_energy_picks_the_better_start_frame_by_frame(synthetic):
    from mvmocap.fit.model import KeypointModel
    from mvmocap.fit.energy import FitData, lower_energy

    truth = synthetic.params
    odd, even = list(range(1, 24, 2)), list(range(0, 24, 2))
    a, b = _scrambled_init(synthetic, odd), _scrambled_init(synthetic, even)  # each true on half the frames
    model = KeypointModel(synthetic.model, dtype=torch.float64)
    kp = synthetic.keypoints_2d
    data = FitData(kp[..., :2], kp[..., 2], synthetic.keypoints3d, torch.ones(kp.shape[0], kp.shape[2], dtype=kp.dtype),
                 consecutive=False)
    chosen = lower_energy(model, synthetic.rig, FitConfig(), data, a, b, truth.betas)
    assert torch.equal(chosen.body_pose, truth.body_pose)
    assert torch.equal(chosen.global_orient, truth.global_orient) and torch.equal(chosen.transl, truth.transl)


@pytest.mark.parametrize("mode", ["init", "anchors", "best"])
def test_refine_start_modes(synthetic, mode):
    # Half the frames between the key frames start far off. "anchors" and "best" start them from a
    # fitted neighbour instead, so a short refinement ends much nearer the truth than "init" does.
    from mvmocap.fit.smplify import _keyframes

    cfg = dataclasses.replace(FAST, shape_frames=4, refine_iters_pose=6, refine_start=mode)
    keys = set(_keyframes(synthetic.params.valid, cfg.shape_frames).tolist())
    bad = [f for f in range(synthetic.params.num_frames) if f not in keys][::2]
    result = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg,
                          init=_scrambled_init(synthetic, bad), progress=False)
    error = (result.keypoints3d[bad] - synthetic.keypoints3d[bad].float()).norm(dim=-1).mean()
    if mode == "init":
        assert float(error) > 0.03
    else:
        assert float(error) < 0.015
    with pytest.raises(InputError, match="refine_start"):
        FitConfig(refine_start="nearest")


def test_regressed_pose_mean_only_where_the_regressor_answered(synthetic):
    from mvmocap.fit.smplify import _regressed_pose_mean

    p = synthetic.params
    keys = torch.tensor([2, 9, 17])
    regressed = p.frames(keys)
    regressed = dataclasses.replace(regressed, valid=torch.tensor([True, False, True]))
    mean = _regressed_pose_mean(p.num_frames, keys, regressed, keys_only=True)
    assert mean.shape == (p.num_frames, 23, 3)
    torch.testing.assert_close(mean[[2, 17]], p.body_pose[[2, 17]])
    others = [f for f in range(p.num_frames) if f not in (2, 17)]
    assert torch.all(mean[others] == 0)  # not a key frame, or the regressor had no answer there
    every = _regressed_pose_mean(p.num_frames, keys, p, keys_only=False)
    torch.testing.assert_close(every, p.body_pose)


@pytest.mark.parametrize("asked_for_key_frames", [False, True])
def test_refinement_pose_prior_pulls_towards_the_regressor(synthetic, asked_for_key_frames):
    # A strong pose prior: about the rest pose it drags a refinement that starts at the truth away
    # from it; about the regressor's estimate (here the truth) it keeps it there. A regressor asked
    # for its key frames only (a callable init, refine_start="anchors") gives the prior's mean there.
    from mvmocap.fit.smplify import _keyframes

    truth = synthetic.params
    init = (lambda frames: truth.frames(frames)) if asked_for_key_frames else truth
    keys = _keyframes(truth.valid, 6)
    errors = {}
    for mean in ("regressor", "rest"):
        cfg = dataclasses.replace(FAST, weight_pose=5.0, refine_pose_prior=mean, shape_frames=6)
        result = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model, config=cfg, init=init,
                              progress=False)
        assert result.params.body_pose.shape == truth.body_pose.shape
        errors[mean] = (result.params.body_pose - truth.body_pose.float()).norm(dim=-1).mean(-1)  # (F,) rad
    assert float(errors["regressor"][keys].mean()) < 0.5 * float(errors["rest"][keys].mean())
    if asked_for_key_frames:
        return
    assert float(errors["regressor"].mean()) < 0.5 * float(errors["rest"].mean())
    plain = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model,
                         config=dataclasses.replace(FAST, weight_pose=5.0, refine_pose_prior="regressor"),
                         progress=False)  # no regressor: the rest pose, whatever the setting
    rest = fit_sequence(synthetic.keypoints_2d, synthetic.rig, synthetic.model,
                        config=dataclasses.replace(FAST, weight_pose=5.0, refine_pose_prior="rest"), progress=False)
    torch.testing.assert_close(plain.params.body_pose, rest.params.body_pose)
    with pytest.raises(InputError, match="refine_pose_prior"):
        FitConfig(refine_pose_prior="network")
