"""Frames seen by one camera in a fit started from a regressor (mvmocap.fit.single_view)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mvmocap.body.params import BodyParams
from mvmocap.fit import FitConfig, fit_sequence
from mvmocap.fit.single_view import seen_by_one_camera, single_view_frames

FAST = FitConfig(iters_shape=40, iters_global=10, iters_pose=40)
SINGLE = list(range(8, 16))  # cameras 1-3 lose the person here


def noisy_truth(truth: BodyParams, seed: int = 3, pose_noise: float = 0.05, transl_noise: float = 0.03) -> BodyParams:
    """A regressor stand-in: the true parameters with some noise."""
    g = torch.Generator().manual_seed(seed)
    noise = lambda x, s: x + s * torch.randn(x.shape, generator=g, dtype=x.dtype)  # noqa: E731
    return BodyParams(noise(truth.global_orient, pose_noise), noise(truth.body_pose, pose_noise), truth.betas.clone(),
                      noise(truth.transl, transl_noise), truth.valid.clone())


@pytest.fixture(scope="module")
def one_camera(synthetic):
    kp = synthetic.keypoints_2d.clone()
    kp[SINGLE, 1:] = 0.0
    return kp


def test_seen_by_one_camera_needs_enough_joints_in_one_view():
    conf = torch.zeros(3, 2, 23)
    conf[0, 0, :6] = 1.0  # 6 joints in one view
    conf[1, 0, :3] = conf[1, 1, 3:6] = 1.0  # 6 joints, but over two views
    valid = torch.tensor([False, False, True])
    conf[2, 0] = 1.0
    assert seen_by_one_camera(conf, valid, 6).tolist() == [True, False, False]


def test_single_view_frames_asks_the_regressor_once_with_the_key_frames(synthetic):
    asked = []
    truth = noisy_truth(synthetic.params)

    def regressor(frames):
        asked.append(frames.tolist())
        return truth.frames(frames)

    conf = torch.zeros(5, 2, 23)
    conf[[0, 1, 3], :] = 1.0
    conf[2, 0] = conf[4, 1] = 1.0
    valid = torch.tensor([True, True, False, True, False])
    single = single_view_frames(regressor, conf, valid, torch.tensor([0, 3]), 6, torch.float64, "cpu")
    assert asked == [[0, 2, 3, 4]]
    assert single.mask.tolist() == [False, False, True, False, True]
    torch.testing.assert_close(single.start.transl, truth.transl[[2, 4]])


def test_a_single_view_frame_gets_a_finite_valid_body(synthetic, one_camera):
    plain = fit_sequence(one_camera, synthetic.rig, synthetic.model, config=FAST, progress=False)
    assert not bool(plain.params.valid[SINGLE].any())  # the plain fit gives nothing there

    start = noisy_truth(synthetic.params)
    refined = fit_sequence(one_camera, synthetic.rig, synthetic.model, config=FAST, progress=False,
                           init=lambda frames: start.frames(frames))
    p = refined.params
    assert bool(p.valid.all())
    for t in (p.global_orient, p.body_pose, p.transl, refined.keypoints3d):
        assert bool(torch.isfinite(t).all())
    truth = synthetic.keypoints3d.float()
    error = (refined.keypoints3d - truth).norm(dim=-1)[SINGLE]
    start_points = synthetic.model(global_orient=start.global_orient, body_pose=start.body_pose,
                                   betas=start.betas.expand(start.num_frames, -1), transl=start.transl).coco23
    start_error = (start_points[SINGLE].float() - truth[SINGLE]).norm(dim=-1)
    interpolated = (plain.keypoints3d - truth).norm(dim=-1)[SINGLE]
    assert float(error.mean()) < 0.04  # metres, from one camera
    assert float(error.mean()) < float(start_error.mean())  # the fit improves on its start
    assert float(error.mean()) < float(interpolated.mean())  # and on the plain fit's interpolation
    # the one camera's reprojection is near the 1 px noise
    assert float(refined.reprojection_px[SINGLE, 0][refined.observed[SINGLE, 0]].median()) < 3.0


def test_frames_the_regressor_misses_stay_as_the_plain_fit_leaves_them(synthetic, one_camera):
    """Multi-view behaviour unchanged: a regressor invalid on the single-view frames gives the same fit
    as one asked on inputs where nobody is seen there."""
    start = noisy_truth(synthetic.params)
    missing = start.valid.clone()
    missing[SINGLE] = False
    blind = dataclasses.replace(start, valid=missing)
    a = fit_sequence(one_camera, synthetic.rig, synthetic.model, config=FAST, progress=False,
                     init=lambda frames: blind.frames(frames))
    empty = one_camera.clone()
    empty[SINGLE] = 0.0
    b = fit_sequence(empty, synthetic.rig, synthetic.model, config=FAST, progress=False,
                     init=lambda frames: blind.frames(frames))
    assert not bool(a.params.valid[SINGLE].any())
    torch.testing.assert_close(a.params.transl, b.params.transl, rtol=0, atol=0)
    torch.testing.assert_close(a.params.body_pose, b.params.body_pose, rtol=0, atol=0)


def test_bridging_removes_a_constant_depth_bias_of_the_starts(synthetic):
    from mvmocap.fit.model import KeypointModel

    truth = synthetic.params
    biased = BodyParams(truth.global_orient.clone(), truth.body_pose.clone(), truth.betas.clone(),
                        truth.transl.clone(), truth.valid.clone())
    bias = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    biased.transl[SINGLE] += bias
    F = truth.num_frames
    conf2d = synthetic.keypoints_2d[..., 2].clone()
    conf2d[SINGLE, 1:] = 0.0
    frame_valid = torch.ones(F, dtype=torch.bool)
    frame_valid[SINGLE] = False
    single = single_view_frames(biased, conf2d, frame_valid, torch.tensor([0, 20]), 6, torch.float64, "cpu")
    model = KeypointModel(synthetic.model, dtype=torch.float64)
    confidence = frame_valid[:, None].to(torch.float64).expand(F, 23).clone()
    bridged = single.bridged(model, truth.betas, synthetic.keypoints3d, confidence)
    before = (single.start.transl - truth.transl[SINGLE]).norm(dim=-1)
    after = (bridged.start.transl - truth.transl[SINGLE]).norm(dim=-1)
    assert float(before.min()) > 0.35
    assert float(after.max()) < 0.02  # metres: the true motion between a stretch's end and its neighbour
    torch.testing.assert_close(bridged.start.global_orient, single.start.global_orient)
