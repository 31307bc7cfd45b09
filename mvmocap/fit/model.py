"""``KeypointModel``: the body model seen by the fitter, parameters -> COCO-23 points.

The fitter only needs the 23 keypoints, never the mesh, so evaluating the full
model at every optimiser step would waste most of the time. For an SMPL-format
:class:`mvmocap.body.BodyModel` the adapter collapses the skinning of the
vertices the COCO-23 regressor reads into per-(keypoint, joint) sums (exactly
the same linear blend skinning, see :class:`ReducedSkinning`); any other
object following the body-model API (``model(global_orient=, body_pose=,
betas=, transl=)`` returning ``.coco23``) is called whole, once per evaluation
for a whole batch of frames.
"""

from __future__ import annotations

import torch
from torch import Tensor

import functools

from mvmocap.errors import InputError
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.keypoints import COCO23

_SMPL_FORMAT = ("v_template", "shapedirs", "posedirs", "joint_regressor", "weights", "parents", "coco23_regressor")


class LevelKinematics:
    """Forward kinematics one tree level at a time (all joints of a depth in one product).

    Same result as :func:`mvmocap.body.lbs.forward_kinematics` with one
    product per level (9 for SMPL's 24 joints) instead of one per joint: the
    fitter's batches are small, so the number of operations sets the cost.
    """

    def __init__(self, parents: tuple[int, ...]):
        depth = [0] * len(parents)
        for j in range(1, len(parents)):
            depth[j] = depth[parents[j]] + 1
        self.levels = [[j for j in range(len(parents)) if depth[j] == d] for d in range(max(depth) + 1)]
        self.parent_slot = []  # for each level > 0: position of each joint's parent in the level above
        for d in range(1, len(self.levels)):
            above = {j: i for i, j in enumerate(self.levels[d - 1])}
            self.parent_slot.append([above[parents[j]] for j in self.levels[d]])
        order = [j for level in self.levels for j in level]
        self.inverse = [order.index(j) for j in range(len(parents))]
        self.parents = parents

    def __call__(self, rotations: Tensor, joints: Tensor) -> tuple[Tensor, Tensor]:
        """``rotations (B, J, 3, 3)`` local, ``joints (B, J, 3)`` rest -> posed joints ``(B, J, 3)``
        and transforms ``(B, J, 3, 4)`` (rest point of joint j's part -> posed point)."""
        parents = list(self.parents[1:])
        offsets = torch.cat([joints[:, :1], joints[:, 1:] - joints[:, parents]], dim=1)
        world_r = [rotations[:, self.levels[0]]]
        posed = [joints[:, self.levels[0]]]
        for level, slots in zip(self.levels[1:], self.parent_slot):
            parent_r = world_r[-1][:, slots]
            world_r.append(parent_r @ rotations[:, level])
            posed.append(posed[-1][:, slots] + (parent_r @ offsets[:, level, :, None])[..., 0])
        world_r = torch.cat(world_r, dim=1)[:, self.inverse]
        posed = torch.cat(posed, dim=1)[:, self.inverse]
        translation = posed - (world_r @ joints[..., None])[..., 0]
        return posed, torch.cat([world_r, translation[..., None]], dim=-1)


