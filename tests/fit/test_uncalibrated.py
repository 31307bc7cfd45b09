"""Uncalibrated MV-SMPLify (paper 3.3) and SMPLify per view, on exact synthetic 2D."""

from __future__ import annotations

import math

import pytest
import torch

from mvmocap.body import load_body_model
from mvmocap.evaluate.metrics import pa_mpjpe
from mvmocap.fit.uncalibrated import (
    ViewStart, fit_views, project, similar_triangles_translation, translation_from_weak_camera, world_body,
)
from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_angle_between

B, V = 3, 4
FOCAL, PRINCIPAL = 1000.0, (960.0, 540.0)


@pytest.fixture(scope="module")
def body():
    return load_body_model(None, dtype=torch.float64)


def look_at(centre: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """World -> camera rotation (OpenCV axes) of a camera at ``centre`` looking at ``target``, world +Z up."""
    z = (target - centre) / (target - centre).norm()
    x = torch.linalg.cross(z, torch.tensor([0.0, 0.0, 1.0], dtype=z.dtype))
    x = x / x.norm()
    return torch.stack([x, torch.linalg.cross(z, x), z])


def scene(body, seed: int = 0):
    """Ground truth: ``B`` bodies seen by ``V`` cameras around them; per-view (zeta_i, T_i), the 2D, the world rotations."""
    g = torch.Generator().manual_seed(seed)
    y_up_to_z_up = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=torch.float64)
    yaw = torch.rand(B, generator=g, dtype=torch.float64) * 2 * math.pi
    go = axis_angle_to_matrix(torch.stack([torch.zeros(B), torch.zeros(B), yaw], -1).double()) @ y_up_to_z_up
    pose_aa = 0.25 * torch.randn(B, 23, 3, generator=g, dtype=torch.float64)
    betas = 0.8 * torch.randn(B, 10, generator=g, dtype=torch.float64)
    transl = torch.tensor([0.1, -0.2, 0.9], dtype=torch.float64).expand(B, 3)
    world = body(global_orient=go, body_pose=axis_angle_to_matrix(pose_aa), betas=betas, transl=transl).coco23  # (B, J, 3)
    angles = torch.arange(V, dtype=torch.float64) * 2 * math.pi / V + 0.3
    centres = torch.stack([4 * torch.cos(angles), 4 * torch.sin(angles), torch.full_like(angles, 1.2)], -1)
    R = torch.stack([look_at(c, torch.tensor([0.0, 0.0, 0.9], dtype=torch.float64)) for c in centres])
    t = -(R @ centres[..., None])[..., 0]
    cam = torch.einsum("vij,bkj->bvki", R, world) + t[None, :, None]  # (B, V, J, 3) camera axes
    uv = project(cam, torch.full((V,), FOCAL, dtype=torch.float64), torch.tensor(PRINCIPAL, dtype=torch.float64).expand(V, 2))
    conf = body.coco23_available.to(torch.float64).expand(B, V, -1)
    zeta = R[None] @ go[:, None]  # (B, V, 3, 3)
    return dict(go=go, pose=axis_angle_to_matrix(pose_aa), betas=betas, R=R, cam=cam,
                keypoints=torch.cat([uv, conf[..., None]], -1), zeta=zeta)


def noisy_start(truth, seed: int = 1) -> ViewStart:
    """Per-view starts as a single-view regressor might give: each view's pose and orientation off by noise, mean shape."""
    g = torch.Generator().manual_seed(seed)
    tilt = axis_angle_to_matrix(0.1 * torch.randn(B, V, 3, generator=g, dtype=torch.float64))
    wobble = axis_angle_to_matrix(0.2 * torch.randn(B, V, 23, 3, generator=g, dtype=torch.float64))
    return ViewStart(global_orient=tilt @ truth["zeta"], body_pose=wobble @ truth["pose"][:, None],
                     betas=torch.zeros(B, V, 10, dtype=torch.float64),
                     transl=torch.tensor([0.0, 0.0, 4.0], dtype=torch.float64).expand(B, V, 3))


def body_frame_error(body, pose, betas, truth) -> torch.Tensor:
    """PA-MPJPE ``(B,)`` mm of the body-frame COCO-17 joints of ``pose``, ``betas`` against the truth."""
    def joints(p, b):
        return body(global_orient=torch.eye(3, dtype=torch.float64).expand(B, 3, 3), body_pose=p, betas=b).coco23[:, :17]
    return pa_mpjpe(joints(pose, betas), joints(truth["pose"], truth["betas"]))


