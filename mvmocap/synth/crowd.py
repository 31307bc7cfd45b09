"""Synthetic multi-person scenes for association and tracking: walking skeletons seen by a ring of cameras.

Cheap by design (no mesh, no rendering): each person is a procedural COCO-23 skeleton of its
own height, walking along a straight line through the middle of the capture area (so people
cross), projected into C calibrated cameras with BlazePose-like detection noise:

* Gaussian pixel noise of ``noise`` x the person's box height per joint, confidence ~ U(0.6, 1);
* ``outliers`` of the joints moved by up to 15 % of the box height, with confidence ~ U(0.3, 0.6);
* occlusion: in each view, a joint of a person that falls inside the box of a nearer person is
  lost (confidence 0) with probability 0.7; a person who loses more than 60 % of the joints
  is not detected in that view at all;
* joints outside the image are lost; people outside the capture area (``present = False``,
  for re-entry scenes) are not detected.

Slots are shuffled per camera and frame, as a detector returns people in no particular order.
World frame: +Z up, metres, floor at z = 0; cameras are OpenCV (``x_cam = R x_world + t``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.synth.rig_sampler import look_at

# Standing COCO-23 skeleton of a 1.70 m person: x right, y forward, z up, metres, feet on the floor.
STANDING_170 = np.array([
    [0.00, 0.08, 1.60], [0.03, 0.07, 1.64], [-0.03, 0.07, 1.64], [0.07, 0.00, 1.62], [-0.07, 0.00, 1.62],
    [0.18, 0.00, 1.42], [-0.18, 0.00, 1.42], [0.21, 0.00, 1.14], [-0.21, 0.00, 1.14], [0.22, 0.02, 0.88],
    [-0.22, 0.02, 0.88], [0.10, 0.00, 0.92], [-0.10, 0.00, 0.92], [0.10, 0.02, 0.50], [-0.10, 0.02, 0.50],
    [0.10, 0.00, 0.08], [-0.10, 0.00, 0.08], [0.11, 0.15, 0.01], [0.06, 0.14, 0.01], [0.10, -0.05, 0.01],
    [-0.11, 0.15, 0.01], [-0.06, 0.14, 0.01], [-0.10, -0.05, 0.01],
])
LEG_CHAINS = ((11, 13, (15, 17, 18, 19)), (12, 14, (16, 20, 21, 22)))  # hip, knee, ankle + foot points
ARM_CHAINS = ((5, 7, (9,)), (6, 8, (10,)))


@dataclass(frozen=True)
class CrowdScene:
    """A synthetic scene of N people over F frames in C cameras (P detection slots).

    Attributes:
        rig: the C cameras.
        joints: ``(N, F, 23, 3)`` true world joints, m.
        present: ``(N, F)`` bool, the person is in the capture area.
        keypoints: ``(C, F, P, 23, 3)`` noisy detections (pixels + confidence), slots shuffled.
        boxes: ``(C, F, P, 5)`` their boxes (score 0 = empty slot).
        truth: ``(C, F, P)`` int, the person in each slot (-1 = empty).
        fps: frames per second.
    """

    rig: CameraRig
    joints: np.ndarray
    present: np.ndarray
    keypoints: np.ndarray
    boxes: np.ndarray
    truth: np.ndarray
    fps: float

    def alone(self, person: int) -> np.ndarray:
        """``(C, F, 23, 3)`` the person's own detections (same noise and occlusion), by the true labels."""
        out = np.zeros(self.keypoints.shape[:2] + self.keypoints.shape[3:])
        c, f, p = np.nonzero(self.truth == person)
        out[c, f] = self.keypoints[c, f, p]
        return out


