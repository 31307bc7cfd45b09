"""A tiny procedural SMPL-format body ("capsule person") for tests and smoke runs.

NOT a real body model: 24 SMPL joints at hand-placed T-pose positions, one
closed cylinder per bone (plus a torso, head and feet), rigidly skinned with
short linear blends at the joints, two shape directions (height, girth). It
follows the body-model API of :mod:`mvmocap.body` (``vertices``, ``joints``,
``coco23``, ``faces``, ``parents``, ``lbs_weights``...) so the synthetic engine,
its tests and the training loop run without any body-model file, and it can
be written as an SMPL-layout ``.npz`` (:func:`write_smpl_npz`) to exercise
real loaders.

Rest frame as SMPL: y up, z = the subject's front, x = the subject's left;
pelvis joint at the origin; metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mvmocap.geometry.rotations import axis_angle_to_matrix

SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

# T-pose joint positions (x left, y up, z front), metres, roughly an average adult.
REST_JOINTS = (
    (0.00, 0.00, 0.00), (0.07, -0.09, 0.00), (-0.07, -0.09, 0.00), (0.00, 0.11, -0.02),
    (0.10, -0.47, 0.00), (-0.10, -0.47, 0.00), (0.00, 0.24, 0.00), (0.09, -0.87, -0.04),
    (-0.09, -0.87, -0.04), (0.00, 0.30, 0.02), (0.11, -0.93, 0.08), (-0.11, -0.93, 0.08),
    (0.00, 0.51, -0.01), (0.08, 0.42, 0.00), (-0.08, 0.42, 0.00), (0.00, 0.58, 0.03),
    (0.18, 0.45, -0.01), (-0.18, 0.45, -0.01), (0.44, 0.43, -0.03), (-0.44, 0.43, -0.03),
    (0.69, 0.44, -0.03), (-0.69, 0.44, -0.03), (0.77, 0.43, -0.04), (-0.77, 0.43, -0.04),
)

# COCO-23 keypoints as (joint they ride on, rest position).
COCO23_REST = (
    (15, (0.00, 0.62, 0.12)), (15, (0.035, 0.66, 0.10)), (15, (-0.035, 0.66, 0.10)),
    (15, (0.08, 0.63, 0.03)), (15, (-0.08, 0.63, 0.03)),
    (16, (0.18, 0.45, -0.01)), (17, (-0.18, 0.45, -0.01)), (18, (0.44, 0.43, -0.03)),
    (19, (-0.44, 0.43, -0.03)), (20, (0.69, 0.44, -0.03)), (21, (-0.69, 0.44, -0.03)),
    (1, (0.09, -0.10, 0.00)), (2, (-0.09, -0.10, 0.00)), (4, (0.10, -0.47, 0.00)),
    (5, (-0.10, -0.47, 0.00)), (7, (0.09, -0.87, -0.04)), (8, (-0.09, -0.87, -0.04)),
    (10, (0.12, -0.96, 0.16)), (10, (0.16, -0.96, 0.13)), (7, (0.09, -0.96, -0.08)),
    (11, (-0.12, -0.96, 0.16)), (11, (-0.16, -0.96, 0.13)), (8, (-0.09, -0.96, -0.08)),
)

# (joint, end point, radius) of each capsule; the segment is skinned to ``joint``.
SEGMENTS = (
    (0, (0.0, 0.14, -0.01), 0.15), (3, (0.0, 0.27, 0.0), 0.15), (6, (0.0, 0.32, 0.01), 0.15),
    (9, (0.0, 0.46, 0.0), 0.15), (12, (0.0, 0.58, 0.0), 0.06), (15, (0.0, 0.74, 0.03), 0.10),
    (1, (0.10, -0.47, 0.0), 0.085), (2, (-0.10, -0.47, 0.0), 0.085),
    (4, (0.09, -0.87, -0.04), 0.06), (5, (-0.09, -0.87, -0.04), 0.06),
    (7, (0.11, -0.93, 0.10), 0.045), (8, (-0.11, -0.93, 0.10), 0.045),
    (10, (0.12, -0.94, 0.17), 0.04), (11, (-0.12, -0.94, 0.17), 0.04),
    (13, (0.18, 0.45, -0.01), 0.06), (14, (-0.18, 0.45, -0.01), 0.06),
    (16, (0.44, 0.43, -0.03), 0.055), (17, (-0.44, 0.43, -0.03), 0.055),
    (18, (0.69, 0.44, -0.03), 0.045), (19, (-0.69, 0.44, -0.03), 0.045),
    (20, (0.77, 0.43, -0.04), 0.04), (21, (-0.77, 0.43, -0.04), 0.04),
    (22, (0.84, 0.43, -0.04), 0.03), (23, (-0.84, 0.43, -0.04), 0.03),
)


def _cylinder(a: np.ndarray, b: np.ndarray, radius: float, rings: int, sides: int):
    """Closed cylinder from ``a`` to ``b``: vertices (rings*sides + 2, 3), faces, and the axial position in [0, 1]."""
    axis = b - a
    length = np.linalg.norm(axis)
    d = axis / length
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(d, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(d, e1)
    s = np.linspace(0.0, 1.0, rings)
    phi = np.linspace(0.0, 2 * math.pi, sides, endpoint=False)
    ring = np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2  # (sides, 3)
    # Slightly rounded ends so that neighbouring capsules overlap smoothly.
    r = radius * np.sqrt(np.clip(1 - (2 * s - 1) ** 8, 0.15, 1))
    verts = a + s[:, None, None] * axis + r[:, None, None] * ring  # (rings, sides, 3)
    verts = np.concatenate([verts.reshape(-1, 3), a[None], b[None]])
    faces = []
    for i in range(rings - 1):
        for j in range(sides):
            p, q = i * sides + j, i * sides + (j + 1) % sides
            faces += [(p, q, p + sides), (q, q + sides, p + sides)]
    bottom, top = rings * sides, rings * sides + 1
    for j in range(sides):
        faces.append((bottom, j, (j + 1) % sides))
        last = (rings - 1) * sides
        faces.append((top, last + (j + 1) % sides, last + j))
    along = np.concatenate([np.repeat(s, sides), [0.0, 1.0]])
    return verts, np.asarray(faces, dtype=np.int64), along


def build_toy_arrays(rings: int = 8, sides: int = 12, num_betas: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """The toy body in SMPL's ``.npz`` layout (float64, faces int64).

    Keys: ``v_template (V, 3)``, ``f (T, 3)``, ``weights (V, 24)``,
    ``J_regressor (24, V)``, ``kintree_table (2, 24)``, ``shapedirs (V, 3, B)``,
    ``posedirs (V, 3, 207)`` (zeros), plus ``coco23_vertex_ids (23,)``.
    The last 24 + 23 vertices are unreferenced joint and keypoint anchors.
    """
    joints = np.asarray(REST_JOINTS)
    parents = np.asarray(SMPL_PARENTS)
    verts, faces, weights = [], [], []
    offset = 0
    for joint, end, radius in SEGMENTS:
        v, f, along = _cylinder(joints[joint], np.asarray(end), radius, rings, sides)
        w = np.zeros((len(v), 24))
        w[:, joint] = 1.0
        # Blend the first fifth of each segment with the parent joint's transform.
        parent = parents[joint]
        if parent >= 0:
            blend = np.clip(0.5 - along / 0.4, 0.0, 0.5)
            w[:, joint] -= blend
            w[:, parent] += blend
        verts.append(v)
        faces.append(f + offset)
        weights.append(w)
        offset += len(v)
    anchors = np.concatenate([joints, np.asarray([p for _, p in COCO23_REST])])
    anchor_w = np.zeros((len(anchors), 24))
    anchor_w[np.arange(24), np.arange(24)] = 1.0
    anchor_w[24 + np.arange(23), [j for j, _ in COCO23_REST]] = 1.0
    v_template = np.concatenate(verts + [anchors])
    V = len(v_template)
    first_anchor = V - len(anchors)
    J_regressor = np.zeros((24, V))
    J_regressor[np.arange(24), first_anchor + np.arange(24)] = 1.0
    rng = np.random.default_rng(seed)
    shapedirs = np.zeros((V, 3, num_betas))
    shapedirs[:, :, 0] = 0.04 * v_template  # taller / shorter about the pelvis
    shapedirs[:, [0, 2], 1] = 0.03 * v_template[:, [0, 2]]  # wider / slimmer
    shapedirs[:, :, 2:] = 0.002 * rng.standard_normal((V, 3, num_betas - 2))
    return {
        "v_template": v_template,
        "f": np.concatenate(faces),
        "weights": np.concatenate(weights + [anchor_w]),
        "J_regressor": J_regressor,
        "kintree_table": np.stack([np.where(parents < 0, 4294967295, parents), np.arange(24)]).astype(np.int64),
        "shapedirs": shapedirs,
        "posedirs": np.zeros((V, 3, 207)),
        "coco23_vertex_ids": first_anchor + 24 + np.arange(23),
    }


def write_smpl_npz(path: str | Path, **kwargs) -> Path:
    """Write the toy body as an SMPL-layout ``.npz`` (see :func:`build_toy_arrays`)."""
    path = Path(path)
    np.savez(path, **build_toy_arrays(**kwargs))
    return path


@dataclass
class ToyBodyOutput:
    """Same fields as ``mvmocap.body.BodyOutput``: ``vertices (B, V, 3)``, ``joints (B, 24, 3)``, ``coco23 (B, 23, 3)``."""

    vertices: Tensor
    joints: Tensor
    coco23: Tensor


def rigid_transforms(rotations: Tensor, joints: Tensor, parents: Tensor) -> tuple[Tensor, Tensor]:
    """Forward kinematics.

    Args:
        rotations: ``(B, J, 3, 3)`` local joint rotations (joint 0 = global orientation).
        joints: ``(B, J, 3)`` rest joint positions, metres.
        parents: ``(J,)`` long, ``parents[0] = -1``, parents before children.

    Returns:
        ``posed_joints (B, J, 3)`` and ``A (B, J, 3, 4)``: the transforms that
        map rest-pose points skinned to each joint to the posed body.
    """
    rel = joints.clone()
    rel[:, 1:] = joints[:, 1:] - joints[:, parents[1:]]
    world_R = [rotations[:, 0]]
    world_t = [rel[:, 0]]
    for j in range(1, joints.shape[1]):
        p = int(parents[j])
        world_R.append(world_R[p] @ rotations[:, j])
        world_t.append(world_t[p] + (world_R[p] @ rel[:, j, :, None])[..., 0])
    Rw = torch.stack(world_R, dim=1)  # (B, J, 3, 3)
    tw = torch.stack(world_t, dim=1)  # (B, J, 3)
    t_skin = tw - (Rw @ joints[..., None])[..., 0]
    return tw, torch.cat([Rw, t_skin[..., None]], dim=-1)


class ToyBodyModel(torch.nn.Module):
    """Linear-blend-skinned toy body with the call signature of ``mvmocap.body.BodyModel``.

    ``model(global_orient=(B, 3) | (B, 3, 3), body_pose=(B, 23, 3) | (B, 23, 3, 3),
    betas=(B, <=10), transl=(B, 3))`` -> :class:`ToyBodyOutput`; omitted = zeros.
    """

    name = "toy_capsule"

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        arrays = build_toy_arrays() if arrays is None else arrays
        as_t = lambda key: torch.as_tensor(np.asarray(arrays[key]), dtype=dtype)  # noqa: E731
        self.register_buffer("v_template", as_t("v_template"))
        self.register_buffer("shapedirs", as_t("shapedirs"))
        self.register_buffer("lbs_weights", as_t("weights"))
        self.register_buffer("J_regressor", as_t("J_regressor"))
        self.register_buffer("faces", torch.as_tensor(np.asarray(arrays["f"]), dtype=torch.long))
        self.register_buffer("parents", torch.as_tensor(SMPL_PARENTS, dtype=torch.long))
        self.register_buffer("coco23_ids", torch.as_tensor(np.asarray(arrays["coco23_vertex_ids"]), dtype=torch.long))
        self.coco23_available = torch.ones(23, dtype=torch.bool)
        # Vertices that belong to the surface (the anchors are not drawn).
        self.num_vertices = int(self.faces.max()) + 1
        self.num_betas = self.shapedirs.shape[-1]
        self.file_hash = "toy"

    def to(self, *args, **kwargs):  # noqa: D102 - returns a new module as BodyModel.to does
        import copy

        return super(ToyBodyModel, copy.deepcopy(self)).to(*args, **kwargs)

    @staticmethod
    def _leading_shape(global_orient, body_pose, betas, transl) -> tuple[int, ...]:
        if body_pose is not None:
            return tuple(body_pose.shape[:-3] if body_pose.shape[-3:] == (23, 3, 3) else body_pose.shape[:-2])
        if global_orient is not None:
            is_matrix = global_orient.dim() >= 2 and global_orient.shape[-2:] == (3, 3)
            return tuple(global_orient.shape[:-2] if is_matrix else global_orient.shape[:-1])
        for x in (betas, transl):
            if x is not None:
                return tuple(x.shape[:-1])
        return (1,)

    def forward(self, global_orient=None, body_pose=None, betas=None, transl=None) -> ToyBodyOutput:
        lead = self._leading_shape(global_orient, body_pose, betas, transl)
        B = int(np.prod(lead)) if len(lead) else 1
        dt, dev = self.v_template.dtype, self.v_template.device

        def rotmats(x, n):
            if x is None:
                return torch.eye(3, dtype=dt, device=dev).expand(B, n, 3, 3)
            x = x.to(dt)
            if x.numel() == B * n * 9:
                return x.reshape(B, n, 3, 3)
            return axis_angle_to_matrix(x.reshape(B, n, 3))

        rot = torch.cat([rotmats(global_orient, 1), rotmats(body_pose, 23)], dim=1)
        b = torch.zeros(B, self.num_betas, dtype=dt, device=dev)
        if betas is not None:
            betas = betas.reshape(B, -1).to(dt)
            b[:, : betas.shape[1]] = betas[:, : self.num_betas]
        shaped = self.v_template + torch.einsum("vck,bk->bvc", self.shapedirs, b)  # (B, V, 3)
        rest_joints = torch.einsum("jv,bvc->bjc", self.J_regressor, shaped)
        joints, A = rigid_transforms(rot, rest_joints, self.parents)
        T = torch.einsum("vj,bjrc->bvrc", self.lbs_weights, A)  # (B, V, 3, 4)
        verts = (T[..., :3] @ shaped[..., None])[..., 0] + T[..., 3]
        if transl is not None:
            shift = transl.reshape(B, 1, 3).to(dt)
            verts, joints = verts + shift, joints + shift
        coco23 = verts[:, self.coco23_ids]
        verts = verts[:, : self.num_vertices]
        shape = tuple(lead)
        return ToyBodyOutput(
            vertices=verts.reshape(shape + verts.shape[1:]),
            joints=joints.reshape(shape + joints.shape[1:]),
            coco23=coco23.reshape(shape + coco23.shape[1:]),
        )
