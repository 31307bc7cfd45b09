"""Synthetic per-view monocular 3D joints, as a single-view lifter (BlazePose world landmarks) gives them.

Each view sees the same body in its own camera axes (OpenCV: x right, y down, z forward), metres,
root-relative (origin at the mid-hip, COCO-17 joints 11 and 12), with errors a monocular method
makes and a multi-view method must average out:

1. a per-view rotation error of the whole pose (the lifter misjudges the body's tilt and heading):
   axis-angle ~ N(0, ``rotation_deg``^2) per axis;
2. a per-view scale error (the lifter assumes an average body): ``exp(N(0, scale_sigma^2))``;
3. per-joint noise, larger in depth than across the image (monocular depth is the hard part):
   std ``joint_sigma_m`` in x, y and ``depth_factor * joint_sigma_m`` in z, times
   ``1 + low_confidence_gain * (1 - confidence)`` (uncertain 2D joints are lifted worse);
4. with ``flip_rate``, the whole view's left and right swapped (monocular lifters confuse sides).

The defaults are PRIORS (plausible magnitudes for BlazePose's world landmarks), not yet fitted to
the shared demo: see ``docs/metapose_handoff.md``. Missing joints (2D confidence 0) get weight 0
and zeros, never NaN. Randomness only from the explicit generator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.keypoints import COCO17, flip_permutation

HIPS = (11, 12)


@dataclass(frozen=True)
class MonocularNoise:
    """Parameters of the monocular 3D model (see the module docstring)."""

    joint_sigma_m: float = 0.03
    depth_factor: float = 2.5
    rotation_deg: float = 6.0
    scale_sigma: float = 0.08
    low_confidence_gain: float = 2.0
    flip_rate: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0:
                raise InputError(f"monocular noise {name} must be >= 0, got {value}")
        if self.flip_rate > 1:
            raise InputError(f"monocular noise flip_rate must be in [0, 1], got {self.flip_rate}")

    @classmethod
    def none(cls) -> "MonocularNoise":
        """Exact monocular 3D (for tests and upper bounds)."""
        return cls(joint_sigma_m=0.0, rotation_deg=0.0, scale_sigma=0.0, low_confidence_gain=0.0)

    def apply(self, joints: Tensor, R: Tensor, t: Tensor, confidence: Tensor,
              generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Monocular 3D of every view.

        Args:
            joints: ``(B, J, 3)`` world joints, metres (COCO order, J >= 13).
            R, t: ``(B, C, 3, 3)``, ``(B, C, 3)`` world -> camera (OpenCV).
            confidence: ``(B, C, J)`` the views' 2D confidences (0 = missing).
            generator: the only source of randomness (draws on the CPU).

        Returns:
            ``mono3d (B, C, J, 3)`` metres, root-relative, camera axes; ``weight (B, C, J)`` (the
            2D confidence: where it is 0 the joint is missing, zeros).
        """
        B, C, J = confidence.shape
        draw = lambda *shape: torch.randn(shape, generator=generator, dtype=torch.float64).to(joints)  # noqa: E731
        cam = torch.einsum("bcij,bnj->bcni", R, joints)  # translation drops out of a root-relative pose
        cam = cam - cam[:, :, list(HIPS)].mean(-2, keepdim=True)
        tilt = axis_angle_to_matrix(draw(B, C, 3) * (self.rotation_deg * torch.pi / 180.0))
        scale = (draw(B, C) * self.scale_sigma).exp()
        cam = scale[..., None, None] * torch.einsum("bcij,bcnj->bcni", tilt, cam)
        axis_sigma = torch.tensor([1.0, 1.0, self.depth_factor]).to(joints) * self.joint_sigma_m
        gain = 1.0 + self.low_confidence_gain * (1.0 - confidence.clamp(0.0, 1.0))
        cam = cam + draw(B, C, J, 3) * axis_sigma * gain[..., None]
        if self.flip_rate > 0:
            flips = (torch.rand((B, C), generator=generator, dtype=torch.float64) < self.flip_rate).to(joints.device)
            perm = list(flip_permutation(COCO17[:J])) if J <= 17 else None
            if perm is None:
                raise InputError(f"monocular flips need COCO-17 joints, got J = {J}")
            cam = torch.where(flips[..., None, None], cam[:, :, perm], cam)
        seen = confidence > 0
        weight = torch.where(seen, confidence, torch.zeros_like(confidence))
        return cam * seen[..., None], weight
