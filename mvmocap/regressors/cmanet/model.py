"""CMANet's two modules and the canonical parameter space (paper 3.2-3.4).

Per view ``i`` the intra-view module (IRV) regresses ``p_i = [24 x 6D rotations (theta_g^i, theta_b^i),
betas^i (10), weak camera (s, tx, ty)]`` (:data:`PARAMS` numbers) iteratively from the mean ("we regress
camera pose and human model parameters in an iterative manner, where mean value [...] are set as the
initial value"), with a shared encoder. The canonical space holds per view the global orientation
``theta_g^i`` and camera, and one body pose ``theta_b`` and shape ``beta`` ("view-independent"). The
inter-view module (IEV) starts from the IRV's per-view orientations and cameras and from the body of the
view with the least 2D reprojection error ("we select the one with least 2D reprojection error as the
initial view-independent shape and body pose"), fuses the views' tokens with one self-attention layer
and regresses corrections.

Frames: camera axes (OpenCV), the camera rotation the identity (paper 3.1); the weak camera projects
root-relative joints ``X`` as ``FOCAL (X_xy + t_xy) / (X_z + t_z) + CROP/2`` crop pixels with
``t = (tx, ty, 2 FOCAL / (s CROP))`` (:func:`mvmocap.fit.uncalibrated.translation_from_weak_camera`).
Shapes: ``B`` frame-sets, ``V`` views (any number), ``P = PARAMS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mvmocap.geometry.rotations import rotation_6d_to_matrix
from mvmocap.regressors.cmanet.inputs import CROP_PX, FOCAL_PX, NUM_JOINTS

NUM_BETAS = 10
ROTATIONS = 24
PARAMS = ROTATIONS * 6 + NUM_BETAS + 3
INPUT = NUM_JOINTS * 3
BODY = 23 * 6 + NUM_BETAS  # the view-independent part of the canonical space
DEFAULT_OPTIONS = {"hidden": 256, "iterations": 3, "model": 128, "heads": 4}


def mean_params() -> Tensor:
    """``(P,)``: upright and facing the camera (rest y up -> camera y down, front -> the camera), rest
    pose, mean shape, a body filling about 80 % of the crop, centred."""
    facing = torch.tensor([1.0, 0, 0, 0, -1, 0])  # the 6D of diag(1, -1, -1)
    rest = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(23)
    return torch.cat([facing, rest, torch.zeros(NUM_BETAS), torch.tensor([0.9, 0.0, 0.0])])


def split(params: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(..., P)`` -> rotations ``(..., 24, 3, 3)``, betas ``(..., 10)``, weak camera ``(..., 3)``."""
    rot = rotation_6d_to_matrix(params[..., :ROTATIONS * 6].reshape(*params.shape[:-1], ROTATIONS, 6))
    return rot, params[..., ROTATIONS * 6:ROTATIONS * 6 + NUM_BETAS], params[..., -3:]


def camera_translation(weak: Tensor) -> Tensor:
    """The root's translation ``(..., 3)`` in crop-pixel camera units (metres with :data:`FOCAL_PX`)."""
    s = weak[..., :1].clamp(min=0.05)
    return torch.cat([weak[..., 1:], 2 * FOCAL_PX / (s * CROP_PX)], -1)


def decode(params: Tensor, body_model) -> dict[str, Tensor]:
    """Pose the body of ``params (..., P)``: ``rotations``, ``betas``, ``joints (..., 17, 3)`` camera axes
    (root at the weak camera's translation), ``uv (..., 17, 2)`` crop pixels."""
    rotations, betas, weak = split(params)
    out = body_model(global_orient=rotations[..., 0, :, :], body_pose=rotations[..., 1:, :, :], betas=betas)
    joints = out.coco23[..., :NUM_JOINTS, :] - out.joints[..., :1, :] + camera_translation(weak)[..., None, :]
    uv = FOCAL_PX * joints[..., :2] / joints[..., 2:].clamp(min=1e-2) + CROP_PX / 2
    return {"rotations": rotations, "betas": betas, "weak": weak, "joints": joints, "uv": uv}