def ring_rig(num_cameras: int, radius: float = 6.0, height: float = 2.5, size=(1920, 1080),
             focal: float = 1100.0) -> CameraRig:
    """``num_cameras`` cameras evenly on a circle around the origin, looking at (0, 0, 1) m."""
    Ks, Rs, ts = [], [], []
    for i in range(num_cameras):
        angle = 2 * math.pi * i / num_cameras + 0.3
        center = torch.tensor([radius * math.cos(angle), radius * math.sin(angle), height], dtype=torch.float64)
        R, t = look_at(center, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
        Ks.append(torch.tensor([[focal, 0, size[0] / 2], [0, focal, size[1] / 2], [0, 0, 1]], dtype=torch.float64))
        Rs.append(R)
        ts.append(t)
    C = num_cameras
    return CameraRig(tuple(f"cam{i + 1}" for i in range(C)), torch.stack(Ks), torch.zeros(C, 5, dtype=torch.float64),
                     torch.stack(Rs), torch.stack(ts), torch.tensor([list(size)] * C, dtype=torch.float64))


def walking_skeleton(height: float, heading: float, position: np.ndarray, phase: float) -> np.ndarray:
    """``(23, 3)`` world joints of a walker of ``height`` m facing ``heading`` rad, pelvis above ``position (2,)``."""
    body = STANDING_170 * (height / 1.70)
    swing = 0.35 * math.sin(phase)
    for side, (hip, knee, rest) in enumerate(LEG_CHAINS):
        angle = swing if side == 0 else -swing
        body = _swing(body, hip, (knee,) + rest, angle)
        if (side == 0) == (math.sin(phase) < 0):  # the back leg bends at the knee
            body = _swing(body, knee, rest, -0.4 * abs(math.sin(phase)))
    for side, (shoulder, elbow, rest) in enumerate(ARM_CHAINS):
        body = _swing(body, shoulder, (elbow,) + rest, -0.6 * (swing if side == 0 else -swing))
    c, s = math.cos(heading), math.sin(heading)
    yaw = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])  # body y (forward) -> heading direction
    world = body @ yaw.T
    world[:, :2] += position
    return world


def _swing(points: np.ndarray, pivot: int, moving: tuple[int, ...], angle: float) -> np.ndarray:
    """Rotate ``moving`` points about the body x axis through ``pivot`` (forward swing for angle > 0)."""
    c, s = math.cos(angle), math.sin(angle)
    out = points.copy()
    idx = list(moving)
    rel = points[idx] - points[pivot]  # a hanging limb (rel z < 0) swings forward (+y) for angle > 0
    out[idx, 1] = points[pivot, 1] + c * rel[:, 1] - s * rel[:, 2]
    out[idx, 2] = points[pivot, 2] + s * rel[:, 1] + c * rel[:, 2]
    return out


