"""Linear blend skinning of SMPL-format bodies: pure, batched, differentiable tensor functions.

Notation (one body; a leading batch dimension ``B`` everywhere):

* ``V`` vertices, ``J`` joints of a kinematic tree given by ``parents`` (``parents[0] = -1``,
  every parent listed before its children), ``S`` shape coefficients (betas).
* Rest frame of the body file, metres; rotations act on column vectors (``y = R @ x``).
* Joint rotations are *local*: joint ``j`` turns its subtree about its own rest location,
  in axes that are the rest frame's axes turned by its ancestors (SMPL's convention).
"""

from __future__ import annotations

import torch
from torch import Tensor


def rodrigues(axis_angle: Tensor) -> Tensor:
    """Axis-angle ``(..., 3)`` radians -> rotation matrix ``(..., 3, 3)``, Rodrigues' formula.

    ``R = I + a K + b K^2`` with ``K`` the cross-product matrix, ``a = sin(t) / t`` and
    ``b = (1 - cos(t)) / t^2``, Taylor series below 1e-3 rad so that gradients stay finite at 0.
    Fewer operations than ``mvmocap.geometry.rotations.axis_angle_to_matrix`` (same result), which
    matters for the layer's speed at batch 1.
    """
    sq = (axis_angle * axis_angle).sum(-1)[..., None, None]
    small = sq < 1e-6
    sq_safe = torch.where(small, torch.ones_like(sq), sq)
    angle = torch.sqrt(sq_safe)
    a = torch.where(small, 1.0 - sq / 6.0, torch.sin(angle) / angle)
    b = torch.where(small, 0.5 - sq / 24.0, (1.0 - torch.cos(angle)) / sq_safe)
    x, y, z = axis_angle.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).view(*axis_angle.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a * k + b * (k @ k)


def shape_vertices(v_template: Tensor, shapedirs: Tensor, betas: Tensor) -> Tensor:
    """Rest vertices of a shape: ``v_template + shapedirs @ betas``.

    Args:
        v_template: ``(V, 3)`` metres.
        shapedirs: ``(V, 3, S)`` metres per unit beta.
        betas: ``(B, S)``.
    Returns:
        ``(B, V, 3)`` metres, rest pose.
    """
    # (B, S) @ (S, V * 3) on a transposed view: no copy of the shape directions.
    offsets = betas @ shapedirs.reshape(-1, shapedirs.shape[-1]).T
    return v_template + offsets.view(betas.shape[0], -1, 3)


def regress_joints(regressor: Tensor, vertices: Tensor) -> Tensor:
    """Joints as fixed linear combinations of vertices.

    Args:
        regressor: ``(J, V)``, rows summing to 1 for translation equivariance.
        vertices: ``(B, V, 3)``.
    Returns:
        ``(B, J, 3)``.
    """
    # b: batch, j: joint, v: vertex, c: coordinate
    return torch.einsum("jv,bvc->bjc", regressor, vertices)


def pose_corrective_offsets(rotations: Tensor, posedirs: Tensor) -> Tensor:
    """Pose-dependent vertex offsets ``posedirs @ vec(R_j - I)`` over the non-root joints.

    Args:
        rotations: ``(B, J, 3, 3)`` local joint rotations (the root's is ignored).
        posedirs: ``(9 (J - 1), V * 3)`` metres (SMPL's own layout of the file, transposed as smplx
            and the official files store it as ``(V, 3, 9 (J - 1))``; see ``loading``).
    Returns:
        ``(B, V, 3)`` metres.
    """
    eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
    features = (rotations[:, 1:] - eye).flatten(1)
    return (features @ posedirs).view(rotations.shape[0], -1, 3)


def forward_kinematics(rotations: Tensor, joints: Tensor, parents: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Posed joints and the rigid transforms that carry rest points to posed points.

    Args:
        rotations: ``(B, J, 3, 3)`` local joint rotations; joint 0 is the global orientation.
        joints: ``(B, J, 3)`` rest joint locations, metres.
        parents: length ``J``, ``parents[0] = -1``, each parent index smaller than its child's.
    Returns:
        posed_joints: ``(B, J, 3)`` metres.
        transforms: ``(B, J, 3, 4)``: ``[R | t]`` such that a rest point ``x`` rigidly attached to
            joint ``j`` goes to ``R @ x + t``.
    """
    batch, count = rotations.shape[:2]
    offsets = torch.cat([joints[:, :1], joints[:, 1:] - joints[:, list(parents[1:])]], dim=1)
    bottom = rotations.new_tensor([0.0, 0.0, 0.0, 1.0]).expand(batch, count, 1, 4)
    # Joint j relative to its parent: turn by R_j about the joint, which sits at offset_j.
    local = torch.cat([torch.cat([rotations, offsets[..., None]], dim=-1), bottom], dim=-2)
    chain = [local[:, 0]]
    for j in range(1, count):
        chain.append(chain[parents[j]] @ local[:, j])
    world = torch.stack(chain, dim=1)
    world_r, posed = world[..., :3, :3], world[..., :3, 3]
    # x -> G_j (x - joint_j) + posed_j
    translation = posed - (world_r @ joints[..., None])[..., 0]
    return posed, torch.cat([world_r, translation[..., None]], dim=-1)


def skin_vertices(vertices: Tensor, weights: Tensor, transforms: Tensor) -> Tensor:
    """Linear blend skinning: each vertex moves by its weighted mean of joint transforms.

    Args:
        vertices: ``(B, V, 3)`` rest vertices (shaped, with pose correctives).
        weights: ``(V, J)`` skinning weights, rows summing to 1.
        transforms: ``(B, J, 3, 4)`` from :func:`forward_kinematics`.
    Returns:
        ``(B, V, 3)`` posed vertices.
    """
    batch, num_joints = transforms.shape[:2]
    # One GEMM (V, J) @ (J, B * 12) blends a 3x4 transform per vertex and body, vertex-major,
    # without expanding the weights over the batch.
    per_joint = transforms.reshape(batch, num_joints, 12).transpose(0, 1).reshape(num_joints, batch * 12)
    blended = (weights @ per_joint).view(-1, batch, 3, 4)
    # v: vertex, b: batch, i: output coordinate, k: input coordinate
    posed = torch.einsum("vbik,vbk->vbi", blended[..., :3], vertices.transpose(0, 1)) + blended[..., 3]
    return posed.transpose(0, 1)


def linear_blend_skinning(
    rotations: Tensor,
    betas: Tensor,
    v_template: Tensor,
    shapedirs: Tensor,
    posedirs: Tensor | None,
    joint_regressor: Tensor,
    parents: tuple[int, ...],
    weights: Tensor,
) -> tuple[Tensor, Tensor]:
    """The SMPL forward function: shape, pose correctives, kinematics, skinning.

    Args:
        rotations: ``(B, J, 3, 3)`` local joint rotations, joint 0 the global orientation.
        betas: ``(B, S)``.
        v_template: ``(V, 3)``; shapedirs: ``(V, 3, S)``; posedirs: ``(9 (J - 1), V * 3)`` or None
            (no pose correctives); joint_regressor: ``(J, V)``; weights: ``(V, J)``.
        parents: length ``J`` kinematic tree.
    Returns:
        vertices ``(B, V, 3)`` and joints ``(B, J, 3)``, posed, metres, before any translation.
    """
    rest = shape_vertices(v_template, shapedirs, betas)
    joints = regress_joints(joint_regressor, rest)
    if posedirs is not None:
        rest = rest + pose_corrective_offsets(rotations, posedirs)
    posed_joints, transforms = forward_kinematics(rotations, joints, parents)
    return skin_vertices(rest, weights, transforms), posed_joints
