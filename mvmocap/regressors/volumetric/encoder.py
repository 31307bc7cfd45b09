"""The per-view 2D encoder: ``J`` joint heatmaps + a silhouette -> a low-resolution feature map."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(4, cout), nn.ReLU(inplace=True))


class ViewEncoder(nn.Module):
    """``(N, J + 1, S, S)`` evidence -> ``(N, features, S / 4, S / 4)`` (two stride-2 stages)."""

    def __init__(self, in_channels: int = 18, width: int = 32, features: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            _block(in_channels, width, 2), _block(width, width, 1), _block(width, width, 2),
            nn.Conv2d(width, features, 1),
        )

    def forward(self, evidence: Tensor) -> Tensor:
        return self.net(evidence)


class WeakPerspectiveHead(nn.Module):
    """Per-view weak-perspective camera ``pi_n = (s, tx, ty)`` from the view's features (the
    paper's ``F_OP``): a pooled feature map -> a linear layer. ``s`` maps metres to normalised crop
    units ([-1, 1] across the crop); it starts near a typical 2 m-per-crop scale."""

    def __init__(self, features: int = 16, pooled: int = 4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(pooled)
        self.fc = nn.Linear(features * pooled * pooled, 3)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, feats: Tensor) -> Tensor:
        out = self.fc(self.pool(feats).flatten(1))
        scale = torch.nn.functional.softplus(out[:, :1] + 0.5)  # ~0.97 at start
        return torch.cat([scale, out[:, 1:]], -1)
