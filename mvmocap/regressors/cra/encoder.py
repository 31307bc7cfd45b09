"""One CRA stream's encoder (paper sec. 3.3): a small ResNet with GroupNorm (no torchvision),
then the global feature ``phi_G`` (average pool) and the fine-grained ``phi_L`` (eq. 1's perceptrons).

``(N, in, S, S)`` -> ``phi_0 (N, C0, H0, W0)`` with ``H0 = W0 = 8`` for any ``S = 8 * 2^k``
(``k`` stride-2 stages), ``phi_G (N, C0)``, ``phi_L (N, C_L * H0 * W0)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

FEATURE_SIDE = 8  # H0 = W0


def _groups(channels: int) -> int:
    return 8 if channels % 8 == 0 else 1


class BasicBlock(nn.Module):
    """ResNet's basic block (two 3x3 convolutions + identity or 1x1 shortcut) with GroupNorm."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.GroupNorm(_groups(cout), cout))

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(y)) + self.shortcut(x))


class StreamEncoder(nn.Module):
    """Evidence ``(N, in_channels, S, S)`` -> ``(phi_G (N, C0), phi_L (N, C_L * 64))``.

    Args:
        in_channels: 17 (heatmaps), P + 2 (dense), or both (the ``concat`` variant).
        crop: ``S``, a power-of-two multiple of 8 (64 or 128 here).
        width: channels after the stem; each stride-2 stage doubles them (``C0 = width * 2^(k-1)``).
        perceptrons: eq. 1's channels ``(C_1, ..., C_L)`` (the paper: 256, 64, 8 from C0 = 512).
    """

    def __init__(self, in_channels: int, crop: int = 64, width: int = 16, perceptrons: tuple[int, ...] = (32, 16, 8)):
        super().__init__()
        stages = int(round(math.log2(crop / FEATURE_SIDE)))
        if stages < 1 or FEATURE_SIDE * 2**stages != crop:
            raise ValueError(f"crop must be 8 * 2^k (k >= 1), got {crop}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, 2, 1, bias=False), nn.GroupNorm(_groups(width), width),
                                   nn.ReLU(inplace=True), BasicBlock(width, width, 1)]
        channels = width
        for _ in range(stages - 1):
            layers.append(BasicBlock(channels, channels * 2, 2))
            channels *= 2
        self.backbone = nn.Sequential(*layers)
        self.channels = channels  # C0
        mlp = []
        previous = channels
        for k, c in enumerate(perceptrons):
            mlp.append(nn.Conv1d(previous if k == 0 else previous + channels, c, 1))
            previous = c
        self.perceptrons = nn.ModuleList(mlp)
        self.local_size = previous * FEATURE_SIDE * FEATURE_SIDE

    def forward(self, evidence: Tensor) -> tuple[Tensor, Tensor]:
        phi0 = self.backbone(evidence).flatten(2)  # (N, C0, H0 * W0)
        phi = phi0
        for k, layer in enumerate(self.perceptrons):  # eq. 1
            phi = torch.relu(layer(phi if k == 0 else torch.cat([phi, phi0], 1)))
        return phi0.mean(-1), phi.flatten(1)
