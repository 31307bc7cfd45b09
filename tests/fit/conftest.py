"""Fixtures for the fitting tests: a tiny SMPL-format body, a 4-camera rig, a known sequence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from mvmocap.body.joint_sets import SMPL_PARENTS, KeypointRegressor
from mvmocap.body.model import BodyModel
from mvmocap.body.params import BodyParams
from mvmocap.geometry.camera import Camera, CameraRig
from mvmocap.keypoints import COCO23

# Rest joints of a ~1.7 m person, SMPL rest frame (x left, y up, z front), pelvis at the origin.
REST_JOINTS = np.array(
    [
        [0.0, 0.0, 0.0], [0.06, -0.09, 0.0], [-0.06, -0.09, 0.0], [0.0, 0.11, -0.02],
        [0.10, -0.47, 0.0], [-0.10, -0.47, 0.0], [0.0, 0.24, 0.0], [0.09, -0.87, -0.04],
        [-0.09, -0.87, -0.04], [0.0, 0.29, 0.02], [0.11, -0.93, 0.08], [-0.11, -0.93, 0.08],
        [0.0, 0.51, -0.01], [0.07, 0.42, 0.0], [-0.07, 0.42, 0.0], [0.0, 0.6, 0.04],
        [0.17, 0.45, -0.01], [-0.17, 0.45, -0.01], [0.42, 0.43, -0.03], [-0.42, 0.43, -0.03],
        [0.67, 0.44, -0.03], [-0.67, 0.44, -0.03], [0.75, 0.44, -0.03], [-0.75, 0.44, -0.03],
    ]
)
# COCO points that are not SMPL joints: (joint they move with, offset from it in metres).
SURFACE_POINTS = {
    "nose": (15, (0.0, 0.02, 0.11)),
    "left_eye": (15, (0.035, 0.05, 0.09)),
    "right_eye": (15, (-0.035, 0.05, 0.09)),
    "left_ear": (15, (0.075, 0.03, 0.0)),
    "right_ear": (15, (-0.075, 0.03, 0.0)),
    "left_big_toe": (10, (0.02, -0.05, 0.10)),
    "left_small_toe": (10, (0.07, -0.05, 0.07)),
    "left_heel": (7, (0.0, -0.08, -0.07)),
    "right_big_toe": (11, (-0.02, -0.05, 0.10)),
    "right_small_toe": (11, (-0.07, -0.05, 0.07)),
    "right_heel": (8, (0.0, -0.08, -0.07)),
}
JOINT_OF_COCO = {
    "left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5, "left_ankle": 7, "right_ankle": 8,
    "left_shoulder": 16, "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19,
    "left_wrist": 20, "right_wrist": 21,
}


def make_tiny_body_model(seed: int = 0, num_betas: int = 10, dtype=torch.float64) -> BodyModel:
    """An SMPL-format body with 3 vertices per joint plus 11 keypoint vertices (83 in all).

    Beta 0 scales the body's height (about 8 cm per unit), the others are small
    random deformations; pose correctives are small and random.
    """
    rng = np.random.default_rng(seed)
    J = len(SMPL_PARENTS)
    offsets = np.array([[0.02, 0.0, 0.0], [-0.01, 0.017, 0.0], [-0.01, -0.017, 0.0]])
    joint_vertices = (REST_JOINTS[:, None, :] + offsets[None]).reshape(-1, 3)
    surface = np.array([REST_JOINTS[j] + np.array(o) for j, o in SURFACE_POINTS.values()])
    v_template = np.concatenate([joint_vertices, surface])
    V = v_template.shape[0]
    weights = np.zeros((V, J))
    weights[np.arange(3 * J), np.repeat(np.arange(J), 3)] = 1.0
    for k, (j, _) in enumerate(SURFACE_POINTS.values()):
        weights[3 * J + k, j] = 1.0
    joint_regressor = np.zeros((J, V))
    joint_regressor[np.repeat(np.arange(J), 3), np.arange(3 * J)] = 1.0 / 3.0
    shapedirs = rng.normal(scale=0.004, size=(V, 3, num_betas))
    shapedirs[:, :, 0] = 0.0
    shapedirs[:, 1, 0] = 0.05 * v_template[:, 1]  # beta 0: height
    posedirs = rng.normal(scale=2e-4, size=(9 * (J - 1), V * 3))

    joint_weights = np.zeros((len(COCO23), J))
    indices = np.zeros((len(COCO23), 1), dtype=np.int64)
    vweights = np.zeros((len(COCO23), 1))
    surface_names = list(SURFACE_POINTS)
    for k, name in enumerate(COCO23):
        if name in JOINT_OF_COCO:
            joint_weights[k, JOINT_OF_COCO[name]] = 1.0
        else:
            indices[k, 0] = 3 * J + surface_names.index(name)
            vweights[k, 0] = 1.0
    coco23 = KeypointRegressor(torch.tensor(joint_weights), torch.tensor(indices), torch.tensor(vweights))
    h36m = KeypointRegressor(torch.zeros(17, J), torch.zeros(17, 0, dtype=torch.long), torch.zeros(17, 0))
    faces = torch.tensor([[0, 1, 2]], dtype=torch.long)
    model = BodyModel(
        name="tiny_test",
        file_hash="0" * 64,
        v_template=torch.tensor(v_template),
        shapedirs=torch.tensor(shapedirs),
        posedirs=torch.tensor(posedirs),
        joint_regressor=torch.tensor(joint_regressor),
        weights=torch.tensor(weights),
        faces=faces,
        parents=torch.tensor(SMPL_PARENTS),
        coco23_regressor=coco23,
        h36m17_regressor=h36m,
        coco23_available=torch.ones(len(COCO23), dtype=torch.bool),
    )
    return model.to(dtype=dtype)


def look_at_camera(name: str, center, target, f: float = 1000.0, size=(1000, 1000)) -> Camera:
    """OpenCV camera at ``center`` looking at ``target`` with world +Z up on the image's up."""
    center, target = np.asarray(center, float), np.asarray(target, float)
    z = target - center
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    K = np.array([[f, 0, size[0] / 2], [0, f, size[1] / 2], [0, 0, 1.0]])
    return Camera(name, K, np.zeros(5), R, -R @ center, size)


