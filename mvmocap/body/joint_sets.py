"""Named keypoint sets (COCO-23, H36M-17) regressed from a body's posed joints and vertices.

A keypoint set is two fixed linear maps summed: ``joint_weights (K, J)`` over the posed SMPL
joints and ``vertex_weights (K, V)`` over the posed vertices (stored sparse, see
:class:`KeypointRegressor`). This covers both the official SMPL definitions (joints plus picked
vertices) and the open models' smooth surface regressors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mvmocap.keypoints import COCO23, H36M17

SMPL_JOINTS = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

# COCO limb points that are SMPL joints.
COCO_FROM_SMPL_JOINTS = {
    "left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5, "left_ankle": 7, "right_ankle": 8,
    "left_shoulder": 16, "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19,
    "left_wrist": 20, "right_wrist": 21,
}
# Face and foot vertices of the official SMPL mesh (6890 vertices; shared with SMPL-H).
SMPL_KEYPOINT_VERTICES = {
    "nose": 332, "right_eye": 6260, "left_eye": 2800, "right_ear": 4071, "left_ear": 583,
    "left_big_toe": 3216, "left_small_toe": 3226, "left_heel": 3387,
    "right_big_toe": 6617, "right_small_toe": 6624, "right_heel": 6787,
}

# Widest vertex rows applied by gathering vertices; wider ones go through a dense product.
MAX_GATHER = 64


@dataclass(frozen=True)
class KeypointRegressor:
    """``keypoints = joint_weights @ joints + vertex_weights @ vertices``, vertex part sparse.

    Attributes:
        joint_weights: ``(K, J)``.
        vertex_indices, vertex_weights: ``(K, S)``: each keypoint's ``S`` (padded with weight 0)
            vertex indices and weights.
    """

    joint_weights: Tensor
    vertex_indices: Tensor
    vertex_weights: Tensor

    @property
    def num_keypoints(self) -> int:
        return self.joint_weights.shape[0]

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> "KeypointRegressor":
        return KeypointRegressor(
            self.joint_weights.to(dtype=dtype, device=device),
            self.vertex_indices.to(device=device),
            self.vertex_weights.to(dtype=dtype, device=device),
        )

    def dense_vertex_weights(self, num_vertices: int) -> Tensor:
        """``(K, V)`` dense vertex weights."""
        dense = self.vertex_weights.new_zeros(self.num_keypoints, num_vertices)
        return dense.scatter_add_(1, self.vertex_indices, self.vertex_weights)

    def __call__(self, joints: Tensor, vertices: Tensor) -> Tensor:
        """Keypoints ``(B, K, 3)`` from posed ``joints (B, J, 3)`` and ``vertices (B, V, 3)``, by
        gathering each keypoint's vertices (for narrow rows; see ``MAX_GATHER``)."""
        out = self.joint_weights @ joints  # (K, J) @ (B, J, 3)
        if self.vertex_indices.shape[1] == 0:
            return out
        picked = vertices[:, self.vertex_indices]  # (B, K, S, 3)
        return out + (picked * self.vertex_weights[..., None]).sum(2)


def sparse_rows(dense: np.ndarray, tolerance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``(K, V)`` -> padded ``(K, S)`` indices (int64) and weights keeping ``|w| > tolerance``."""
    keep = np.abs(dense) > tolerance
    width = max(int(keep.sum(1).max()), 0) if dense.size else 0
    indices = np.zeros((dense.shape[0], width), dtype=np.int64)
    weights = np.zeros((dense.shape[0], width), dtype=dense.dtype)
    for k in range(dense.shape[0]):
        cols = np.flatnonzero(keep[k])
        indices[k, : len(cols)] = cols
        weights[k, : len(cols)] = dense[k, cols]
    return indices, weights


def smpl_coco23(num_joints: int = 24) -> KeypointRegressor:
    """COCO-23 of the official SMPL mesh: limb points from joints, face and feet from vertices."""
    joint_weights = np.zeros((len(COCO23), num_joints))
    indices = np.zeros((len(COCO23), 1), dtype=np.int64)
    weights = np.zeros((len(COCO23), 1))
    for k, name in enumerate(COCO23):
        if name in COCO_FROM_SMPL_JOINTS:
            joint_weights[k, COCO_FROM_SMPL_JOINTS[name]] = 1.0
        else:
            indices[k, 0] = SMPL_KEYPOINT_VERTICES[name]
            weights[k, 0] = 1.0
    return _regressor(joint_weights, indices, weights)


def h36m17_from(coco23: KeypointRegressor, head_top_vertex: int, num_joints: int = 24) -> KeypointRegressor:
    """H36M-17 from the SMPL joints, the COCO nose and a head-top vertex.

    Pelvis, hips, knees, ankles, shoulders, elbows, wrists: SMPL joints; thorax: the neck joint
    (base of the neck); spine: midway between pelvis and thorax; neck/nose: the COCO nose;
    head top: the given vertex.
    """
    by_name = {
        "pelvis": 0, "right_hip": 2, "right_knee": 5, "right_ankle": 8, "left_hip": 1, "left_knee": 4,
        "left_ankle": 7, "thorax": 12, "left_shoulder": 16, "left_elbow": 18, "left_wrist": 20,
        "right_shoulder": 17, "right_elbow": 19, "right_wrist": 21,
    }
    nose = COCO23.index("nose")
    nose_indices = coco23.vertex_indices[nose].cpu().numpy()
    nose_weights = coco23.vertex_weights[nose].cpu().numpy().astype(np.float64)
    width = max(len(nose_indices), 1)
    joint_weights = np.zeros((len(H36M17), num_joints))
    indices = np.zeros((len(H36M17), width), dtype=np.int64)
    weights = np.zeros((len(H36M17), width))
    for k, name in enumerate(H36M17):
        if name in by_name:
            joint_weights[k, by_name[name]] = 1.0
        elif name == "spine":
            joint_weights[k, 0] = joint_weights[k, 12] = 0.5
        elif name == "neck_nose":
            joint_weights[k] = coco23.joint_weights[nose].cpu().numpy()
            indices[k, : len(nose_indices)] = nose_indices
            weights[k, : len(nose_indices)] = nose_weights
        elif name == "head_top":
            indices[k, 0] = head_top_vertex
            weights[k, 0] = 1.0
        else:  # pragma: no cover - guards a change of H36M17
            raise AssertionError(f"no definition for H36M point {name!r}")
    return _regressor(joint_weights, indices, weights)


def _regressor(joint_weights: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> KeypointRegressor:
    return KeypointRegressor(
        torch.as_tensor(joint_weights, dtype=torch.float64),
        torch.as_tensor(indices, dtype=torch.long),
        torch.as_tensor(weights, dtype=torch.float64),
    )

