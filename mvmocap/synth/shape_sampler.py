"""Body shape sampler: SMPL betas ~ N(0, s^2 I) clipped at +-clip."""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.errors import InputError


def sample_betas(
    n: int, generator: torch.Generator, num_betas: int = 10, std: float = 1.0, clip: float = 3.0
) -> Tensor:
    """``(n, num_betas)`` float64 shape coefficients, each ~ N(0, std^2) clipped to [-clip, clip]."""
    if n < 0 or num_betas < 1 or std < 0 or clip <= 0:
        raise InputError(f"sample_betas needs n >= 0, num_betas >= 1, std >= 0, clip > 0; got {n}, {num_betas}, {std}, {clip}")
    betas = std * torch.randn(n, num_betas, generator=generator, dtype=torch.float64)
    return betas.clamp(-clip, clip)
