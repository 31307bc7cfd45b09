"""The multi-view use of per-view bodies: rotation averages, world orientation, translation from one view."""

from __future__ import annotations

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit.config import FitConfig
from mvmocap.fit.inputs import MethodInputs
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle, rotation_angle_between
from mvmocap.regressors.cra.multiview import (FROM_PIXELS, NO_VIEW, TRIANGULATED, WEAK_CAMERA, average_rotations,
                                             fuse_views, regress_with, rig_tensors, translation_from_pixels,
                                             translation_from_weak_camera, view_weights, world_orientations)
from mvmocap.regressors.cra.views import ViewBodies
from tests.fit.conftest import make_rig, make_tiny_body_model, true_sequence

F = 6


@pytest.fixture(scope="module")
def scene():
    """A known body over F frames, the 4-camera rig, its exact keypoints and triangulated joints."""
    model = make_tiny_body_model()
    rig = make_rig()
    truth = true_sequence(F)
    out = model(global_orient=truth.global_orient, body_pose=truth.body_pose, betas=truth.betas.expand(F, -1),
                transl=truth.transl)
    pixels = rig.project(out.coco23)
    keypoints = torch.cat([pixels, torch.ones_like(pixels[..., :1])], -1)
    return model, rig, truth, out.coco23, keypoints


def exact_views(rig, truth, points, residual=None, valid=None) -> ViewBodies:
    """ViewBodies a perfect network would give: the true body in each camera's axes, weak cameras that
    reproduce the mid-hip's image and scale."""
    F, C = points.shape[0], len(rig)
    R_world = axis_angle_to_matrix(truth.global_orient)  # (F, 3, 3)
    global_orient = rig.R[None] @ R_world[:, None]  # (F, C, 3, 3)
    body_pose = axis_angle_to_matrix(truth.body_pose)[:, None].expand(F, C, 23, 3, 3)
    betas = truth.betas.expand(F, C, -1)
    mid_hip = points[:, 11:13].mean(-2)  # (F, 3)
    depth = rig.depths(mid_hip[:, None])[..., 0]  # (F, C)
    pixel = rig.project(mid_hip[:, None], distort=False)[..., 0, :]  # (F, C, 2)
    side = torch.full((F, C), 400.0, dtype=torch.float64)
    focal = rig.K[:, 0, 0]
    s = 2 * focal / (depth * side)  # crop units per metre
    crops = torch.cat([pixel + 13.0, side[..., None]], -1)  # crop centred a little off the root
    shift = (pixel - crops[..., :2]) / (side[..., None] / 2) / s[..., None]
    weak = torch.cat([s[..., None], shift], -1)
    residual = torch.zeros(F, C, dtype=torch.float64) if residual is None else residual
    valid = torch.ones(F, C, dtype=torch.bool) if valid is None else valid
    return ViewBodies(global_orient, body_pose, betas, weak, crops, residual, valid)


def test_rotation_average_of_identical_views_is_that_rotation():
    g = torch.Generator().manual_seed(0)
    R = axis_angle_to_matrix(torch.randn(5, 3, generator=g, dtype=torch.float64))
    same = R[:, None].expand(5, 4, 3, 3)
    weights = view_weights(torch.rand(5, 4, generator=g, dtype=torch.float64), torch.ones(5, 4, dtype=torch.bool))
    torch.testing.assert_close(average_rotations(same, weights), R)


def test_weights_follow_the_residual_and_skip_invalid_views():
    residual = torch.tensor([[0.0, 0.05, 1.0, 0.0]], dtype=torch.float64)
    valid = torch.tensor([[True, True, True, False]])
    w = view_weights(residual, valid, residual_scale=0.05)
    raw = torch.tensor([1 / 0.05, 1 / 0.1, 1 / 1.05, 0.0], dtype=torch.float64)
    torch.testing.assert_close(w[0], raw / raw.sum())
    assert float(view_weights(residual, torch.zeros_like(valid)).abs().sum()) == 0.0