class ReducedSkinning:
    """COCO-23 keypoints of an SMPL-format body without skinning the mesh.

    Equal (to rounding) to ``body_model(...).coco23``. A keypoint's vertex part
    is ``sum_v w_kv sum_j W_vj (R_j x_v + t_j)`` with ``x_v`` linear in the betas
    and the pose features; swapping the sums, everything that does not depend on
    the joint transforms ``[R_j | t_j]`` collapses once into per-(keypoint, joint)
    tensors, so each evaluation costs ``K x J`` instead of ``V x J``:

    * ``mass[k, j] = sum_v w_kv W_vj``
    * ``moment[k, j] = sum_v w_kv W_vj x_v`` = template + shape + pose-corrective parts.
    """

    def __init__(self, body_model):
        m = body_model
        reg = m.coco23_regressor
        idx, w = reg.vertex_indices, reg.vertex_weights  # (K, S) vertex slots
        skin = m.weights[idx] * w.unsqueeze(-1)  # (K, S, J): w_kv W_vj
        # k: keypoint, s: vertex slot, j: joint, c: coordinate, b: beta, p: pose feature
        self.mass = skin.sum(1)  # (K, J)
        self.moment_template = torch.einsum("ksj,ksc->kjc", skin, m.v_template[idx])
        self.moment_shape = torch.einsum("ksj,kscb->kjcb", skin, m.shapedirs[idx])
        self.moment_pose = None
        if m.posedirs is not None:
            nv = m.v_template.shape[0]
            posedirs = m.posedirs.view(-1, nv, 3).permute(1, 2, 0)  # (V, 3, P)
            self.moment_pose = torch.einsum("ksj,kscp->kjcp", skin, posedirs[idx])
        self.keypoint_joint_weights = reg.joint_weights
        # j: joint, v: vertex
        self.joints_template = m.joint_regressor @ m.v_template
        self.joints_shapedirs = torch.einsum("jv,vcb->jcb", m.joint_regressor, m.shapedirs)
        self.parents = tuple(int(p) for p in m.parents.tolist())
        self.kinematics = LevelKinematics(self.parents)
        if any(p >= j for j, p in enumerate(self.parents) if j):
            raise InputError("the body model's joints must be ordered parents first")
        subtree = torch.eye(len(self.parents), dtype=self.mass.dtype, device=self.mass.device)
        for j in range(len(self.parents) - 1, 0, -1):  # children have larger indices in SMPL's tree
            subtree[self.parents[j]] += subtree[j]
        self.subtree = subtree  # (J, J): 1 where column joint j is row joint i or below it
        self.num_betas = m.shapedirs.shape[-1]

    def __call__(self, global_orient: Tensor, body_pose: Tensor, betas: Tensor, transl: Tensor) -> Tensor:
        """``global_orient (B, 3, 3)`` or ``(B, 3)``, ``body_pose (B, 23, 3)``, ``betas (B, S)``, ``transl (B, 3)`` -> ``(B, 23, 3)``."""
        return self._posed(global_orient, body_pose, betas)["points"] + transl.unsqueeze(1)

    def _posed(self, global_orient: Tensor, body_pose: Tensor, betas: Tensor) -> dict[str, Tensor]:
        """The keypoints before translation ``points (B, K, 3)`` and the intermediates the
        Jacobian needs: local ``rotations (B, 24, 3, 3)``, world ``world_r (B, 24, 3, 3)``,
        ``posed_joints (B, 24, 3)``, ``t (B, 24, 3)`` and ``moment (B, K, 24, 3)``."""
        B = body_pose.shape[0]
        root = global_orient if global_orient.dim() == 3 else axis_angle_to_matrix(global_orient)
        rotations = torch.cat([root.unsqueeze(1), axis_angle_to_matrix(body_pose)], dim=1)  # (B, 24, 3, 3)
        if betas.shape[-1] < self.num_betas:
            betas = torch.nn.functional.pad(betas, (0, self.num_betas - betas.shape[-1]))
        # n: batch, j: joint, k: keypoint, c/d: coordinates, b: beta, p: pose feature
        joints = self.joints_template + torch.einsum("nb,jcb->njc", betas, self.joints_shapedirs)
        posed_joints, transforms = self.kinematics(rotations, joints.expand(B, -1, -1))
        moment = self.moment_template + torch.einsum("nb,kjcb->nkjc", betas, self.moment_shape)
        if self.moment_pose is not None:
            eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
            features = (rotations[:, 1:] - eye).flatten(1)  # (B, P), SMPL's pose-corrective features
            moment = moment + torch.einsum("np,kjcp->nkjc", features, self.moment_pose)
        R, t = transforms[..., :3], transforms[..., 3]
        points = torch.einsum("njcd,nkjd->nkc", R, moment) + torch.einsum("kj,njc->nkc", self.mass, t)
        points = points + torch.einsum("kj,njc->nkc", self.keypoint_joint_weights, posed_joints)
        return {"points": points, "rotations": rotations, "world_r": R, "posed_joints": posed_joints, "t": t,
                "moment": moment}

    def jacobian(self, rotation: Tensor, root_delta: Tensor, body_pose: Tensor, betas: Tensor,
                 transl: Tensor) -> tuple[Tensor, Tensor]:
        """Keypoints and their Jacobian with respect to the per-frame pose parameters, in closed form.

        The root's world rotation is ``rotation (B, 3, 3) = R_start @ exp(root_delta)``
        (``root_delta (B, 3)`` the fitter's correction); ``body_pose (B, 23, 3)`` axis-angle,
        ``betas (B, S)``, ``transl (B, 3)`` metres.

        Returns ``points (B, K, 3)`` metres and ``jacobian (B, K, 3, 75)``, the columns in the
        order ``root_delta (3), body_pose (69), transl (3)``. A change of joint i's parameters
        turns everything below it in the tree about its posed position by the angular velocity
        ``world_r_i @ right_jacobian(phi_i) @ d``; a keypoint moves by that velocity crossed with
        its lever, the (skinning-weighted) part of the keypoint carried by the subtree minus the
        joint's position times that part's weight.
        """
        from mvmocap.geometry.so3 import hat, right_jacobian

        posed = self._posed(rotation, body_pose, betas)
        R, P = posed["world_r"], posed["posed_joints"]
        # n: batch, i: joint turned, j: joint carrying the part, k: keypoint, c/d/e: coordinates
        carried = (torch.einsum("njcd,nkjd->nkjc", R, posed["moment"]) + self.mass[..., None] * posed["t"][:, None]
                   + self.keypoint_joint_weights[..., None] * P[:, None])
        weight = torch.einsum("ij,kj->ki", self.subtree, self.mass + self.keypoint_joint_weights)
        lever = torch.einsum("ij,nkjc->nkic", self.subtree, carried) - weight[..., None] * P[:, None]
        phi = torch.cat([root_delta.unsqueeze(1), body_pose], dim=1)  # (B, 24, 3)
        velocity = R @ right_jacobian(phi)  # (B, 24, 3, 3): parameter change -> world angular velocity
        turned = -hat(lever) @ velocity.unsqueeze(1)  # (B, K, 24, 3, 3)
        if self.moment_pose is not None:
            turned = turned + self._corrective_jacobian(posed, phi)
        B, K = turned.shape[:2]
        rot = turned.permute(0, 1, 3, 2, 4).reshape(B, K, 3, 72)
        shift = torch.eye(3, dtype=rot.dtype, device=rot.device).expand(B, K, 3, 3)
        return posed["points"] + transl.unsqueeze(1), torch.cat([rot, shift], dim=-1)

    def _corrective_jacobian(self, posed: dict[str, Tensor], phi: Tensor) -> Tensor:
        """``(B, K, 24, 3, 3)``: how the pose-corrective offsets move the keypoints when a body
        joint's parameters change (the root's column block is zero: its rotation has no feature).
        ``d R_local = R_local @ hat(right_jacobian(phi) @ d)``."""
        from mvmocap.geometry.so3 import hat, right_jacobian

        local = posed["rotations"][:, 1:]  # (B, 23, 3, 3)
        axes = right_jacobian(phi[:, 1:]).transpose(-1, -2)  # (B, 23, 3, 3): row a = column a of J_r
        d_local = (local.unsqueeze(2) @ hat(axes)).flatten(-2)  # (B, 23, a, 9)
        K, J = self.moment_pose.shape[:2]
        blocks = self.moment_pose.reshape(K, J, 3, 23, 9)
        # n: batch, j: joint, k: keypoint, c/d: coordinates, m: body joint, a: parameter, q: feature
        rotated = torch.einsum("njcd,kjdmq->nkcmq", posed["world_r"], blocks)
        d_points = torch.einsum("nkcmq,nmaq->nkmca", rotated, d_local)  # (B, K, 23, 3, 3)
        return torch.cat([torch.zeros_like(d_points[:, :, :1]), d_points], dim=2)


