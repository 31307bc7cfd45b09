"""Run-length encoded masks."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.detect.masks import RleMask, pack_masks, rle_encode, unpack_masks
from mvmocap.errors import InputError


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (48, 64)])
def test_round_trip_random(shape, rng):
    for density in (0.0, 0.3, 1.0):
        mask = rng.uniform(size=shape) < density
        rle = rle_encode(mask)
        np.testing.assert_array_equal(rle.decode(), mask)
        assert rle.area_fraction == pytest.approx(mask.mean())


def test_runs_start_with_background():
    rle = rle_encode(np.array([[1, 1, 0], [0, 1, 1]], bool))
    assert rle.counts.tolist() == [0, 2, 2, 2]
    assert rle_encode(np.zeros((2, 2), bool)).counts.tolist() == [4]


def test_decode_resizes():
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    big = rle_encode(mask).decode((8, 8))
    assert big.shape == (8, 8) and big[:4, :4].all() and not big[4:].any() and not big[:, 4:].any()


def test_inconsistent_counts():
    with pytest.raises(InputError):
        RleMask(2, 2, np.array([1, 1], np.int32))


def test_pack_unpack(rng):
    masks = [rle_encode(rng.uniform(size=(6, 5)) < 0.5), None, rle_encode(np.ones((3, 3), bool))]
    packed = pack_masks(masks)
    back = unpack_masks(packed["mask_shapes"], packed["mask_lengths"], packed["mask_counts"])
    assert back[1] is None
    for a, b in ((masks[0], back[0]), (masks[2], back[2])):
        np.testing.assert_array_equal(a.decode(), b.decode())