def make_rig(dtype=torch.float64) -> CameraRig:
    """Four cameras on a 4 m circle, 1.5 m high, looking at (0, 0, 1)."""
    cams = []
    for i, angle in enumerate(np.deg2rad([20.0, 110.0, 200.0, 290.0])):
        center = (4.0 * np.cos(angle), 4.0 * np.sin(angle), 1.5)
        cams.append(look_at_camera(f"cam{i}", center, (0.0, 0.0, 1.0)))
    return CameraRig.from_cameras(cams, dtype=dtype)


def true_sequence(num_frames: int, seed: int = 0, dtype=torch.float64) -> BodyParams:
    """A smooth walking-in-place-like motion with natural elbow and knee bending."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(num_frames, dtype=dtype) / 60.0
    phase = 2 * torch.pi * 0.8 * t
    pose = torch.zeros(num_frames, 23, 3, dtype=dtype)
    pose += 0.05 * torch.randn(1, 23, 3, generator=g, dtype=dtype)  # a fixed personal posture
    pose[:, 0, 0] = -0.3 * torch.sin(phase)  # left hip flexion (leg forwards)
    pose[:, 1, 0] = 0.3 * torch.sin(phase)
    pose[:, 3, :] = 0.0
    pose[:, 4, :] = 0.0
    pose[:, 3, 0] = 0.4 + 0.3 * torch.sin(phase)  # knees bend positively about x
    pose[:, 4, 0] = 0.4 - 0.3 * torch.sin(phase)
    pose[:, 15, 2] = -1.0 + 0.2 * torch.sin(phase)  # arms lowered
    pose[:, 16, 2] = 1.0 + 0.2 * torch.sin(phase)
    pose[:, 17, :] = 0.0
    pose[:, 18, :] = 0.0
    pose[:, 17, 1] = -0.6 - 0.3 * torch.sin(phase)  # left elbow flexes about -y
    pose[:, 18, 1] = 0.6 - 0.3 * torch.sin(phase)
    # Upright in the +Z-up world, turning slowly, walking along x.
    yaw = 0.3 + 0.5 * t
    c, s = torch.cos(yaw), torch.sin(yaw)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    R = torch.stack([torch.stack([-c, -s, zero], -1), torch.stack([zero, zero, one], -1), torch.stack([-s, c, zero], -1)], -1)
    from mvmocap.geometry.rotations import matrix_to_axis_angle

    transl = torch.stack([0.3 * t - 0.1, 0.1 * torch.sin(phase), 0.95 + 0.01 * torch.sin(2 * phase)], -1)
    betas = torch.zeros(10, dtype=dtype)
    betas[0] = 0.8
    betas[1:4] = torch.tensor([0.5, -0.4, 0.3], dtype=dtype)
    return BodyParams(matrix_to_axis_angle(R), pose, betas, transl, torch.ones(num_frames, dtype=torch.bool))


@dataclass
class Synthetic:
    params: BodyParams
    keypoints3d: torch.Tensor  # (F, 23, 3)
    keypoints_2d: torch.Tensor  # (F, C, 23, 3)
    rig: CameraRig
    model: BodyModel


def render_sequence(model, rig, params, noise_px=1.0, drop=0.1, seed=1) -> Synthetic:
    """Project the true keypoints into the rig, add pixel noise and drop a fraction of them."""
    g = torch.Generator().manual_seed(seed)
    out = model(global_orient=params.global_orient, body_pose=params.body_pose,
                betas=params.betas.expand(params.num_frames, -1), transl=params.transl)
    points = out.coco23
    pixels = rig.project(points)
    pixels = pixels + noise_px * torch.randn(pixels.shape, generator=g, dtype=pixels.dtype)
    conf = 0.6 + 0.4 * torch.rand(pixels.shape[:-1], generator=g, dtype=pixels.dtype)
    conf = torch.where(torch.rand(conf.shape, generator=g, dtype=pixels.dtype) < drop, torch.zeros_like(conf), conf)
    pixels = torch.where(conf.unsqueeze(-1) > 0, pixels, torch.zeros_like(pixels))
    return Synthetic(params, points, torch.cat([pixels, conf.unsqueeze(-1)], -1), rig, model)


@pytest.fixture(scope="session")
def tiny_model() -> BodyModel:
    return make_tiny_body_model()


@pytest.fixture(scope="session")
def rig4() -> CameraRig:
    return make_rig()


@pytest.fixture(scope="session")
def synthetic(tiny_model, rig4) -> Synthetic:
    return render_sequence(tiny_model, rig4, true_sequence(24))