class KeypointModel:
    """Batched ``(rotations, betas, transl) -> (B, 23, 3)`` COCO-23 world points.

    Attributes:
        body_model: the wrapped body model (moved to ``dtype``/``device``).
        available: ``(23,)`` bool, the keypoints the model defines.
        num_betas: number of shape coefficients the model uses.
    """

    def __init__(self, body_model, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        if not callable(body_model):
            raise InputError(f"body_model must be a body model (callable), got {type(body_model).__name__}")
        self.body_model = _converted(body_model, dtype, str(device))
        available = getattr(body_model, "coco23_available", None)
        if available is None:
            available = torch.ones(len(COCO23), dtype=torch.bool)
        self.available = torch.as_tensor(available, dtype=torch.bool, device=device)
        self.num_betas = int(getattr(body_model, "num_betas", 10))
        self.dtype = dtype
        self.device = torch.device(device)
        self.reduced = None
        if all(hasattr(self.body_model, name) for name in _SMPL_FORMAT):
            self.reduced = _reduced(self.body_model)

    def __call__(self, global_orient: Tensor, body_pose: Tensor, betas: Tensor, transl: Tensor) -> Tensor:
        """COCO-23 points ``(B, 23, 3)`` metres, world.

        Args:
            global_orient: ``(B, 3)`` axis-angle or ``(B, 3, 3)`` matrices, rest frame -> world.
            body_pose: ``(B, 23, 3)`` axis-angle.
            betas: ``(B, nb)`` or ``(nb,)`` (shared by every frame).
            transl: ``(B, 3)`` metres.
        """
        B = body_pose.shape[0]
        if betas.dim() == 1:
            betas = betas.unsqueeze(0).expand(B, -1)
        if self.reduced is not None:
            return self.reduced(global_orient, body_pose, betas, transl)
        if global_orient.dim() == 3:  # the body-model API takes axis-angle
            global_orient = matrix_to_axis_angle(global_orient)
        out = self.body_model(global_orient=global_orient, body_pose=body_pose, betas=betas, transl=transl)
        return out.coco23

    def jacobian(self, rotation: Tensor, root_delta: Tensor, body_pose: Tensor, betas: Tensor,
                 transl: Tensor) -> tuple[Tensor, Tensor]:
        """COCO-23 points ``(B, 23, 3)`` and their Jacobian ``(B, 23, 3, 75)`` with respect to
        ``root_delta (3), body_pose (69), transl (3)`` of each frame, where the root's world
        rotation is ``rotation (B, 3, 3) = R_start @ exp(root_delta (B, 3))`` (see
        :meth:`ReducedSkinning.jacobian`; other body models: forward-mode autodiff, 75 passes)."""
        B = body_pose.shape[0]
        if betas.dim() == 1:
            betas = betas.unsqueeze(0).expand(B, -1)
        if self.reduced is not None:
            return self.reduced.jacobian(rotation, root_delta, body_pose, betas, transl)
        start = rotation @ axis_angle_to_matrix(root_delta).transpose(-1, -2)
        x = torch.cat([root_delta, body_pose.flatten(1), transl], dim=1)

        def points(x: Tensor) -> Tensor:
            R = start @ axis_angle_to_matrix(x[:, :3])
            return self(R, x[:, 3:72].reshape(B, 23, 3), betas, x[:, 72:])

        return _forward_jacobian(points, x)

    def shape_jacobian(self, rotation: Tensor, body_pose: Tensor, betas: Tensor, transl: Tensor) -> Tensor:
        """``(B, 23, 3, S)``: the COCO-23 points' derivative with respect to the shared ``betas (S,)``
        (``rotation (B, 3, 3)``, ``body_pose (B, 23, 3)``, ``transl (B, 3)``).

        For an SMPL-format body the points are affine in the betas at a fixed pose (shape blend
        shapes, a joint regressor and forward kinematics all linear in them; the pose correctives do
        not depend on them), so the columns are differences of one batched evaluation at
        ``betas + e_s``; other body models: forward-mode autodiff, one pass per beta."""
        B, S = body_pose.shape[0], betas.shape[-1]
        if self.reduced is None:
            return _forward_jacobian(lambda b: self(rotation, body_pose, b, transl), betas)[1]
        shifted = betas + torch.eye(S, dtype=betas.dtype, device=betas.device)  # (S, S): row s = betas + e_s
        all_betas = torch.cat([betas[None], shifted]).repeat_interleave(B, dim=0)  # ((S + 1) B, S)
        # without the translation (it does not change the derivative): smaller numbers, less rounding
        points = self.reduced(rotation.repeat(S + 1, 1, 1), body_pose.repeat(S + 1, 1, 1), all_betas,
                              torch.zeros_like(transl).repeat(S + 1, 1)).reshape(S + 1, B, -1, 3)
        return (points[1:] - points[:1]).permute(1, 2, 3, 0)

    def forward_full(self, global_orient: Tensor | None, body_pose: Tensor, betas: Tensor, transl: Tensor | None):
        """The body model's full output (vertices, joints, coco23) for ``B`` frames (None = zeros)."""
        B = body_pose.shape[0]
        if betas.dim() == 1:
            betas = betas.unsqueeze(0).expand(B, -1)
        return self.body_model(global_orient=global_orient, body_pose=body_pose, betas=betas, transl=transl)


def _forward_jacobian(function, x: Tensor) -> Tensor:
    """Value and Jacobian ``(*out, N)`` of ``function`` at ``x (..., N)`` with respect to its last dim, one
    forward-mode pass per column (torch.autograd.forward_ad: torch.func would import torch._dynamo,
    0.7 s a process). For a batch ``x (B, N)`` whose rows act independently, column ``i`` of every
    row comes from the same pass."""
    import torch.autograd.forward_ad as fwAD

    value = None
    columns = []
    with fwAD.dual_level():
        for i in range(x.shape[-1]):
            tangent = torch.zeros_like(x)
            tangent[..., i] = 1
            value, column = fwAD.unpack_dual(function(fwAD.make_dual(x, tangent)))
            columns.append(column)
    return value, torch.stack(columns, dim=-1)


def _cached(function):
    """Memoise on the body model's identity (models are immutable); plain call if unhashable."""
    cached = functools.lru_cache(maxsize=4)(function)

    @functools.wraps(function)
    def wrapper(*args):
        try:
            return cached(*args)
        except TypeError:  # an unhashable model object
            return function(*args)

    return wrapper


@_cached
def _converted(body_model, dtype: torch.dtype, device: str):
    """The body model in ``dtype`` on ``device`` (cached: fitting many short sequences reuses it)."""
    to = getattr(body_model, "to", None)
    return to(dtype=dtype, device=device) if to is not None else body_model


@_cached
def _reduced(body_model) -> ReducedSkinning:
    return ReducedSkinning(body_model)
