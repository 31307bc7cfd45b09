"""DensePose-style body parts (24) and per-part (U, V) charts for any SMPL-topology-free body mesh.

Derived from the body model itself, so it works for official SMPL, the open
Anny-derived models and the toy body alike:

1. Each vertex gets the SMPL joint that skins it most (argmax of the skinning
   weights when the model exposes them as ``lbs_weights``/``weights``; else the
   nearest bone segment of the rest pose).
2. Joints map to the 14 DensePose segments (table ``JOINT_SEGMENT``), and the
   segments that DensePose splits are cut in two halves: front/back along the
   subject's front direction for torso and limbs, right/left for the head.
3. In every part, V is the position along the bone axis (0 at the proximal end
   of that part's vertices, 1 at the distal end) and U the angle around the
   axis, spread over [0, 1] across the half (or across the full turn for the
   hands and feet, which DensePose does not split).

Part indices (0 = background), as DensePose:
1 torso back, 2 torso front, 3 right hand, 4 left hand, 5 left foot, 6 right foot,
7 right upper leg back, 8 left upper leg back, 9 right upper leg front, 10 left upper leg front,
11 right lower leg back, 12 left lower leg back, 13 right lower leg front, 14 left lower leg front,
15 left upper arm front, 16 right upper arm front, 17 left upper arm back, 18 right upper arm back,
19 left lower arm front, 20 right lower arm front, 21 left lower arm back, 22 right lower arm back,
23 head right, 24 head left.
(DensePose names the pairs without saying which member is front or back; the
front/back choice above is this module's, stated here once.)

Rest frame: SMPL's (y up, z = subject's front, x = subject's left), metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

NUM_PARTS = 24

PART_NAMES = (
    "torso_back", "torso_front", "right_hand", "left_hand", "left_foot", "right_foot",
    "right_upper_leg_back", "left_upper_leg_back", "right_upper_leg_front", "left_upper_leg_front",
    "right_lower_leg_back", "left_lower_leg_back", "right_lower_leg_front", "left_lower_leg_front",
    "left_upper_arm_front", "right_upper_arm_front", "left_upper_arm_back", "right_upper_arm_back",
    "left_lower_arm_front", "right_lower_arm_front", "left_lower_arm_back", "right_lower_arm_back",
    "head_right", "head_left",
)

# segment name: (axis start joint, axis end joint, (part if the first half, part if the second) or (part,), split)
# split: "front" = halves by the subject's front (z), "left" = halves by the subject's left (x), None = whole.
SEGMENTS = {
    "torso": (0, 12, (2, 1), "front"),
    "head": (12, 15, (24, 23), "left"),
    "left_upper_leg": (1, 4, (10, 8), "front"),
    "right_upper_leg": (2, 5, (9, 7), "front"),
    "left_lower_leg": (4, 7, (14, 12), "front"),
    "right_lower_leg": (5, 8, (13, 11), "front"),
    "left_foot": (7, 10, (5,), None),
    "right_foot": (8, 11, (6,), None),
    "left_upper_arm": (16, 18, (15, 17), "front"),
    "right_upper_arm": (17, 19, (16, 18), "front"),
    "left_lower_arm": (18, 20, (19, 21), "front"),
    "right_lower_arm": (19, 21, (20, 22), "front"),
    "left_hand": (20, 22, (4,), None),
    "right_hand": (21, 23, (3,), None),
}

# SMPL joint -> segment (pelvis, spine and collars are torso; neck and head are head).
JOINT_SEGMENT = (
    "torso", "left_upper_leg", "right_upper_leg", "torso", "left_lower_leg", "right_lower_leg",
    "torso", "left_foot", "right_foot", "torso", "left_foot", "right_foot",
    "head", "torso", "torso", "head", "left_upper_arm", "right_upper_arm",
    "left_lower_arm", "right_lower_arm", "left_hand", "right_hand", "left_hand", "right_hand",
)


@dataclass(frozen=True)
class PartUV:
    """Per-vertex and per-face DensePose labels of one body mesh.

    Attributes:
        vertex_parts: ``(V,)`` long in 1..24.
        vertex_uv: ``(V, 2)`` float (U, V) in [0, 1] in the chart of the vertex's part.
        face_parts: ``(T,)`` long in 1..24 (the majority part of the face's corners).
    """

    vertex_parts: Tensor
    vertex_uv: Tensor
    face_parts: Tensor

    def to(self, device) -> "PartUV":
        return PartUV(self.vertex_parts.to(device), self.vertex_uv.to(device), self.face_parts.to(device))


def nearest_bone_joint(vertices: Tensor, joints: Tensor, parents: Tensor) -> Tensor:
    """Index of the joint whose bone (joint -> its first child) is nearest each vertex.

    ``vertices (V, 3)``, ``joints (24, 3)``, ``parents (24,)`` -> ``(V,)`` long.
    Leaf joints use a zero-length bone (the joint itself).
    """
    J = joints.shape[0]
    child = torch.arange(J)
    for j in range(J - 1, 0, -1):  # the first child of each parent
        child[parents[j]] = j
    a, b = joints, joints[child]
    ab = b - a
    ap = vertices[:, None, :] - a[None]  # (V, J, 3)
    s = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)).clamp(0, 1)
    dist = (ap - s[..., None] * ab).norm(dim=-1)
    return dist.argmin(-1)


def _axis_frame(direction: Tensor, split: str | None) -> tuple[Tensor, Tensor]:
    """Unit axis and a reference direction e1 orthogonal to it (front z, or left x for the head)."""
    d = direction / direction.norm().clamp(min=1e-9)
    ref = torch.tensor([1.0, 0.0, 0.0] if split == "left" else [0.0, 0.0, 1.0], dtype=d.dtype)
    if abs(float(ref @ d)) > 0.9:  # axis almost along the reference (feet): use up instead
        ref = torch.tensor([0.0, 1.0, 0.0], dtype=d.dtype)
    e1 = ref - (ref @ d) * d
    return d, e1 / e1.norm()


def compute_part_uv(rest_vertices: Tensor, rest_joints: Tensor, faces: Tensor, vertex_joint: Tensor) -> PartUV:
    """Labels and charts from a rest (T-pose) mesh.

    Args:
        rest_vertices: ``(V, 3)`` metres, SMPL rest frame (y up, z front, x left).
        rest_joints: ``(24, 3)`` SMPL joints in the same frame.
        faces: ``(T, 3)`` long.
        vertex_joint: ``(V,)`` long, the SMPL joint that skins each vertex most.
    """
    v = rest_vertices.detach().to(torch.float64).cpu()
    jts = rest_joints.detach().to(torch.float64).cpu()
    vertex_joint = vertex_joint.cpu()
    V = v.shape[0]
    parts = torch.zeros(V, dtype=torch.long)
    uv = torch.zeros(V, 2, dtype=torch.float64)
    segment_of_vertex = [JOINT_SEGMENT[int(j)] for j in vertex_joint]
    for name, (j0, j1, labels, split) in SEGMENTS.items():
        idx = torch.tensor([i for i, s in enumerate(segment_of_vertex) if s == name], dtype=torch.long)
        if idx.numel() == 0:
            continue
        d, e1 = _axis_frame(jts[j1] - jts[j0], split)
        e2 = torch.linalg.cross(d, e1)
        off = v[idx] - jts[j0]
        along = off @ d
        radial = off - along[:, None] * d
        x1, x2 = radial @ e1, radial @ e2
        span = (along.max() - along.min()).clamp(min=1e-9)
        uv[idx, 1] = (along - along.min()) / span
        if split is None:
            parts[idx] = labels[0]
            uv[idx, 0] = (torch.atan2(x2, x1) + math.pi) / (2 * math.pi)
        else:
            first = x1 >= 0
            parts[idx] = torch.where(first, labels[0], labels[1])
            phi = torch.atan2(x2, x1.abs())  # in [-pi/2, pi/2] on both halves
            uv[idx, 0] = (phi + math.pi / 2) / math.pi
    parts[parts == 0] = 1  # vertices skinned by no listed joint (none for SMPL) go to the torso
    corner = parts[faces.cpu()]  # (T, 3)
    face_parts = torch.where(corner[:, 1] == corner[:, 2], corner[:, 1], corner[:, 0])
    return PartUV(parts, uv.clamp(0, 1).to(torch.float32), face_parts)


def skinning_weights(model) -> Tensor | None:
    """The model's ``(V, 24)`` skinning weights if it exposes them (``lbs_weights`` or ``weights``), else None."""
    for attr in ("lbs_weights", "weights", "skinning_weights"):
        w = getattr(model, attr, None)
        if isinstance(w, Tensor) and w.dim() == 2 and w.shape[1] >= 24:
            return w
    return None


def body_part_uv(model) -> PartUV:
    """:class:`PartUV` of a body model (API of :mod:`mvmocap.body`), computed in its rest T-pose."""
    with torch.no_grad():
        out = model(betas=torch.zeros(1, 10, dtype=torch.float32))
    verts = out.vertices.reshape(-1, out.vertices.shape[-1] if out.vertices.dim() == 2 else 3)[: model.num_vertices]
    joints = out.joints.reshape(-1, 3)[:24]
    w = skinning_weights(model)
    if w is not None:
        vertex_joint = w[: model.num_vertices, :24].argmax(-1)
    else:
        vertex_joint = nearest_bone_joint(verts.double(), joints.double(), model.parents)
    return compute_part_uv(verts, joints, model.faces, vertex_joint)