class IntraView(nn.Module):
    """IRV: a shared encoder and a two-layer regressor refining ``p_i`` from the mean, per view."""

    def __init__(self, hidden: int = 256, iterations: int = 3):
        super().__init__()
        self.iterations = iterations
        self.encoder = nn.Sequential(nn.Linear(INPUT, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.regressor = nn.Sequential(nn.Linear(hidden + PARAMS, hidden), nn.ReLU(), nn.Linear(hidden, PARAMS))
        nn.init.zeros_(self.regressor[-1].weight)
        nn.init.zeros_(self.regressor[-1].bias)
        self.register_buffer("mean", mean_params())

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """``x (B, V, 51)`` -> features ``(B, V, hidden)`` and ``p`` after each iteration ``(B, V, P)``."""
        features = self.encoder(x)
        params = self.mean.expand(*x.shape[:-1], PARAMS)
        steps = []
        for _ in range(self.iterations):
            params = params + self.regressor(torch.cat([features, params], -1))
            steps.append(params)
        return features, steps


@dataclass
class Canonical:
    """The canonical parameter space: ``view (B, V, 9)`` = each view's 6D global orientation and weak
    camera; ``body (B, 23 * 6 + 10)`` = the shared body pose (6D) and shape."""

    view: Tensor
    body: Tensor

    def params(self) -> Tensor:
        """Each view's full ``p_i (B, V, P)`` (the shared body repeated), for :func:`decode`."""
        V = self.view.shape[1]
        shared = self.body[:, None].expand(-1, V, -1)
        return torch.cat([self.view[..., :6], shared[..., :23 * 6], shared[..., 23 * 6:], self.view[..., 6:]], -1)

    @staticmethod
    def from_views(params: Tensor, source: Tensor) -> "Canonical":
        """Per-view orientations and cameras of ``params (B, V, P)``, the body of view ``source (B,)``."""
        picked = params[torch.arange(len(source)), source]
        return Canonical(torch.cat([params[..., :6], params[..., -3:]], -1), picked[..., 6:PARAMS - 3])


def screen(params: Tensor, body_model, uv: Tensor, confidence: Tensor) -> Tensor:
    """``(B,)``: for each frame-set the view whose own prediction reprojects best onto its keypoints
    (mean confidence-weighted crop-pixel error; views without keypoints never chosen)."""
    with torch.no_grad():
        predicted = decode(params, body_model)["uv"]
        error = ((predicted - uv).norm(dim=-1) * confidence).sum(-1) / confidence.sum(-1).clamp(min=1e-6)
        error = torch.where(confidence.sum(-1) > 0, error, torch.full_like(error, float("inf")))
    return error.argmin(-1)


class InterView(nn.Module):
    """IEV: a token per view (its features and canonical parameters), one self-attention layer over the
    views, a per-view head (orientation, camera) and a pooled head (body pose, shape)."""

    def __init__(self, hidden: int = 256, model: int = 128, heads: int = 4):
        super().__init__()
        self.token = nn.Linear(hidden + PARAMS, model)
        self.fusion = nn.TransformerEncoderLayer(model, heads, 2 * model, dropout=0.0, batch_first=True)
        self.view_head = nn.Linear(model, 9)
        self.body_head = nn.Linear(model, BODY)
        for head in (self.view_head, self.body_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, features: Tensor, start: Canonical, valid: Tensor) -> Canonical:
        """``features (B, V, hidden)``, the canonical start, ``valid (B, V)`` bool (missing views are
        masked out of the attention and the pooling) -> the refined canonical parameters."""
        seen = valid | ~valid.any(-1, keepdim=True)  # a frame-set seen nowhere: attend to all (no NaN)
        tokens = self.token(torch.cat([features, start.params()], -1))
        fused = self.fusion(tokens, src_key_padding_mask=~seen)
        w = seen.to(fused.dtype)[..., None]
        pooled = (fused * w).sum(1) / w.sum(1)
        return Canonical(start.view + self.view_head(fused), start.body + self.body_head(pooled))


class CMANet(nn.Module):
    """IRV + IEV. ``forward`` returns the IRV's per-view estimates and the canonical result."""

    def __init__(self, options: dict | None = None):
        super().__init__()
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        o = self.options
        self.intra = IntraView(o["hidden"], o["iterations"])
        self.inter = InterView(o["hidden"], o["model"], o["heads"])

    def forward(self, x: Tensor, uv: Tensor, confidence: Tensor, body_model, from_intra: bool = True) -> dict:
        """``x (B, V, 51)`` (:func:`mvmocap.regressors.cmanet.inputs.network_input`), ``uv``, ``confidence``
        the crop keypoints. ``from_intra`` False (the "inter-view only" ablation): the canonical space
        starts from the mean parameters instead of the IRV's estimates."""
        features, steps = self.intra(x)
        valid = confidence.sum(-1) > 0
        if from_intra:
            start = Canonical.from_views(steps[-1], screen(steps[-1], body_model, uv, confidence))
        else:
            mean = self.intra.mean.expand_as(steps[-1])
            start = Canonical.from_views(mean, torch.zeros(len(x), dtype=torch.long))
        return {"intra": steps, "canonical": self.inter(features, start, valid)}
