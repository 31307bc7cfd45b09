"""How sure a comparison of two methods' median errors on one sequence is: a paired moving-block
bootstrap of the ratio of their medians.

Both methods were run on the same frames; resampling frames (not single errors) keeps each frame's
errors together, and resampling blocks of consecutive frames keeps the correlation between
neighbouring frames of a video (resampling single frames would make the interval too narrow).
Both methods' frames are drawn together (paired), so what they share, the detections' noise, cancels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.errors import InputError

DRAWS_PER_BATCH = 64  # resamples evaluated at once (memory: 64 x the errors' size, float64)


def _check(errors: Tensor, mask: Tensor, frames: int | None, name: str) -> None:
    if errors.dim() < 1 or errors.shape != mask.shape:
        raise InputError(f"{name}: errors {tuple(errors.shape)} and mask {tuple(mask.shape)} "
                         "must have one shape (F, ...)")
    if frames is not None and errors.shape[0] != frames:
        raise InputError(f"{name} has {errors.shape[0]} frames, the reference {frames}")
    if not bool(mask.any()):
        raise InputError(f"{name}: no compared point (the mask is all False)")


def block_bootstrap_frames(frames: int, block: int, draws: int, generator: torch.Generator) -> Tensor:
    """``(draws, frames)`` frame indices: each row ``ceil(frames / block)`` blocks of ``block``
    consecutive frames starting at uniformly drawn frames, cut to ``frames`` indices."""
    block = min(block, frames)
    blocks = -(-frames // block)
    starts = torch.randint(0, frames - block + 1, (draws, blocks, 1), generator=generator)
    return (starts + torch.arange(block)).reshape(draws, -1)[:, :frames]


def _resampled_medians(errors: Tensor, mask: Tensor, samples: Tensor) -> Tensor:
    """``(D,)`` medians of ``errors[frames][mask[frames]]`` for each row of frame indices ``samples (D, F)``
    (NaN where a resample has no compared point)."""
    values = torch.where(mask, errors.double(), torch.nan)[samples]  # (D, F, ...)
    return torch.nanquantile(values.flatten(1), 0.5, dim=1)


def median_ratio_interval(reference_errors: Tensor, reference_mask: Tensor, other_errors: Tensor,
                          other_mask: Tensor, block: int = 10, draws: int = 2000, level: float = 0.95,
                          generator: torch.Generator | None = None) -> tuple[float, float]:
    """Percentile interval of ``median(other) / median(reference)`` under a paired moving-block bootstrap.

    Args:
        reference_errors, other_errors: ``(F, ...)`` errors (e.g. ``(F, C, J)`` pixels) of the two
            methods on the same ``F`` frames; reference_mask, other_mask: ``(F, ...)`` bool, which
            errors count.
        block: consecutive frames per resampled block (>= 1; at most ``F`` are used).
        draws: bootstrap resamples (>= 1).
        level: the interval's coverage, in (0, 1).
        generator: the random generator (a fixed default seed when None, so reruns agree).

    Returns:
        ``(low, high)``: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled
        ratios (medians as :func:`torch.quantile` at 0.5, i.e. interpolated).

    Raises:
        :class:`InputError` for mismatched shapes, an empty mask or out-of-range settings.
    """
    reference_errors, other_errors = torch.as_tensor(reference_errors), torch.as_tensor(other_errors)
    reference_mask = torch.as_tensor(reference_mask, dtype=torch.bool)
    other_mask = torch.as_tensor(other_mask, dtype=torch.bool)
    _check(reference_errors, reference_mask, None, "reference")
    _check(other_errors, other_mask, reference_errors.shape[0], "other")
    if block < 1 or draws < 1 or not 0 < level < 1:
        raise InputError(f"block and draws must be >= 1 and level in (0, 1), got {block}, {draws}, {level}")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    samples = block_bootstrap_frames(reference_errors.shape[0], block, draws, generator)
    ratios = torch.cat([_resampled_medians(other_errors, other_mask, rows)
                        / _resampled_medians(reference_errors, reference_mask, rows)
                        for rows in samples.split(DRAWS_PER_BATCH)])
    ratios = ratios[torch.isfinite(ratios)]
    if ratios.numel() == 0:
        raise InputError("no bootstrap resample had compared points for both methods")
    tail = (1 - level) / 2
    low, high = torch.quantile(ratios, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    return float(low), float(high)
