"""The stateless SMPL-format body layer: parameters in, posed vertices, joints and keypoints out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from mvmocap.body.joint_sets import MAX_GATHER, KeypointRegressor
from mvmocap.body.lbs import linear_blend_skinning, rodrigues
from mvmocap.errors import InputError


@dataclass(frozen=True)
class BodyOutput:
    """A posed body; every tensor has the batch shape ``(...)`` of the inputs in front.

    Attributes:
        vertices: ``(..., V, 3)`` metres.
        joints: ``(..., 24, 3)`` SMPL kinematic-tree joints, metres.
        coco23: ``(..., 23, 3)`` COCO-17 + 6 feet (``mvmocap.keypoints.COCO23`` order), metres;
            see ``BodyModel.coco23_available`` for the points the model defines.
        h36m17: ``(..., 17, 3)`` Human3.6M joints (``mvmocap.keypoints.H36M17`` order), metres.
    All in the frame that ``global_orient`` and ``transl`` map the body's rest frame to.
    """

    vertices: Tensor
    joints: Tensor
    coco23: Tensor
    h36m17: Tensor


@dataclass(frozen=True, eq=False)
class BodyModel:
    """An SMPL-format body model (official SMPL or the open Anny-derived models).

    Rest frame: y up, z forward (the subject's front), x the subject's left, metres. Zero pose is
    the T-pose. Build one with :func:`mvmocap.body.load_body_model`; call it with the parameters.

    Attributes:
        name: e.g. ``"open_neutral"`` or ``"SMPL_NEUTRAL"``; file_hash: sha256 of the file read.
        v_template ``(V, 3)``, shapedirs ``(V, 3, S)``, posedirs ``(9 * 23, V * 3)`` or None (no pose
        correctives), joint_regressor ``(24, V)``, weights ``(V, 24)``, faces ``(T, 3)`` long,
        parents ``(24,)`` long with ``parents[0] = -1``, coco23_available ``(23,)`` bool.
    """

    name: str
    file_hash: str
    v_template: Tensor
    shapedirs: Tensor
    posedirs: Tensor | None
    joint_regressor: Tensor
    weights: Tensor
    faces: Tensor
    parents: Tensor
    coco23_regressor: KeypointRegressor
    h36m17_regressor: KeypointRegressor
    coco23_available: Tensor

    def __post_init__(self) -> None:
        # Cached plain-Python tree and dense keypoint weights, for speed.
        object.__setattr__(self, "_parents", tuple(int(p) for p in self.parents.tolist()))
        # Keypoint sets with wide vertex rows (the open models' smooth COCO regressor) are applied
        # together as one dense (K_coco + K_h36m, V) product; narrow ones by gathering vertices.
        wide = max(self.coco23_regressor.vertex_indices.shape[1], self.h36m17_regressor.vertex_indices.shape[1])
        dense = None
        if wide > MAX_GATHER:
            v = self.num_vertices
            dense = torch.cat([r.dense_vertex_weights(v) for r in (self.coco23_regressor, self.h36m17_regressor)])
        object.__setattr__(self, "_keypoint_dense", dense)

    @property
    def num_vertices(self) -> int:
        return self.v_template.shape[0]

    @property
    def num_betas(self) -> int:
        return self.shapedirs.shape[-1]

    @property
    def num_joints(self) -> int:
        return self.parents.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.v_template.dtype

    @property
    def device(self) -> torch.device:
        return self.v_template.device

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> "BodyModel":
        """A copy with floating tensors in ``dtype`` and everything on ``device``."""

        def floats(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(dtype=dtype, device=device)

        return replace(
            self,
            v_template=floats(self.v_template),
            shapedirs=floats(self.shapedirs),
            posedirs=floats(self.posedirs),
            joint_regressor=floats(self.joint_regressor),
            weights=floats(self.weights),
            faces=self.faces.to(device=device),
            parents=self.parents.to(device=device),
            coco23_regressor=self.coco23_regressor.to(dtype=dtype, device=device),
            h36m17_regressor=self.h36m17_regressor.to(dtype=dtype, device=device),
            coco23_available=self.coco23_available.to(device=device),
        )

    def __call__(
        self,
        global_orient: Tensor | None = None,
        body_pose: Tensor | None = None,
        betas: Tensor | None = None,
        transl: Tensor | None = None,
    ) -> BodyOutput:
        """Pose and shape the body.

        Args:
            global_orient: ``(..., 3)`` axis-angle radians, or ``(..., 3, 3)`` rotation matrices
                (a lone ``(3, 3)`` is read as 3 axis-angles unless ``body_pose`` is matrices): the
                rotation of the whole body about the pelvis joint.
            body_pose: ``(..., 23, 3)`` axis-angle, ``(..., 69)`` flattened axis-angle, or
                ``(..., 23, 3, 3)`` matrices: local rotations of joints 1..23.
            betas: ``(..., S)`` shape coefficients, ``S <= num_betas`` (missing ones are zero).
            transl: ``(..., 3)`` metres, added to every output point.
        Any omitted argument is zeros; batch shapes broadcast. Inputs are cast to the model's
        dtype and device.
        Returns:
            :class:`BodyOutput` with the broadcast batch shape ``(...)`` in front.
        """
        body_rot, body_batch, body_is_matrix = self._body_pose(body_pose)
        root_rot, root_batch, root_is_matrix = self._global_orient(global_orient, body_is_matrix)
        betas_t, betas_batch = self._betas(betas)
        transl_t, transl_batch = self._vector("transl", transl, 3)
        try:
            # numpy's rule: torch.broadcast_shapes imports sympy on first use (0.4 s a process)
            batch_shape = torch.Size(np.broadcast_shapes(body_batch, root_batch, betas_batch, transl_batch))
        except ValueError:
            raise InputError(
                "parameter batch shapes do not broadcast: global_orient "
                f"{tuple(root_batch)}, body_pose {tuple(body_batch)}, betas {tuple(betas_batch)}, "
                f"transl {tuple(transl_batch)}"
            ) from None
        n = 1
        for size in batch_shape:
            n *= size

        def flat(t: Tensor, batch: torch.Size, tail: tuple[int, ...]) -> Tensor:
            return t.expand(*batch_shape, *tail).reshape(n, *tail) if batch != batch_shape else t.reshape(n, *tail)

        count = self.num_joints - 1
        if root_is_matrix or body_is_matrix is True:
            root = root_rot if root_is_matrix else rodrigues(root_rot)
            body = body_rot if body_is_matrix else rodrigues(body_rot)
            rotations = torch.cat([flat(root, root_batch, (3, 3))[:, None], flat(body, body_batch, (count, 3, 3))], 1)
        else:  # one conversion for all joints
            rotations = rodrigues(
                torch.cat([flat(root_rot, root_batch, (3,))[:, None], flat(body_rot, body_batch, (count, 3))], 1)
            )
        vertices, posed_joints = linear_blend_skinning(
            rotations,
            flat(betas_t, betas_batch, (self.num_betas,)),
            self.v_template,
            self.shapedirs,
            self.posedirs,
            self.joint_regressor,
            self._parents,
            self.weights,
        )
        if not torch.isfinite(vertices.sum() + posed_joints.sum()):  # one check instead of one per input
            self._raise_non_finite(global_orient=global_orient, body_pose=body_pose, betas=betas, transl=transl)
        coco23, h36m17 = self._keypoints(posed_joints, vertices)
        shift = flat(transl_t, transl_batch, (3,))[:, None]

        def out(t: Tensor) -> Tensor:
            return (t + shift).reshape(*batch_shape, *t.shape[1:])

        return BodyOutput(out(vertices), out(posed_joints), out(coco23), out(h36m17))

    forward = __call__

    def _keypoints(self, joints: Tensor, vertices: Tensor) -> tuple[Tensor, Tensor]:
        """COCO-23 ``(B, 23, 3)`` and H36M-17 ``(B, 17, 3)`` from posed ``joints`` and ``vertices``."""
        coco, h36m = self.coco23_regressor, self.h36m17_regressor
        if self._keypoint_dense is None:
            return coco(joints, vertices), h36m(joints, vertices)
        # k: keypoint, v: vertex, b: batch, c: coordinate
        from_vertices = torch.einsum("kv,bvc->bkc", self._keypoint_dense, vertices)
        count = coco.num_keypoints
        return (coco.joint_weights @ joints + from_vertices[:, :count],
                h36m.joint_weights @ joints + from_vertices[:, count:])

    # ---- input parsing -------------------------------------------------------------------------

    def _tensor(self, name: str, value) -> Tensor:
        return torch.as_tensor(value).to(dtype=self.dtype, device=self.device)

    @staticmethod
    def _raise_non_finite(**parameters) -> None:
        for name, value in parameters.items():
            if value is not None and not torch.isfinite(torch.as_tensor(value)).all():
                raise InputError(f"{name} contains NaN or infinite values")
        raise InputError("the body model gave non-finite values (parameters far too large?)")

    def _body_pose(self, body_pose) -> tuple[Tensor, torch.Size, bool | None]:
        """(axis-angle ``(..., 23, 3)`` or matrices ``(..., 23, 3, 3)``, batch shape, is_matrix);
        is_matrix is None when no body pose is given."""
        count = self.num_joints - 1
        if body_pose is None:
            return self.v_template.new_zeros(count, 3), torch.Size(), None
        t = self._tensor("body_pose", body_pose)
        shape = tuple(t.shape)
        if t.dim() >= 3 and shape[-3:] == (count, 3, 3):
            return t, t.shape[:-3], True
        if t.dim() >= 2 and shape[-2:] == (count, 3):
            return t, t.shape[:-2], False
        if t.dim() >= 1 and shape[-1] == 3 * count:
            t = t.reshape(*shape[:-1], count, 3)
            return t, t.shape[:-2], False
        raise InputError(
            f"body_pose must be (..., {count}, 3) axis-angle, (..., {3 * count}) or (..., {count}, 3, 3) "
            f"rotation matrices; got shape {shape}"
        )

    def _global_orient(self, global_orient, body_is_matrix: bool | None) -> tuple[Tensor, torch.Size, bool]:
        """(axis-angle ``(..., 3)`` or matrix ``(..., 3, 3)``, batch shape, is_matrix)."""
        if global_orient is None:
            return self.v_template.new_zeros(3), torch.Size(), False
        t = self._tensor("global_orient", global_orient)
        shape = tuple(t.shape)
        looks_matrix = t.dim() >= 2 and shape[-2:] == (3, 3)
        # A (..., 3, 3) global_orient follows body_pose's form; alone, (3, 3) is 3 axis-angles.
        if looks_matrix and (body_is_matrix if body_is_matrix is not None else t.dim() >= 3):
            return t, t.shape[:-2], True
        if t.dim() >= 1 and shape[-1] == 3:
            return t, t.shape[:-1], False
        raise InputError(f"global_orient must be (..., 3) axis-angle or (..., 3, 3) matrices; got shape {shape}")

    def _betas(self, betas) -> tuple[Tensor, torch.Size]:
        if betas is None:
            return self.v_template.new_zeros(self.num_betas), torch.Size()
        t = self._tensor("betas", betas)
        if t.dim() == 0 or t.shape[-1] > self.num_betas:
            raise InputError(
                f"betas must be (..., S) with S <= {self.num_betas} for model {self.name}; got shape {tuple(t.shape)}"
            )
        if t.shape[-1] < self.num_betas:
            t = torch.nn.functional.pad(t, (0, self.num_betas - t.shape[-1]))
        return t, t.shape[:-1]

    def _vector(self, name: str, value, size: int) -> tuple[Tensor, torch.Size]:
        if value is None:
            return self.v_template.new_zeros(size), torch.Size()
        t = self._tensor(name, value)
        if t.dim() == 0 or t.shape[-1] != size:
            raise InputError(f"{name} must be (..., {size}); got shape {tuple(t.shape)}")
        return t, t.shape[:-1]
