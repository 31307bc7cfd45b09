"""Synthetic captures for testing calibration: a walking stick figure seen by random cameras.

``make_capture`` builds a moving COCO-23 skeleton of realistic bone lengths
(smooth random joint angles, a random walk on the floor), a random ring of
2-8 cameras looking at it, and the :class:`Detections` those cameras would
give: noisy, partly missing 2D joints, some views with left and right
swapped, gross outliers, and noisy per-view monocular 3D. World frame: +Z up,
floor at z = 0, metres; cameras in the OpenCV convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.calibrate.pinhole import rodrigues
from mvmocap.detect.detections import Detections
from mvmocap.geometry.camera import CameraRig
from mvmocap.keypoints import COCO23, flip_permutation

# The tree: name -> (parent, offset from the parent in the body frame at rest).
# Offsets written with x = the person's left, y = forward, z = up (metres); x is negated
# below so that the body frame is right-handed: x = the person's right.
_TREE: dict[str, tuple[str | None, tuple[float, float, float]]] = {
    "pelvis": (None, (0.0, 0.0, 0.95)),
    "left_hip": ("pelvis", (0.09, 0.0, -0.03)),
    "right_hip": ("pelvis", (-0.09, 0.0, -0.03)),
    "left_knee": ("left_hip", (0.0, 0.0, -0.42)),
    "right_knee": ("right_hip", (0.0, 0.0, -0.42)),
    "left_ankle": ("left_knee", (0.0, 0.0, -0.41)),
    "right_ankle": ("right_knee", (0.0, 0.0, -0.41)),
    "left_heel": ("left_ankle", (0.0, -0.05, -0.06)),
    "right_heel": ("right_ankle", (0.0, -0.05, -0.06)),
    "left_big_toe": ("left_ankle", (-0.02, 0.17, -0.07)),
    "right_big_toe": ("right_ankle", (0.02, 0.17, -0.07)),
    "left_small_toe": ("left_ankle", (0.04, 0.14, -0.07)),
    "right_small_toe": ("right_ankle", (-0.04, 0.14, -0.07)),
    "neck": ("pelvis", (0.0, 0.0, 0.52)),
    "left_shoulder": ("neck", (0.18, 0.0, -0.04)),
    "right_shoulder": ("neck", (-0.18, 0.0, -0.04)),
    "left_elbow": ("left_shoulder", (0.0, 0.0, -0.29)),
    "right_elbow": ("right_shoulder", (0.0, 0.0, -0.29)),
    "left_wrist": ("left_elbow", (0.0, 0.0, -0.25)),
    "right_wrist": ("right_elbow", (0.0, 0.0, -0.25)),
    "head": ("neck", (0.0, 0.0, 0.12)),
    "nose": ("head", (0.0, 0.10, 0.0)),
    "left_eye": ("head", (0.035, 0.08, 0.04)),
    "right_eye": ("head", (-0.035, 0.08, 0.04)),
    "left_ear": ("head", (0.075, 0.0, 0.02)),
    "right_ear": ("head", (-0.075, 0.0, 0.02)),
}
SYNTHETIC_HEIGHT_M = 0.95 + 0.52 + 0.12 + 0.10  # pelvis + spine + neck-to-head + head top
_NODES = tuple(_TREE)
_PARENT = tuple(-1 if _TREE[n][0] is None else _NODES.index(_TREE[n][0]) for n in _NODES)
_OFFSET = np.array([_TREE[n][1] for n in _NODES]) * np.array([-1.0, 1.0, 1.0])
_COCO_INDEX = np.array([_NODES.index(n) for n in COCO23])
# Joints that move, with the amplitude (radians) of their smooth random rotation about x, y, z.
_AMPLITUDE = {
    "pelvis": (0.10, 0.10, 0.0),
    "left_hip": (0.6, 0.15, 0.1),
    "right_hip": (0.6, 0.15, 0.1),
    "left_knee": (0.6, 0.0, 0.0),
    "right_knee": (0.6, 0.0, 0.0),
    "neck": (0.15, 0.1, 0.3),
    "left_shoulder": (0.9, 0.6, 0.3),
    "right_shoulder": (0.9, 0.6, 0.3),
    "left_elbow": (0.8, 0.0, 0.0),
    "right_elbow": (0.8, 0.0, 0.0),
    "head": (0.2, 0.1, 0.4),
}


def _smooth_signal(rng: np.random.Generator, num_frames: int, dims: int, fps: float) -> np.ndarray:
    """A sum of three random sinusoids per dimension in [-1, 1], ``(F, dims)``."""
    t = np.arange(num_frames)[:, None, None] / fps
    freq = rng.uniform(0.2, 1.5, size=(1, dims, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(1, dims, 3))
    return np.sin(2 * np.pi * freq * t + phase).mean(-1) * np.sqrt(3) / 1.5


def make_motion(
    num_frames: int, rng: np.random.Generator, *, fps: float = 30.0, static: bool = False, area_m: float = 1.0
) -> np.ndarray:
    """World joints ``(F, 23, 3)`` metres (COCO-23 order) of a moving person, +Z up, feet near z = 0.

    ``static``: the same pose in every frame.
    """
    local = np.zeros((num_frames, len(_NODES), 3))
    if not static:
        for name, amp in _AMPLITUDE.items():
            local[:, _NODES.index(name)] = _smooth_signal(rng, num_frames, 3, fps) * np.array(amp)
        # knees and elbows only bend one way
        for name in ("left_knee", "right_knee"):
            local[:, _NODES.index(name), 0] = -np.abs(local[:, _NODES.index(name), 0])
        for name in ("left_elbow", "right_elbow"):
            local[:, _NODES.index(name), 0] = np.abs(local[:, _NODES.index(name), 0])
    rot = rodrigues(local)
    yaw = rng.uniform(0, 2 * np.pi) + (0 if static else np.cumsum(rng.normal(0, 0.03, num_frames)))
    root_rot = rodrigues(np.stack([np.zeros(num_frames), np.zeros(num_frames), yaw * np.ones(num_frames)], -1))
    walk = np.zeros((num_frames, 3))
    if not static:
        walk[:, :2] = _smooth_signal(rng, num_frames, 2, fps * 3) * area_m / 2
    global_rot = np.zeros_like(rot)
    positions = np.zeros((num_frames, len(_NODES), 3))
    for i, parent in enumerate(_PARENT):
        if parent < 0:
            global_rot[:, i] = root_rot @ rot[:, i]
            positions[:, i] = walk + _OFFSET[i]
        else:
            global_rot[:, i] = global_rot[:, parent] @ rot[:, i]
            positions[:, i] = positions[:, parent] + np.einsum("fij,j->fi", global_rot[:, parent], _OFFSET[i])
    joints = positions[:, _COCO_INDEX]
    # keep the lowest foot point on the floor, as a person standing or walking does
    feet = joints[:, 15:, 2]
    joints[..., 2] -= feet.min(axis=1, keepdims=True) - 0.03
    return joints


def look_at(center: np.ndarray, target: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """World -> camera rotation ``(3, 3)`` of an upright OpenCV camera at ``center`` looking at ``target``."""
    z = target - center
    z = z / np.linalg.norm(z)
    x = np.cross(z, np.array([0.0, 0.0, 1.0]))
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    c, s = np.cos(roll), np.sin(roll)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ R


def make_rig(
    num_cameras: int,
    rng: np.random.Generator,
    *,
    radius: tuple[float, float] = (3.0, 5.0),
    height: tuple[float, float] = (0.8, 2.5),
    focal: tuple[float, float] = (900.0, 1700.0),
    spread_deg: float = 360.0,
    distortion: bool = False,
    portrait: bool | None = None,
) -> CameraRig:
    """A random ring of cameras around the origin, all looking at the person (float64).

    ``focal`` is the range of focal lengths (pixels; give equal bounds for identical
    cameras), ``portrait`` the image orientation (None: random per camera).
    """
    min_gap = min(spread_deg / num_cameras, 60.0) * 0.6
    while True:
        azimuth = np.sort(rng.uniform(0, np.radians(spread_deg), num_cameras))
        gaps = np.diff(np.concatenate([azimuth, azimuth[:1] + 2 * np.pi]))
        if num_cameras == 1 or gaps[:-1].min() >= np.radians(min_gap):
            break
    Ks, Rs, ts, sizes, dists = [], [], [], [], []
    for a in azimuth:
        r = rng.uniform(*radius)
        center = np.array([r * np.cos(a), r * np.sin(a), rng.uniform(*height)])
        target = np.array([rng.normal(0, 0.2), rng.normal(0, 0.2), rng.uniform(0.8, 1.1)])
        R = look_at(center, target, roll=rng.normal(0, 0.05))
        upright = rng.random() < 0.5 if portrait is None else portrait
        w, h = (1080, 1920) if upright else (1920, 1080)
        f = rng.uniform(*focal)
        K = np.array([[f, 0, w / 2 + rng.normal(0, 5)], [0, f * (1 + rng.normal(0, 1e-3)), h / 2 + rng.normal(0, 5)], [0, 0, 1]])
        Ks.append(K)
        Rs.append(R)
        ts.append(-R @ center)
        sizes.append((w, h))
        dists.append([rng.normal(0, 0.05), rng.normal(0, 0.05), 0, 0, 0] if distortion else [0.0] * 5)
    t64 = lambda x: torch.as_tensor(np.array(x), dtype=torch.float64)  # noqa: E731
    return CameraRig(tuple(f"cam{i + 1:02d}" for i in range(num_cameras)), t64(Ks), t64(dists), t64(Rs), t64(ts), t64(sizes))


@dataclass(frozen=True)
class SyntheticCapture:
    """A synthetic capture: what the detector would see, and the truth behind it.

    Attributes:
        detections: the noisy :class:`Detections` (with ``mono3d``).
        rig: the true cameras.
        joints: ``(F, 23, 3)`` true world joints, metres, +Z up.
        swapped: ``(C, F)`` bool, the views whose left/right labels were swapped.
    """

    detections: Detections
    rig: CameraRig
    joints: np.ndarray
    swapped: np.ndarray


def make_capture(
    num_cameras: int = 4,
    num_frames: int = 100,
    *,
    seed: int = 0,
    noise_px: float = 3.0,
    missing: float = 0.1,
    outliers: float = 0.01,
    swaps: float = 0.03,
    mono3d_noise_m: float = 0.03,
    static: bool = False,
    rig: CameraRig | None = None,
    **rig_options,
) -> SyntheticCapture:
    """Simulate detections of a moving person by a random (or given) rig.

    Args:
        noise_px: standard deviation of the 2D noise, pixels.
        missing: fraction of joints dropped (confidence 0).
        outliers: fraction of joints moved 30-200 px away (confidence kept high).
        swaps: fraction of (camera, frame) views with left/right labels swapped.
        mono3d_noise_m: noise of the monocular 3D joints, metres (plus a
            per-view scale error of a few percent and a small rotation error).
        static: the person does not move.
        rig_options: forwarded to :func:`make_rig`.
    """
    rng = np.random.default_rng(seed)
    joints = make_motion(num_frames, rng, static=static)
    rig = make_rig(num_cameras, rng, **rig_options) if rig is None else rig
    C, F, J = len(rig), num_frames, joints.shape[1]
    pixels = rig.project(torch.as_tensor(joints)).numpy().transpose(1, 0, 2, 3)  # (C, F, J, 2)
    depth = rig.depths(torch.as_tensor(joints)).numpy().transpose(1, 0, 2)  # (C, F, J)
    sizes = rig.sizes.numpy()
    confidence = rng.uniform(0.6, 1.0, size=(C, F, J))
    noisy = pixels + rng.normal(size=pixels.shape) * noise_px * (1.5 - confidence)[..., None]
    wild = rng.random((C, F, J)) < outliers
    noisy[wild] += rng.uniform(30, 200, size=(int(wild.sum()), 1)) * _unit_vectors(rng, int(wild.sum()))
    inside = (noisy[..., 0] >= 0) & (noisy[..., 1] >= 0) & (noisy[..., 0] < sizes[:, None, None, 0]) & (
        noisy[..., 1] < sizes[:, None, None, 1]
    )
    confidence[(rng.random((C, F, J)) < missing) | ~inside | (depth <= 0.1)] = 0.0
    perm = np.array(flip_permutation(COCO23))
    swapped = rng.random((C, F)) < swaps
    keypoints = np.concatenate([noisy, confidence[..., None]], -1)
    keypoints[swapped] = keypoints[swapped][:, perm]
    keypoints[keypoints[..., 2] == 0] = 0.0

    cam = np.einsum("cij,fnj->cfni", rig.R.numpy(), joints) + rig.t.numpy()[:, None, None]
    hips = cam[:, :, 11:13].mean(2, keepdims=True)
    scale = rng.uniform(0.92, 1.08, size=(C, 1, 1, 1))
    tilt = rodrigues(rng.normal(0, 0.03, size=(C, F, 3)))
    mono = np.einsum("cfij,cfnj->cfni", tilt, (cam - hips) * scale) + rng.normal(0, mono3d_noise_m, cam.shape)
    mono[swapped] = mono[swapped][:, perm]
    mono3d = np.concatenate([mono, (keypoints[..., 2:] > 0).astype(float)], -1)
    boxes = np.zeros((C, F, 5))
    boxes[..., 4] = 1.0
    detections = Detections(
        camera_names=rig.names,
        frame_ids=np.arange(F),
        keypoints=keypoints.astype(np.float32),
        boxes=boxes.astype(np.float32),
        image_sizes=sizes.astype(int),
        fps=np.full(C, 30.0),
        detector="synthetic",
        mono3d=mono3d.astype(np.float32),
    )
    return SyntheticCapture(detections=detections, rig=rig, joints=joints, swapped=swapped)


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.stack([np.cos(angle), np.sin(angle)], -1)