def test_a_bad_view_is_outweighed_by_good_ones():
    g = torch.Generator().manual_seed(1)
    R = axis_angle_to_matrix(torch.randn(1, 3, generator=g, dtype=torch.float64))
    wrong = R @ axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.6]], dtype=torch.float64))
    views = torch.stack([R, R, R, wrong], 1)  # (1, 4, 3, 3)
    residual = torch.tensor([[0.01, 0.01, 0.01, 2.0]], dtype=torch.float64)
    mean = average_rotations(views, view_weights(residual, torch.ones(1, 4, dtype=torch.bool)))
    assert float(rotation_angle_between(mean, R)) < 0.02  # radians; the bad view alone would be 0.6 off


def test_world_orientation_through_a_known_camera(scene):
    _, rig, truth, _, _ = scene
    R_world = axis_angle_to_matrix(truth.global_orient)
    in_cameras = rig.R[None] @ R_world[:, None]  # (F, C, 3, 3): what each camera sees
    world = world_orientations(in_cameras, rig.R)
    torch.testing.assert_close(world, R_world[:, None].expand_as(world))


def test_translation_from_one_view_recovers_the_true_translation(scene):
    model, rig, truth, points, keypoints = scene
    posed = points - truth.transl[:, None]  # the body without its translation
    one_camera = keypoints.clone()
    one_camera[:, 1:, :, 2] = 0.0  # only camera 0 sees the person
    K, dist, R, t = rig_tensors(rig, F)
    T, ok = translation_from_pixels(posed, one_camera, K, dist, R, t)
    assert bool(ok.all())
    torch.testing.assert_close(T, truth.transl, atol=1e-9, rtol=0)


def test_translation_from_the_weak_camera_puts_the_mid_hip_on_its_ray(scene):
    _, rig, truth, points, _ = scene
    views = exact_views(rig, truth, points)
    posed = points - truth.transl[:, None]
    K, _, R, t = rig_tensors(rig, F)
    T = translation_from_weak_camera(posed, views.weak_camera, views.crops, K, R, t, torch.full((F,), 2))
    torch.testing.assert_close(T, truth.transl, atol=1e-9, rtol=0)


def _inputs(model, rig, keypoints, with_joints: bool) -> MethodInputs:
    joints = confidence = None
    if with_joints:
        tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2])
        joints, confidence = tri.points, tri.confidence
    return MethodInputs(keypoints, rig, model, joints, confidence, FitConfig(), progress=False)


def test_fuse_views_recovers_the_body_on_multi_view_and_single_view_frames(scene):
    model, rig, truth, points, keypoints = scene
    kp = keypoints.clone()
    single = [3, 4]
    kp[single, 1:, :, 2] = 0.0  # camera 0 only
    valid = torch.ones(F, 4, dtype=torch.bool)
    valid[single, 1:] = False
    views = exact_views(rig, truth, points, valid=valid)
    params, info = fuse_views(views, _inputs(model, rig, kp, with_joints=True))
    expected_source = torch.full((F,), TRIANGULATED)
    expected_source[single] = FROM_PIXELS
    assert torch.equal(info.translation_source, expected_source)
    assert info.body_scale == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(params.transl, truth.transl, atol=1e-6, rtol=0)
    torch.testing.assert_close(axis_angle_to_matrix(params.global_orient), axis_angle_to_matrix(truth.global_orient))
    torch.testing.assert_close(params.betas, truth.betas)
    assert bool(params.valid.all())