def test_weak_camera_translation_projects_the_root_where_the_weak_camera_did():
    g = torch.Generator().manual_seed(0)
    weak = torch.cat([0.5 + torch.rand(5, 1, generator=g), 0.3 * torch.randn(5, 2, generator=g)], -1).double()
    crops = torch.cat([500 + 400 * torch.rand(5, 2, generator=g), 200 + 300 * torch.rand(5, 1, generator=g)], -1).double()
    focal, principal = torch.full((5,), 1200.0, dtype=torch.float64), torch.tensor([960.0, 540.0], dtype=torch.float64).expand(5, 2)
    T = translation_from_weak_camera(weak, crops, focal, principal)
    perspective = focal[:, None] * T[:, :2] / T[:, 2:] + principal
    weak_px = crops[:, :2] + crops[:, 2:] / 2 * weak[:, :1] * weak[:, 1:]
    torch.testing.assert_close(perspective, weak_px)
    assert bool((T[:, 2] > 0).all())


def test_similar_triangles_place_the_body_near_its_true_translation(body):
    truth = scene(body)
    # the model's joints in camera axes without translation, from the true pose: only T_i is unknown
    local = body(global_orient=truth["zeta"], body_pose=truth["pose"][:, None].expand(B, V, 23, 3, 3),
                 betas=truth["betas"][:, None].expand(B, V, 10)).coco23
    true_T = (truth["cam"] - local)[..., 0, :]
    kp = truth["keypoints"]
    T = similar_triangles_translation(local, kp[..., :2], kp[..., 2], torch.full((B, V), FOCAL, dtype=torch.float64),
                                      torch.tensor(PRINCIPAL, dtype=torch.float64).expand(B, V, 2),
                                      torch.zeros(B, V, 3, dtype=torch.float64))
    assert float((T - true_T).norm(dim=-1).max()) < 0.15  # 4 m away: within 4 %


def test_multi_view_fit_recovers_the_pose_from_noisy_per_view_starts(body):
    truth = scene(body)
    start = noisy_start(truth)
    fit = fit_views(body, truth["keypoints"], torch.full((V,), FOCAL), torch.tensor(PRINCIPAL).expand(V, 2), start)
    assert fit.body_pose.shape == (B, 23, 3, 3) and fit.betas.shape == (B, 10) and fit.global_orient.shape == (B, V, 3, 3)
    from mvmocap.fit.uncalibrated import mean_start

    pose0, betas0 = mean_start(start, torch.ones(B, V, dtype=torch.float64))
    before = body_frame_error(body, pose0, betas0, truth)
    after = body_frame_error(body, fit.body_pose, fit.betas, truth)
    assert float(after.max()) < 15.0 and float(after.mean()) < 0.5 * float(before.mean()), (before, after)
    assert float(fit.reprojection_px[..., :17].median()) < 4.0
    orient, _, _ = world_body(fit, truth["R"], torch.ones(B, V, dtype=torch.float64))
    assert float(rotation_angle_between(orient, truth["go"]).max()) < math.radians(6)  # the translations stay fixed (paper)


def test_missing_views_stay_finite_and_the_others_still_fit(body):
    truth = scene(body)
    kp = truth["keypoints"].clone()
    kp[:, 1, :, 2] = 0.0  # view 1 never sees anyone
    kp[0, :, :, 2] = 0.0  # frame-set 0: nobody anywhere
    kp[2, 3, 5:, 2] = 0.0  # frame-set 2, view 3: only the head
    fit = fit_views(body, kp, torch.full((V,), FOCAL), torch.tensor(PRINCIPAL).expand(V, 2), noisy_start(truth))
    for value in (fit.global_orient, fit.body_pose, fit.betas, fit.transl, fit.energy, fit.reprojection_px):
        assert bool(torch.isfinite(value).all())
    assert float(fit.reprojection_px[:, 1].abs().max()) == 0.0  # unseen: no error counted
    errors = body_frame_error(body, fit.body_pose, fit.betas, truth)
    assert float(errors[1:].max()) < 20.0, errors


def test_single_view_smplify_fits_each_view_alone(body):
    truth = scene(body)
    start = noisy_start(truth)
    fit = fit_views(body, truth["keypoints"], torch.full((V,), FOCAL), torch.tensor(PRINCIPAL).expand(V, 2), start,
                    share_body=False)
    assert fit.body_pose.shape == (B, V, 23, 3, 3) and fit.betas.shape == (B, V, 10) and not fit.shared
    assert float(fit.reprojection_px[..., :17].median()) < 6.0
    # a view fitted alone does not know depth: its body is further from the truth than the shared fit's
    shared = fit_views(body, truth["keypoints"], torch.full((V,), FOCAL), torch.tensor(PRINCIPAL).expand(V, 2), start)
    _, pose, betas = world_body(fit, truth["R"], torch.ones(B, V, dtype=torch.float64))
    alone = body_frame_error(body, pose, betas, truth)
    together = body_frame_error(body, shared.body_pose, shared.betas, truth)
    assert float(together.mean()) < float(alone.mean()), (together, alone)
