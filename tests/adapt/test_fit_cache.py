"""The SPIN-style cache keeps the lower-energy fit per frame."""

from __future__ import annotations

import torch

from mvmocap.adapt.fit_cache import FitCache
from mvmocap.body.params import BodyParams


def _params(F: int, value: float, valid=None) -> BodyParams:
    g = torch.Generator().manual_seed(int(value * 10))
    return BodyParams(torch.full((F, 3), value), 0.1 * torch.randn(F, 23, 3, generator=g), torch.full((10,), value),
                      torch.full((F, 3), value), torch.ones(F, dtype=torch.bool) if valid is None else valid)


def test_update_keeps_the_lower_energy_per_frame():
    cache = FitCache.from_fit(_params(4, 1.0, torch.tensor([True, True, True, False])), torch.tensor([5.0, 1.0, 3.0, 2.0]))
    assert cache.valid.tolist() == [True, True, True, False]
    assert torch.isinf(cache.energy[3])
    new = _params(4, 2.0)
    replaced = cache.update(new, torch.tensor([4.0, 2.0, float("inf"), 9.0]))
    assert replaced.tolist() == [True, False, False, True]
    assert cache.energy.tolist() == [4.0, 1.0, 3.0, 9.0]
    assert cache.global_orient[:, 0].tolist() == [2.0, 1.0, 1.0, 2.0]
    assert cache.betas[:, 0].tolist() == [2.0, 1.0, 1.0, 2.0]
    assert torch.equal(cache.body_pose[0], new.body_pose[0].float())
    assert cache.valid.all()
    restored = FitCache.from_state(cache.state_dict())
    assert all(torch.equal(getattr(restored, k), getattr(cache, k)) for k in cache.state_dict())


def test_an_invalid_new_fit_never_replaces():
    cache = FitCache.from_fit(_params(2, 1.0), torch.tensor([5.0, 5.0]))
    replaced = cache.update(_params(2, 2.0, torch.tensor([False, True])), torch.tensor([1.0, 1.0]))
    assert replaced.tolist() == [False, True]
    assert cache.mean_energy() == 3.0
