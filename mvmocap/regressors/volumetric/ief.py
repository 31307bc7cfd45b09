"""Iterative error feedback (Kanazawa et al. 2018) over volumetric features.

``Theta = [global residual 6D (6), 23 joint rotations 6D (138), betas (10)]`` (154 numbers);
``Theta_0`` is the rest pose (identity rotations) and the mean shape. One regressor ``R`` is
shared by every iteration: ``Theta_{k+1} = Theta_k + R(V_k, Theta_k)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

NUM_BODY_JOINTS = 23
NUM_BETAS = 10
THETA_SIZE = 6 + NUM_BODY_JOINTS * 6 + NUM_BETAS


def identity_6d(dtype=torch.float32, device=None) -> Tensor:
    """The 6D code of the identity in :func:`mvmocap.geometry.rotations.rotation_6d_to_matrix`'s layout."""
    from mvmocap.geometry.rotations import matrix_to_rotation_6d

    return matrix_to_rotation_6d(torch.eye(3, dtype=dtype, device=device))


def initial_theta(batch: int, dtype=torch.float32, device=None) -> Tensor:
    """``Theta_0 (batch, 154)``: identity rotations, zero betas."""
    eye = identity_6d(dtype, device)
    rots = eye.repeat(1 + NUM_BODY_JOINTS)
    theta = torch.cat([rots, torch.zeros(NUM_BETAS, dtype=dtype, device=device)])
    return theta.expand(batch, -1).clone()


def split_theta(theta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(global residual 6D (B, 6), body 6D (B, 23, 6), betas (B, 10))``."""
    return theta[:, :6], theta[:, 6 : 6 + 6 * NUM_BODY_JOINTS].reshape(-1, NUM_BODY_JOINTS, 6), theta[:, -NUM_BETAS:]


class VolumeReader(nn.Module):
    """``(B, Ch, G, G, G)`` -> ``(B, out)``: two stride-2 3D convolutions, flattened."""

    def __init__(self, channels: int, grid: int, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv3d(channels, width, 3, 2, 1), nn.GroupNorm(4, width), nn.ReLU(inplace=True),
            nn.Conv3d(width, width, 3, 2, 1), nn.GroupNorm(4, width), nn.ReLU(inplace=True),
        )
        self.out_features = width * ((grid + 3) // 4) ** 3

    def forward(self, volume: Tensor) -> Tensor:
        return self.net(volume).flatten(1)


class IEFRegressor(nn.Module):
    """``R(V, Theta[, e]) -> Theta + dTheta``: a volume reader then an MLP on ``[features, Theta, e]``
    (``e (B, extra)``: optional per-frame features, e.g. the skeleton feedback of the model)."""

    def __init__(self, channels: int, grid: int, width: int = 32, hidden: int = 512, extra: int = 0):
        super().__init__()
        self.reader = VolumeReader(channels, grid, width)
        self.extra = extra
        self.mlp = nn.Sequential(
            nn.Linear(self.reader.out_features + THETA_SIZE + extra, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, THETA_SIZE),
        )
        last = self.mlp[-1]
        nn.init.zeros_(last.bias)
        last.weight.data.mul_(0.01)

    def forward(self, volume: Tensor, theta: Tensor, extra: Tensor | None = None) -> Tensor:
        inputs = [self.reader(volume), theta] + ([extra] if self.extra else [])
        return theta + self.mlp(torch.cat(inputs, -1))


class CanonicalRotationHead(nn.Module):
    """The paper's ``F_R``: the view-averaged volume of a *world-aligned* cube (and optional
    per-frame features ``extra``) -> ``R_wh`` 6D.

    The output is added to the 6D code of ``init`` (world -> human of an upright body facing the
    world's -y axis), so an untrained head already gives an upright body.
    """

    def __init__(self, channels: int, grid: int, init: Tensor, width: int = 32, hidden: int = 256, extra: int = 0):
        super().__init__()
        from mvmocap.geometry.rotations import matrix_to_rotation_6d

        self.reader = VolumeReader(channels, grid, width)
        self.extra = extra
        self.mlp = nn.Sequential(nn.Linear(self.reader.out_features + extra, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 6))
        nn.init.zeros_(self.mlp[-1].bias)
        self.mlp[-1].weight.data.mul_(0.01)
        self.register_buffer("init_6d", matrix_to_rotation_6d(init.to(torch.float32)))

    def forward(self, volume: Tensor, extra: Tensor | None = None) -> Tensor:
        from mvmocap.geometry.rotations import rotation_6d_to_matrix

        features = torch.cat([self.reader(volume), extra], -1) if self.extra else self.reader(volume)
        return rotation_6d_to_matrix(self.mlp(features) + self.init_6d)
