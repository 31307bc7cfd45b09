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
4. left and right of the whole view swapped: with probability ``follow_2d_swaps`` where the view's
   2D detection is swapped (``swapped``: a lifter mirrors its 2D and its 3D together; on the demo every
   mirrored BlazePose world pose was in a view with mirrored 2D: 25 of the 31 swapped 2D views), and
   with ``flip_rate`` anywhere else.

The defaults were fitted to BlazePose (mediapipe 0.10.14) on ../shared/data/pose2sim_demo (4 cameras x
100 frames, one subject) against the robust triangulation with the Qualisys calibration, by
``python benchmarks/synth_mono3d.py`` (2026-12-03): the median rotation of a per-view similarity
alignment (BlazePose 11.9°, this model 11.7°), its rms (49.4° / 47.1°: the flips), the residual std
per axis (x 50, y 57, z 81 mm / 47, 63, 76 mm), its median by 2D confidence (88, 86, 65 mm for
confidences in [0.05, 0.5), [0.5, 0.9), [0.9, 1] / 111, 83, 76 mm) and the flip share (0.062 / 0.068);
the scale's log-std is 0.033 there, 0.050 here (the joint noise adds to it). The residuals include
the triangulated reference's own error, and the demo's errors are per camera and correlated in time,
which this per-frame model does not reproduce. Missing joints (2D confidence 0) get weight 0
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

    joint_sigma_m: float = 0.04
    depth_factor: float = 1.8
    rotation_deg: float = 7.0
    scale_sigma: float = 0.03
    low_confidence_gain: float = 0.8
    follow_2d_swaps: float = 0.8
    flip_rate: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0:
                raise InputError(f"monocular noise {name} must be >= 0, got {value}")
        for name in ("flip_rate", "follow_2d_swaps"):
            if getattr(self, name) > 1:
                raise InputError(f"monocular noise {name} must be in [0, 1], got {getattr(self, name)}")

    @classmethod
    def none(cls) -> "MonocularNoise":
        """Exact monocular 3D (for tests and upper bounds)."""
        return cls(joint_sigma_m=0.0, rotation_deg=0.0, scale_sigma=0.0, low_confidence_gain=0.0, follow_2d_swaps=0.0,
                   flip_rate=0.0)

    def apply(self, joints: Tensor, R: Tensor, t: Tensor, confidence: Tensor,
              generator: torch.Generator, swapped: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Monocular 3D of every view.

        Args:
            joints: ``(B, J, 3)`` world joints, metres (COCO order, J >= 13).
            R, t: ``(B, C, 3, 3)``, ``(B, C, 3)`` world -> camera (OpenCV).
            confidence: ``(B, C, J)`` the views' 2D confidences (0 = missing).
            generator: the only source of randomness (draws on the CPU).
            swapped: ``(B, C)`` bool, views whose 2D has left and right swapped (None: none);
                :func:`swapped_views` finds them in synthetic data.

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
        u = torch.rand((B, C), generator=generator, dtype=torch.float64).to(joints.device)
        follows = torch.zeros((B, C), dtype=torch.bool, device=joints.device) if swapped is None else swapped.bool()
        flips = torch.where(follows, u < self.follow_2d_swaps, u < self.flip_rate)
        if flips.any():
            if J > 17:
                raise InputError(f"monocular flips need COCO-17 joints, got J = {J}")
            perm = list(flip_permutation(COCO17[:J]))
            cam = torch.where(flips[..., None, None], cam[:, :, perm], cam)
        seen = confidence > 0
        weight = torch.where(seen, confidence, torch.zeros_like(confidence))
        return cam * seen[..., None], weight


def swapped_views(keypoints: Tensor, truth: Tensor, confidence: Tensor) -> Tensor:
    """``(..., C)`` bool: views whose detected 2D ``keypoints (..., C, 17, 2)`` fit the true projections
    ``truth`` better with left and right exchanged (half the limb joints' summed error), over the joints
    with ``confidence > 0``; needs 12 of them."""
    perm = list(flip_permutation(COCO17))
    limbs = list(range(5, 17))
    use = confidence > 0
    d = torch.where(use, (keypoints - truth).norm(dim=-1), torch.zeros_like(confidence))[..., limbs].sum(-1)
    d_fl = torch.where(use, (keypoints[..., perm, :] - truth).norm(dim=-1), torch.zeros_like(confidence))[..., limbs].sum(-1)
    return (use.sum(-1) >= 12) & (d_fl < 0.5 * d)
