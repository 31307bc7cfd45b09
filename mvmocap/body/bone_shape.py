"""Body shape from bone lengths: the betas whose rest-pose keypoints are as far apart as given.

A regressor's betas stay near the mean shape, while triangulated joints tell the person's limb
lengths directly. The COCO-23 keypoints of an SMPL-format body in its rest pose are linear in the
betas, ``K(beta) = K0 + D beta`` (no pose, so no skinning), so the length of a bone ``(a, b)`` is
``|K_a(beta) - K_b(beta)|``; :func:`betas_from_bone_lengths` minimises

    sum_k w_k (|K_a(beta) - K_b(beta)| - L_k)^2 + prior * |beta - beta_prior|^2

over ``beta`` by Gauss-Newton (a few 10 x 10 solves). Lengths are in metres; ``prior`` is in
square metres per unit of beta (about the square of a bone length's noise for betas ~ N(0, 1)).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.keypoints import COCO23

_K = {name: i for i, name in enumerate(COCO23)}
BONES = tuple(
    (_K[a], _K[b])
    for a, b in (
        ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    )
)
"""COCO-23 keypoint pairs whose distance hardly depends on the pose: shoulder and hip widths, upper
and lower arms and legs (within 1-3 cm under 0.3 rad of random rotation at every joint; the
shoulder-hip sides change by up to 14 cm as the spine bends and are left out)."""
_ENDS_A, _ENDS_B = [a for a, _ in BONES], [b for _, b in BONES]


def bone_lengths(points: Tensor, confidence: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Lengths ``(..., len(BONES))`` metres of :data:`BONES` between COCO-23 ``points (..., 23, 3)``,
    and their confidence (the smaller of the two ends' ``confidence (..., 23)``; 1 when None)."""
    lengths = (points[..., _ENDS_A, :] - points[..., _ENDS_B, :]).norm(dim=-1)
    if confidence is None:
        return lengths, torch.ones_like(lengths)
    return lengths, torch.minimum(confidence[..., _ENDS_A], confidence[..., _ENDS_B]).clamp(min=0)


def rest_keypoint_basis(body_model, num_betas: int | None = None) -> tuple[Tensor, Tensor]:
    """``(K0 (23, 3), D (23, 3, S))``: rest-pose COCO-23 keypoints (metres) of the mean shape and
    their change per unit of each of the first ``S`` betas (exact: they are linear in the betas)."""
    S = num_betas or body_model.num_betas
    dtype = body_model.v_template.dtype
    betas = torch.cat([torch.zeros(1, S, dtype=dtype), torch.eye(S, dtype=dtype)])
    with torch.no_grad():
        points = body_model(betas=betas).coco23  # (1 + S, 23, 3), zero pose and translation
    return points[0], (points[1:] - points[:1]).permute(1, 2, 0)


def betas_from_bone_lengths(basis: tuple[Tensor, Tensor], lengths: Tensor, weights: Tensor, beta_prior: Tensor,
                            prior: float, max_change: float = float("inf"), iterations: int = 5) -> Tensor:
    """The betas ``(B, S)`` whose rest-pose bones best match ``lengths (B, len(BONES))`` metres with
    ``weights (B, len(BONES))`` (0 = unknown), pulled towards ``beta_prior (B, S)`` with weight
    ``prior`` (see the module doc); ``basis``: :func:`rest_keypoint_basis`. A length that differs
    from the ``beta_prior`` body's by more than the fraction ``max_change`` of it is not believed
    (weight 0: e.g. from joints that two views triangulate badly)."""
    K0, D = (t.to(lengths.dtype) for t in basis)
    d0, dD = K0[_ENDS_A] - K0[_ENDS_B], D[_ENDS_A] - D[_ENDS_B]  # (N, 3), (N, 3, S)
    beta = beta_prior.clone()
    start = (d0 + torch.einsum("ncs,bs->bnc", dD, beta)).norm(dim=-1)
    weights = weights * ((lengths - start).abs() <= max_change * start)
    S = beta.shape[-1]
    eye = torch.eye(S, dtype=beta.dtype, device=beta.device)
    for _ in range(iterations):
        # vector of each bone: v[b, n, c] = d0[n, c] + sum_s dD[n, c, s] beta[b, s]
        v = d0 + torch.einsum("ncs,bs->bnc", dD, beta)
        norm = v.norm(dim=-1).clamp(min=1e-9)
        residual = norm - lengths  # (B, N)
        # jacobian J[b, n, s] = (v / |v|) . dD[:, :, s]
        J = torch.einsum("bnc,ncs->bns", v / norm[..., None], dD)
        JtW = J.transpose(-1, -2) * weights[:, None, :]
        H = JtW @ J + prior * eye
        g = (JtW @ residual[..., None])[..., 0] + prior * (beta - beta_prior)
        beta = beta - torch.linalg.solve(H, g[..., None])[..., 0]
    return beta
