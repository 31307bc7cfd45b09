"""``--method metapose``'s body step: weak -> pinhole cameras, the metric +Z-up world, the body."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mvmocap.evaluate.metrics import pa_mpjpe
from mvmocap.fit.inputs import MethodInputs
from mvmocap.geometry.frame_rig import FrameRig, nominal_rig
from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_angle_between
from mvmocap.geometry.weak_projection import weak_camera_vector
from mvmocap.reconstruct.pipeline import keypoints_tensor
from mvmocap.regressors.metapose.body import body_from_joints, estimate_scene, regress
from mvmocap.regressors.metapose.cameras import pinhole_frames
from mvmocap.synth.mono3d import MonocularNoise
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.moving import HandHeld, moving_capture
from mvmocap.synth.sequence import SequenceConfig


def test_pinhole_frames_invert_the_weak_cameras_of_pinholes():
    """Weak cameras written from known pinholes (root at T_c, scale f / (box d)) give those pinholes back,
    in the reference camera's frame."""
    g = torch.Generator().manual_seed(0)
    F, C = 3, 4
    R = axis_angle_to_matrix(torch.randn(F, C, 3, generator=g, dtype=torch.float64))
    T = torch.randn(F, C, 3, generator=g, dtype=torch.float64) * 0.3 + torch.tensor([0, 0, 6.0], dtype=torch.float64)
    focal = torch.tensor([900.0, 1000.0, 1100.0, 1200.0], dtype=torch.float64)
    principal = torch.tensor([[480.0, 270.0]], dtype=torch.float64).expand(C, 2)
    centre = torch.randn(F, C, 2, generator=g, dtype=torch.float64) * 50 + 400
    box = torch.rand(F, C, generator=g, dtype=torch.float64) * 100 + 200
    scale = focal / (box * T[..., 2])
    shift = ((focal / T[..., 2])[..., None] * T[..., :2] + principal - centre) / box[..., None]
    joints = torch.randn(F, 17, 3, generator=g, dtype=torch.float64) * 0.3
    frames = pinhole_frames(joints, weak_camera_vector(R, scale, shift), centre, box, focal, principal, reference=1)
    expected_R = R @ R[:, 1:2].transpose(-1, -2)
    torch.testing.assert_close(frames.R, expected_R)
    expected_t = T - (expected_R @ T[:, 1, None, :, None]).squeeze(-1)
    torch.testing.assert_close(frames.t, expected_t)
    torch.testing.assert_close(frames.joints, joints @ R[:, 1].transpose(-1, -2) + T[:, 1, None])


@pytest.fixture(scope="module")
def still_capture():
    """A clean 3-camera clip of 24 frames, static cameras, exact monocular 3D."""
    from mvmocap.body import load_body_model

    body = load_body_model(None)
    config = SequenceConfig(cameras=3, condition="clean", motion=MotionConfig(frames=24, fps=30.0))
    moving = moving_capture(body, config, 123, 0, HandHeld(yaw_deg=0.0, slide_m=0.0), MonocularNoise.none())
    return body, moving


def _inputs(body, moving, height=1.7, **changes):
    detections = moving.capture.detections
    kp = keypoints_tensor(detections, 0.05)
    inputs = MethodInputs(kp, nominal_rig(detections.camera_names, torch.as_tensor(detections.image_sizes)), body,
                          extras={"detections": detections, "subject_height_m": height}, progress=False)
    return dataclasses.replace(inputs, **changes)


def _height(body, betas):
    with torch.no_grad():
        vertices = body(betas=betas[None].to(body.v_template.dtype)).vertices[0]
    return float(vertices[:, 1].max() - vertices[:, 1].min())


