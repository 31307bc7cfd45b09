"""Consensus, diversity and balance: invariance to view order, missing views, set relations."""

from __future__ import annotations

import pytest
import torch

from mvmocap.regressors.volumetric import aggregation as agg


def _inputs(B=2, C=4, Ch=3, P=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(B, C, Ch, P, generator=g)
    occ = (torch.rand(B, C, P, generator=g) > 0.4).float()
    phi = torch.rand(B, C, P, generator=g) + 0.1
    valid = torch.ones(B, C, dtype=torch.bool)
    valid[1, 2] = False
    return feats, occ, phi, valid


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariant_to_view_order(seed):
    feats, occ, phi, valid = _inputs(seed=seed)
    perm = torch.randperm(feats.shape[1], generator=torch.Generator().manual_seed(seed + 10))
    for fn, args in ((agg.consensus, (feats, occ, valid)), (agg.diversity, (feats, occ, valid)),
                     (agg.balance, (feats, phi, valid))):
        a = fn(*args)
        b = fn(*(x[:, perm] for x in args))
        assert torch.allclose(a, b, atol=1e-6), fn.__name__


def test_intersection_inside_union_and_missing_views_ignored():
    feats, occ, phi, valid = _inputs()
    inter, uni = agg.intersection(occ, valid), agg.union(occ, valid)
    assert torch.all(inter <= uni)
    # The invalid view of sample 1 does not change anything, whatever it holds.
    occ2, feats2, phi2 = occ.clone(), feats.clone(), phi.clone()
    occ2[1, 2] = 1 - occ2[1, 2]
    feats2[1, 2] = 100.0
    phi2[1, 2] = 50.0
    assert torch.equal(agg.intersection(occ2, valid), inter)
    assert torch.equal(agg.union(occ2, valid), uni)
    assert torch.allclose(agg.view_mean(feats2, valid), agg.view_mean(feats, valid))
    assert torch.allclose(agg.balance(feats2, phi2, valid), agg.balance(feats, phi, valid))


def test_balance_prefers_the_consistent_view():
    feats = torch.stack([torch.zeros(1, 1), torch.ones(1, 1)])[None]  # (1, 2, 1, 1): view 0 says 0, view 1 says 1
    phi = torch.tensor([[[9.0], [1.0]]])  # view 0 much more consistent
    out = agg.balance(feats, phi, torch.ones(1, 2, dtype=torch.bool))
    assert float(out) == pytest.approx(0.1)
    # equal consistency -> the plain mean
    out = agg.balance(feats, torch.ones(1, 2, 1), torch.ones(1, 2, dtype=torch.bool))
    assert float(out) == pytest.approx(0.5)


def test_consistency_map_is_largest_where_prediction_matches():
    mask = torch.zeros(1, 8, 8)
    mask[0, 2:6, 2:6] = 1
    hm = torch.zeros(1, 17, 8, 8)
    good = agg.consistency_map(mask, mask, hm, hm, eps=0.1)
    bad = agg.consistency_map(1 - mask, mask, hm, hm, eps=0.1)
    assert torch.allclose(good, torch.full_like(good, 10.0))
    assert torch.all(bad < good)
