"""Compact person masks: run-length encoding of a binary image.

Runs are taken over the mask flattened in row-major (C) order and alternate
background / foreground, starting with background (a first run of 0 when the
top-left pixel is foreground). A mask may be stored at a lower resolution than
the image it belongs to; :meth:`RleMask.decode` resizes it back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvmocap.errors import InputError


@dataclass(frozen=True)
class RleMask:
    """A binary mask ``(height, width)`` as alternating run lengths ``counts`` (int32, background first)."""

    height: int
    width: int
    counts: np.ndarray

    def __post_init__(self) -> None:
        if int(np.sum(self.counts, dtype=np.int64)) != self.height * self.width:
            raise InputError(f"RLE runs sum to {int(np.sum(self.counts))}, expected {self.height * self.width}")

    @property
    def area_fraction(self) -> float:
        """Fraction of foreground pixels."""
        return float(np.sum(self.counts[1::2], dtype=np.int64)) / max(self.height * self.width, 1)

    def decode(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """Back to a ``(H, W)`` bool array; ``size=(width, height)`` resizes (nearest) to that size."""
        values = np.zeros(len(self.counts), dtype=bool)
        values[1::2] = True
        mask = np.repeat(values, self.counts).reshape(self.height, self.width)
        if size is not None and (size[0], size[1]) != (self.width, self.height):
            import cv2

            mask = cv2.resize(mask.astype(np.uint8), (int(size[0]), int(size[1])), interpolation=cv2.INTER_NEAREST) > 0
        return mask


def rle_encode(mask: np.ndarray) -> RleMask:
    """``(H, W)`` bool/0-1 mask -> :class:`RleMask` (row-major runs, background first)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InputError(f"mask must be 2D (H, W), got shape {mask.shape}")
    flat = mask.reshape(-1).astype(bool)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds)
    if flat.size and flat[0]:
        counts = np.concatenate(([0], counts))
    return RleMask(mask.shape[0], mask.shape[1], counts.astype(np.int32))


def pack_masks(masks: list[RleMask | None]) -> dict[str, np.ndarray]:
    """A sequence of masks (None = no mask) -> flat arrays for an ``.npz`` file."""
    shapes = np.array([(m.height, m.width) if m is not None else (0, 0) for m in masks], dtype=np.int32).reshape(-1, 2)
    lengths = np.array([len(m.counts) if m is not None else -1 for m in masks], dtype=np.int64)
    counts = [m.counts for m in masks if m is not None]
    flat = np.concatenate(counts).astype(np.int32) if counts else np.zeros(0, np.int32)
    return {"mask_shapes": shapes, "mask_lengths": lengths, "mask_counts": flat}


def unpack_masks(shapes: np.ndarray, lengths: np.ndarray, counts: np.ndarray) -> list[RleMask | None]:
    """Inverse of :func:`pack_masks`."""
    masks: list[RleMask | None] = []
    start = 0
    for (h, w), n in zip(shapes, lengths):
        if n < 0:
            masks.append(None)
            continue
        masks.append(RleMask(int(h), int(w), counts[start : start + n].copy()))
        start += int(n)
    return masks