def test_the_scene_is_metric_floor_based_and_up_is_z(still_capture):
    body, moving = still_capture
    truth = moving.capture.posed.coco23.double()
    height = _height(body, moving.capture.posed.clip.betas)
    scene = estimate_scene(_inputs(body, moving, height), "s1")
    assert scene.rig.names == moving.rig.names and scene.rig.num_frames == 24
    assert bool(scene.view_valid.all()) and scene.summary["frames_estimated"] == 24
    joints = scene.joints3d[:, :17]
    # metres from the height: the thighs within 12 % of the truth's
    thigh = lambda j: (j[:, [11, 12]] - j[:, [13, 14]]).norm(dim=-1).mean()  # noqa: E731
    assert float(thigh(joints) / thigh(truth)) == pytest.approx(1.0, abs=0.12)
    # +Z up, feet on the floor
    up = (joints[:, [5, 6]].mean(1) - joints[:, [11, 12]].mean(1))
    assert float((up[:, 2] / up.norm(dim=-1)).mean()) > 0.9
    assert float(joints[:, [15, 16], 2].min()) == pytest.approx(float(truth[:, [15, 16], 2].min()), abs=0.03)
    # the pose per frame, and the cameras relative to each other
    assert float(pa_mpjpe(joints, truth[:, :17]).mean()) < 1.0  # exact monocular 3D and 2D
    rel = lambda rig: rig.R @ rig.R[:, :1].transpose(-1, -2)  # noqa: E731
    assert float(torch.rad2deg(rotation_angle_between(rel(scene.rig), rel(moving.rig))).max()) < 0.5
    # the joints reproject under the per-frame cameras
    kp = keypoints_tensor(moving.capture.detections, 0.05)
    errors = scene.rig.reprojection_errors(scene.joints3d[:, :17], kp[:, :, :17, :2])
    assert float(errors.median()) < 0.005 * float(moving.rig.sizes.max())  # pinholes from weak cameras: ~1.5 px


def test_the_height_sets_the_scale(still_capture):
    body, moving = still_capture
    short = estimate_scene(_inputs(body, moving, 1.5), "s1", smooth_s=0.0)
    tall = estimate_scene(_inputs(body, moving, 1.8), "s1", smooth_s=0.0)
    torch.testing.assert_close(tall.joints3d, short.joints3d * 1.2)
    torch.testing.assert_close(tall.rig.centers(), short.rig.centers() * 1.2)
    torch.testing.assert_close(tall.rig.R, short.rig.R)
    assert tall.summary["scale"] == pytest.approx(1.2 * short.summary["scale"])


def test_the_reference_is_the_camera_that_sees_most(still_capture):
    body, moving = still_capture
    inputs = _inputs(body, moving)
    kp = inputs.keypoints_2d.clone()
    kp[:12, 0] = 0.0  # camera 0 misses the person in half the frames
    scene = estimate_scene(dataclasses.replace(inputs, keypoints_2d=kp), "s1")
    assert scene.summary["reference_camera"] != moving.rig.names[0]
    assert scene.rig.names == moving.rig.names  # back in the detections' order
    assert not bool(scene.view_valid[:12, 0].any()) and bool(scene.view_valid[12:].all())
    assert float(scene.confidence[:12].sum()) > 0  # the other two cameras still give those frames


def test_body_of_the_joints_and_regress(still_capture):
    body, moving = still_capture
    truth = moving.capture.posed.coco23.double()
    confidence = torch.ones(24, 23)
    confidence[:, 17:] = 0
    params = body_from_joints(body, truth, confidence)
    with torch.no_grad():
        out = body(global_orient=params.global_orient, body_pose=params.body_pose, betas=params.betas.expand(24, -1),
                   transl=params.transl)
    assert float(pa_mpjpe(out.coco23[:, :17].double(), truth[:, :17]).mean()) < 40.0
    assert bool(params.valid.all())
    # with the per-frame cameras and joints given (reconstruct's camera stage), regress uses them
    given = _inputs(body, moving, rig=FrameRig.static(moving.rig.at(0), 24), joints3d=truth,
                    joints3d_confidence=confidence)
    torch.testing.assert_close(regress(given).body_pose, params.body_pose)