def crossing_walks(num_people: int, num_frames: int, rng: np.random.Generator, *, fps: float = 30.0,
                   radius: float = 2.2, speed: float = 1.2, min_separation: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``(N, F, 23, 3)`` joints of people walking across the area near its middle, and their heights ``(N,)``.

    Paths cross; speeds vary by +-40 % around ``speed``; a draw in which two pelvises come closer
    than ``min_separation`` m (people do not walk through each other) is redrawn.
    """
    heights = rng.uniform(1.55, 1.90, num_people)
    for _ in range(3000):
        tracks = []
        for n in range(num_people):
            angle = 2 * math.pi * n / num_people + rng.uniform(-0.3, 0.3)
            start = radius * np.array([math.cos(angle), math.sin(angle)])
            direction = -start / np.linalg.norm(start)
            start = start + rng.uniform(-0.6, 0.6) * np.array([-direction[1], direction[0]])
            pace = speed * rng.uniform(0.6, 1.4)
            tracks.append(start + direction * pace * np.arange(num_frames)[:, None] / fps)
        paths = np.stack(tracks)  # (N, F, 2)
        gaps = np.linalg.norm(paths[:, None] - paths[None], axis=-1) + np.eye(num_people)[..., None] * 1e9
        if gaps.min() >= min_separation:
            break
    else:
        raise InputError(f"no crossing walks of {num_people} people {min_separation} m apart found")
    joints = np.zeros((num_people, num_frames, 23, 3))
    for n in range(num_people):
        step = paths[n, -1] - paths[n, 0]
        heading = math.atan2(step[1], step[0]) - math.pi / 2
        phase0 = rng.uniform(0, 2 * math.pi)
        for f in range(num_frames):
            joints[n, f] = walking_skeleton(heights[n], heading, paths[n, f], phase0 + 2 * math.pi * 0.9 * f / fps)
    return joints, heights


def observe(rig: CameraRig, joints: np.ndarray, present: np.ndarray, rng: np.random.Generator, *,
            noise: float = 0.01, outliers: float = 0.03, slots: int | None = None, fps: float = 30.0) -> CrowdScene:
    """Detections of ``joints (N, F, 23, 3)`` in ``rig`` (see the module docstring)."""
    N, F = joints.shape[:2]
    C = len(rig)
    P = slots or N + 1
    pixels = rig.project(torch.from_numpy(joints)).numpy()  # (N, F, C, 23, 2)
    depth = rig.depths(torch.from_numpy(joints)).numpy().mean(-1)  # (N, F, C)
    width, height = rig.sizes[0].numpy()
    keypoints = np.zeros((C, F, P, 23, 3))
    boxes = np.zeros((C, F, P, 5))
    truth = np.full((C, F, P), -1, np.int64)
    for c in range(C):
        for f in range(F):
            people = _detect_view(pixels[:, f, c], depth[:, f, c], present[:, f], (width, height), rng, noise, outliers)
            order = rng.permutation(P)
            for (n, kp), slot in zip(people, order):
                keypoints[c, f, slot] = kp
                ok = kp[:, 2] > 0
                lo, hi = kp[ok, :2].min(0), kp[ok, :2].max(0)
                boxes[c, f, slot] = [*lo, *hi, kp[ok, 2].mean()]
                truth[c, f, slot] = n
    return CrowdScene(rig, joints, present, keypoints, boxes, truth, fps)


def _detect_view(pixels: np.ndarray, depth: np.ndarray, present: np.ndarray, size, rng, noise: float,
                 outliers: float) -> list[tuple[int, np.ndarray]]:
    """Detections ``[(person, (23, 3))]`` of one view: pixels ``(N, 23, 2)``, mean depths ``(N,)``."""
    width, height = size
    boxes = np.concatenate([pixels.min(1), pixels.max(1)], axis=1)  # (N, 4)
    out = []
    for n in np.flatnonzero(present & (depth > 0.5)):
        box_h = boxes[n, 3] - boxes[n, 1]
        kp = np.zeros((23, 3))
        kp[:, :2] = pixels[n] + rng.normal(0, noise * box_h, (23, 2))
        kp[:, 2] = rng.uniform(0.6, 1.0, 23)
        wild = rng.random(23) < outliers
        kp[wild, :2] += rng.uniform(-0.15, 0.15, (int(wild.sum()), 2)) * box_h
        kp[wild, 2] = rng.uniform(0.3, 0.6, int(wild.sum()))
        hidden = np.zeros(23, bool)
        for m in np.flatnonzero(present & (depth > 0.5) & (depth < depth[n])):
            x0, y0, x1, y1 = boxes[m]
            pad_x, pad_y = 0.1 * (x1 - x0), 0.05 * (y1 - y0)
            inside = (pixels[n, :, 0] > x0 + pad_x) & (pixels[n, :, 0] < x1 - pad_x) & \
                     (pixels[n, :, 1] > y0 + pad_y) & (pixels[n, :, 1] < y1 - pad_y)
            hidden |= inside & (rng.random(23) < 0.7)
        outside = (pixels[n, :, 0] < 0) | (pixels[n, :, 0] > width - 1) | (pixels[n, :, 1] < 0) | \
                  (pixels[n, :, 1] > height - 1)
        lost = hidden | outside
        if lost.mean() > 0.6:
            continue
        kp[lost] = 0
        out.append((int(n), kp))
    return out
