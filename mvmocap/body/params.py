"""``BodyParams``: SMPL-style parameters of one person over F frames.

Convention: world right-handed, +Z up, metres, radians. ``global_orient`` maps
the body file's rest frame (y up, z = the subject's front, x = the subject's
left) to the world, so it includes the y-up -> z-up turn; ``transl`` is added
after the root rotation, as in SMPL (the root rotates about the pelvis joint).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.rotations import (
    axis_angle_to_quaternion,
    quaternion_to_axis_angle,
)

NUM_BODY_JOINTS = 23
NUM_BETAS = 10


@dataclass(frozen=True)
class BodyParams:
    """Per-frame pose and one shape for a sequence of F frames.

    Attributes:
        global_orient: ``(F, 3)`` axis-angle, body rest frame -> world (+Z up).
        body_pose: ``(F, 23, 3)`` axis-angle per joint, relative to its parent (SMPL order).
        betas: ``(10,)`` shape coefficients shared by the whole sequence.
        transl: ``(F, 3)`` metres, world frame.
        valid: ``(F,)`` bool; False where nobody was seen (parameters there are
            interpolated or held from the nearest valid frames, never NaN).
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    transl: Tensor
    valid: Tensor

    def __post_init__(self) -> None:
        F = self.global_orient.shape[0] if self.global_orient.dim() == 2 else -1
        checks = (
            ("global_orient", self.global_orient, (F, 3)),
            ("body_pose", self.body_pose, (F, NUM_BODY_JOINTS, 3)),
            ("transl", self.transl, (F, 3)),
            ("valid", self.valid, (F,)),
        )
        for name, value, shape in checks:
            if tuple(value.shape) != shape:
                raise InputError(f"BodyParams.{name} must have shape {shape}, got {tuple(value.shape)}")
        if self.betas.dim() != 1:
            raise InputError(f"BodyParams.betas must have shape (B,), got {tuple(self.betas.shape)}")
        if self.valid.dtype != torch.bool:
            raise InputError(f"BodyParams.valid must be bool, got {self.valid.dtype}")
        for name in ("global_orient", "body_pose", "betas", "transl"):
            if not bool(torch.isfinite(getattr(self, name)).all()):
                raise InputError(f"BodyParams.{name} has NaN/inf values")

    @property
    def num_frames(self) -> int:
        return int(self.global_orient.shape[0])

    @classmethod
    def zeros(
        cls,
        num_frames: int,
        num_betas: int = NUM_BETAS,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> "BodyParams":
        """Rest pose at the origin for ``num_frames`` frames, all valid."""
        def z(*shape):
            return torch.zeros(shape, dtype=dtype, device=device)

        return cls(
            global_orient=z(num_frames, 3),
            body_pose=z(num_frames, NUM_BODY_JOINTS, 3),
            betas=z(num_betas),
            transl=z(num_frames, 3),
            valid=torch.ones(num_frames, dtype=torch.bool, device=device),
        )

    def to_smpl_poses(self) -> Tensor:
        """AMASS-style ``poses (F, 72)``: global_orient then the 23 body joints, axis-angle."""
        return torch.cat([self.global_orient, self.body_pose.reshape(self.num_frames, -1)], dim=-1)

    @classmethod
    def from_smpl_poses(
        cls, poses: Tensor, betas: Tensor, transl: Tensor, valid: Tensor | None = None
    ) -> "BodyParams":
        """Inverse of :meth:`to_smpl_poses`: ``poses (F, 72)``, ``betas (B,)``, ``transl (F, 3)``."""
        poses = torch.as_tensor(poses)
        if poses.dim() != 2 or poses.shape[1] != 3 * (NUM_BODY_JOINTS + 1):
            raise InputError(f"poses must have shape (F, 72), got {tuple(poses.shape)}")
        F = poses.shape[0]
        if valid is None:
            valid = torch.ones(F, dtype=torch.bool, device=poses.device)
        return cls(
            global_orient=poses[:, :3],
            body_pose=poses[:, 3:].reshape(F, NUM_BODY_JOINTS, 3),
            betas=torch.as_tensor(betas, dtype=poses.dtype, device=poses.device),
            transl=torch.as_tensor(transl, dtype=poses.dtype, device=poses.device),
            valid=torch.as_tensor(valid, dtype=torch.bool, device=poses.device),
        )

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> "BodyParams":
        """Same parameters cast/moved (``valid`` stays bool)."""
        def conv(x: Tensor) -> Tensor:
            return x.to(device=device, dtype=dtype)

        return BodyParams(
            conv(self.global_orient), conv(self.body_pose), conv(self.betas), conv(self.transl),
            self.valid.to(device=device),
        )

    def detach(self) -> "BodyParams":
        return BodyParams(
            self.global_orient.detach(), self.body_pose.detach(), self.betas.detach(),
            self.transl.detach(), self.valid.detach(),
        )

    def frames(self, index: slice | Tensor) -> "BodyParams":
        """The frames selected by ``index`` (a slice, indices or a bool mask); betas shared."""
        return BodyParams(
            self.global_orient[index], self.body_pose[index], self.betas,
            self.transl[index], self.valid[index],
        )

    def with_valid(self, valid: Tensor) -> "BodyParams":
        return replace(self, valid=torch.as_tensor(valid, dtype=torch.bool, device=self.valid.device))

    @staticmethod
    def concatenate(parts: list["BodyParams"]) -> "BodyParams":
        """Join frame ranges; the betas of the last part are kept."""
        if not parts:
            raise InputError("nothing to concatenate")
        return BodyParams(
            torch.cat([p.global_orient for p in parts]),
            torch.cat([p.body_pose for p in parts]),
            parts[-1].betas,
            torch.cat([p.transl for p in parts]),
            torch.cat([p.valid for p in parts]),
        )


def fill_invalid_frames(params: BodyParams, valid: Tensor) -> BodyParams:
    """Replace the parameters of frames where ``valid (F,)`` is False by those of valid neighbours.

    Between two valid frames rotations are interpolated by quaternion slerp per
    joint and the translation linearly; before the first / after the last valid
    frame the nearest valid frame is held. ``valid`` of the result is ``valid``.
    Raises :class:`InputError` when no frame is valid.
    """
    valid = torch.as_tensor(valid, dtype=torch.bool, device=params.transl.device)
    F = params.num_frames
    if valid.shape != (F,):
        raise InputError(f"valid must have shape ({F},), got {tuple(valid.shape)}")
    if not bool(valid.any()):
        raise InputError("no frame has enough keypoints to fit a body")
    if bool(valid.all()):
        return params.with_valid(valid)
    lo, hi, alpha = _neighbour_weights(valid)
    rotations = torch.cat([params.global_orient.unsqueeze(1), params.body_pose], dim=1)  # (F, 24, 3)
    q = axis_angle_to_quaternion(rotations)
    q_interp = _slerp(q[lo], q[hi], alpha[:, None, None])
    rot_interp = quaternion_to_axis_angle(q_interp)
    transl_interp = torch.lerp(params.transl[lo], params.transl[hi], alpha[:, None].to(params.transl))
    keep = valid[:, None, None]
    rotations = torch.where(keep, rotations, rot_interp.to(rotations))
    transl = torch.where(valid[:, None], params.transl, transl_interp)
    return BodyParams(rotations[:, 0], rotations[:, 1:], params.betas, transl, valid)


def _neighbour_weights(valid: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """For each frame, the previous and next valid frames and the blend weight ``(F,)``.

    Frames outside the valid range get both neighbours equal to the nearest valid frame.
    """
    F = valid.shape[0]
    idx = torch.arange(F, device=valid.device)
    marked = torch.where(valid, idx, torch.full_like(idx, -1))
    prev = torch.cummax(marked, dim=0).values
    marked_next = torch.where(valid, idx, torch.full_like(idx, F))
    nxt = torch.flip(torch.cummin(torch.flip(marked_next, [0]), dim=0).values, [0])
    first, last = int(idx[valid][0]), int(idx[valid][-1])
    prev = torch.where(prev < 0, torch.full_like(prev, first), prev)
    nxt = torch.where(nxt >= F, torch.full_like(nxt, last), nxt)
    span = (nxt - prev).clamp(min=1)
    alpha = ((idx - prev).clamp(min=0).to(torch.float64) / span).clamp(0, 1)
    alpha = torch.where(nxt == prev, torch.zeros_like(alpha), alpha)
    return prev, nxt, alpha


def _slerp(q0: Tensor, q1: Tensor, alpha: Tensor) -> Tensor:
    """Spherical interpolation of unit quaternions ``(..., 4)`` with ``alpha (...)`` broadcast."""
    alpha = alpha.to(q0)
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    close = sin_theta < 1e-6
    safe = torch.where(close, torch.ones_like(sin_theta), sin_theta)
    w0 = torch.where(close, 1 - alpha, torch.sin((1 - alpha) * theta) / safe)
    w1 = torch.where(close, alpha, torch.sin(alpha * theta) / safe)
    q = w0 * q0 + w1 * q1
    return q / q.norm(dim=-1, keepdim=True)