def test_single_view_translation_takes_the_sequence_body_size(scene):
    """A network that makes the body too small: the triangulated frames set the scale, so the single-view
    frame's mid-hip lands far nearer its true place than with the network's size (no multi-view frame)."""
    model, rig, truth, points, keypoints = scene
    views = exact_views(rig, truth, points)
    betas = truth.betas.clone()
    betas[0] -= 2.0  # beta 0 scales the tiny body's height by about 8 cm per unit
    small = ViewBodies(views.global_orient, views.body_pose, betas.expand(F, 4, -1), views.weak_camera, views.crops,
                       views.residual, views.valid)
    true_mid_hip = points[3, 11:13].mean(-2)

    def mid_hip_error(kp):
        params, info = fuse_views(small, _inputs(model, rig, kp, with_joints=True))
        assert int(info.translation_source[3]) == FROM_PIXELS
        out = model(global_orient=params.global_orient, body_pose=params.body_pose,
                    betas=params.betas.expand(F, -1), transl=params.transl)
        return float((out.coco23[3, 11:13].mean(-2) - true_mid_hip).norm()), info.body_scale

    one_frame = keypoints.clone()
    one_frame[3, 1:, :, 2] = 0.0
    all_frames = keypoints.clone()
    all_frames[:, 1:, :, 2] = 0.0
    sized, scale = mid_hip_error(one_frame)
    naive, no_scale = mid_hip_error(all_frames)
    assert scale > 1.05 and no_scale == 1.0
    assert naive > 0.08 and sized < 0.5 * naive  # metres


def test_weak_camera_fallback_and_frames_nobody_saw(scene):
    model, rig, truth, points, keypoints = scene
    kp = keypoints.clone()
    kp[2, :, :, 2] = 0.0  # no keypoint at all: only the network's weak camera places the body
    kp[5, :, :, 2] = 0.0
    valid = torch.ones(F, 4, dtype=torch.bool)
    valid[5] = False  # and nobody in the last frame
    views = exact_views(rig, truth, points, valid=valid)
    params, info = fuse_views(views, _inputs(model, rig, kp, with_joints=True))
    assert int(info.translation_source[2]) == WEAK_CAMERA and int(info.translation_source[5]) == NO_VIEW
    torch.testing.assert_close(params.transl[2], truth.transl[2], atol=1e-6, rtol=0)
    assert not bool(params.valid[5]) and bool(params.valid[:5].all())
    assert bool(torch.isfinite(params.transl).all())
    torch.testing.assert_close(params.transl[5], params.transl[4])  # held from the last seen frame


def test_fusion_is_differentiable_in_the_views(scene):
    model, rig, truth, points, keypoints = scene
    views = exact_views(rig, truth, points)
    pose = matrix_to_axis_angle(views.body_pose).clone().requires_grad_(True)
    moved = ViewBodies(views.global_orient, axis_angle_to_matrix(pose), views.betas, views.weak_camera, views.crops,
                       views.residual, views.valid)
    params, _ = fuse_views(moved, _inputs(model, rig, keypoints, with_joints=True))
    (params.body_pose.sum() + params.transl.sum()).backward()
    assert pose.grad is not None and bool(torch.isfinite(pose.grad).all()) and float(pose.grad.abs().sum()) > 0


def test_regress_with_and_mismatched_inputs(scene):
    model, rig, truth, points, keypoints = scene
    views = exact_views(rig, truth, points)
    regress = regress_with(lambda inputs: views)
    params = regress(_inputs(model, rig, keypoints, with_joints=False))  # triangulated inside
    torch.testing.assert_close(params.transl, truth.transl, atol=1e-6, rtol=0)
    with pytest.raises(InputError, match="frames"):
        fuse_views(views, _inputs(model, rig, keypoints[:3], with_joints=False))


def test_per_frame_cameras_give_the_same_fusion(scene):
    from dataclasses import replace

    from mvmocap.geometry.frame_rig import FrameRig

    model, rig, truth, points, keypoints = scene
    kp = keypoints.clone()
    kp[3, 1:, :, 2] = 0.0  # a single-view frame too
    views = exact_views(rig, truth, points)
    static = _inputs(model, rig, kp, with_joints=True)
    moving = replace(static, rig=FrameRig.static(rig, F))
    a, info_a = fuse_views(views, static)
    b, info_b = fuse_views(views, moving)
    assert torch.equal(info_a.translation_source, info_b.translation_source)
    torch.testing.assert_close(b.transl, a.transl)
    torch.testing.assert_close(b.global_orient, a.global_orient)
