"""Evidence -> CRA's network inputs, and the paper's evidence augmentations.

A view's evidence (``N`` views flattened; ``S x S`` crop; crop pixel centres at integer coordinates,
see :mod:`mvmocap.synth.evidence`):

* the J stream reads ``17`` COCO joint heatmaps (Gaussians scaled by the detector's confidence);
* the dense stream reads ``P`` one-hot part channels + U + V: ``P = 24`` DensePose parts (the IUV
  model), or ``P = 1`` (CRA-S: the person's silhouette, U = V = 0);
* the alignment features read the evidence joints in normalised crop coordinates (``[-1, 1]``
  across the crop) and the compact map ``M = (I / P, U, V)`` (paper sec. 3.1).

Augmentations (paper sec. 4.2): PartDrop (one of six coarse parts masked out of the dense
evidence), occluders and 2D jitter (drawn by the synthetic dataset), and, for the paper's Table 5,
limb-keypoint removal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.regressors.volumetric.evidence import joint_heatmaps

NUM_JOINTS = 17
IUV_PARTS = 24
# DensePose parts (mvmocap.synth.part_uv) of the paper's six coarse parts.
COARSE_PARTS = {
    "head": (23, 24),
    "torso": (1, 2),
    "left_arm": (4, 15, 17, 19, 21),
    "right_arm": (3, 16, 18, 20, 22),
    "left_leg": (5, 8, 10, 12, 14),
    "right_leg": (6, 7, 9, 11, 13),
}
# COCO-17 elbows, wrists, knees, ankles: the "key joints" Table 5 removes.
LIMB_JOINTS = (7, 8, 9, 10, 13, 14, 15, 16)


@dataclass(frozen=True)
class ViewEvidence:
    """One batch of ``N`` views, as the network reads them.

    Attributes:
        heatmaps: ``(N, 17, S, S)``.
        dense: ``(N, P + 2, S, S)`` one-hot parts, U, V.
        joints: ``(N, 17, 2)`` evidence joints, normalised crop coordinates.
        confidence: ``(N, 17)`` 0 = not detected.
        compact: ``(N, 3, S, S)`` the compact map ``(I / P, U, V)``.
    """

    heatmaps: Tensor
    dense: Tensor
    joints: Tensor
    confidence: Tensor
    compact: Tensor

    @property
    def parts(self) -> int:
        return int(self.dense.shape[1] - 2)

    def rows(self, sl: slice) -> "ViewEvidence":
        return ViewEvidence(self.heatmaps[sl], self.dense[sl], self.joints[sl], self.confidence[sl], self.compact[sl])


def normalised(points: Tensor, size: int) -> Tensor:
    """Crop pixels ``(..., 2)`` of an ``size`` crop -> normalised crop coordinates (``[-1, 1]`` across it)."""
    return (points + 0.5) / size * 2.0 - 1.0


def dense_evidence(labels: Tensor, parts: int) -> tuple[Tensor, Tensor]:
    """``(one-hot parts + U + V (N, P + 2, S, S), compact (N, 3, S, S))`` from an IUV image
    ``labels (N, 3, S, S)`` (I = part 1..24, 0 = background; U, V in [0, 1]).

    ``parts = 24``: the IUV model's input; ``parts = 1``: CRA-S's, the silhouette ``I > 0`` with U = V = 0."""
    part = labels[:, 0].round().long().clamp(0, IUV_PARTS)
    if parts == 1:
        fg = (part > 0).to(labels.dtype)
        zero = torch.zeros_like(fg)
        stacked = torch.stack([fg, zero, zero], 1)
        return stacked, stacked
    if parts != IUV_PARTS:
        raise ValueError(f"parts must be 1 or {IUV_PARTS}, got {parts}")
    one_hot = torch.nn.functional.one_hot(part, IUV_PARTS + 1)[..., 1:].permute(0, 3, 1, 2).to(labels.dtype)
    uv = labels[:, 1:] * (part > 0).to(labels.dtype)[:, None]
    compact = torch.cat([(part.to(labels.dtype) / IUV_PARTS)[:, None], uv], 1)
    return torch.cat([one_hot, uv], 1), compact


def silhouette_labels(mask: Tensor) -> Tensor:
    """A silhouette ``(N, S, S)`` as IUV labels ``(N, 3, S, S)`` (part 1 on the person) for :func:`dense_evidence`."""
    zero = torch.zeros_like(mask)
    return torch.stack([(mask > 0.5).to(mask.dtype), zero, zero], 1)


def view_evidence(keypoints: Tensor, labels: Tensor, parts: int, sigma: float) -> ViewEvidence:
    """:class:`ViewEvidence` from ``keypoints (N, 17, 3)`` crop px + confidence and IUV ``labels (N, 3, S, S)``."""
    S = labels.shape[-1]
    conf = keypoints[..., 2]
    heatmaps = joint_heatmaps(keypoints[..., :2], conf, S, sigma)
    dense, compact = dense_evidence(labels, parts)
    joints = normalised(keypoints[..., :2], S) * (conf > 0).to(keypoints.dtype)[..., None]
    return ViewEvidence(heatmaps, dense, joints, conf, compact)


def drop_coarse_part(labels: Tensor, probability: float, generator: torch.Generator | None = None) -> Tensor:
    """PartDrop as in the paper: for each view of ``labels (N, 3, S, S)``, with ``probability`` one of
    the six coarse parts (drawn uniformly) is masked out (I = U = V = 0 there)."""
    N = labels.shape[0]
    hit = torch.rand(N, generator=generator) < probability
    which = torch.randint(len(COARSE_PARTS), (N,), generator=generator)
    table = torch.zeros(len(COARSE_PARTS), IUV_PARTS + 1, dtype=torch.bool)
    for k, members in enumerate(COARSE_PARTS.values()):
        table[k, list(members)] = True
    drop = (table[which] & hit[:, None]).to(labels.device)  # (N, 25)
    part = labels[:, 0].round().long().clamp(0, IUV_PARTS)
    gone = torch.gather(drop, 1, part.reshape(N, -1)).reshape(part.shape)
    return labels * (~gone).to(labels.dtype)[:, None]


def remove_limb_joints(keypoints: Tensor, probability: float, generator: torch.Generator | None = None) -> Tensor:
    """Table 5's keypoint removal: each elbow, wrist, knee and ankle of ``keypoints (N, 17, 3)`` is
    removed (x = y = confidence = 0) with ``probability``."""
    N = keypoints.shape[0]
    gone = torch.zeros(N, NUM_JOINTS, dtype=torch.bool)
    gone[:, list(LIMB_JOINTS)] = torch.rand(N, len(LIMB_JOINTS), generator=generator) < probability
    return keypoints * (~gone).to(keypoints.device, keypoints.dtype)[..., None]
