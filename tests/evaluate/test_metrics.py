import math

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.evaluate import metrics
from mvmocap.geometry.rotations import axis_angle_to_matrix


def skeleton(seed=0, n=17):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_hand_computed_mpjpe():
    gt = torch.zeros(1, 4, 3, dtype=torch.float64)
    pred = gt.clone()
    pred[0, 0, 0] = 0.03  # 30 mm on one joint of four
    pred[0, 1, 1] = 0.01  # 10 mm on another
    # absolute MPJPE: (30 + 10 + 0 + 0) / 4 = 10 mm
    assert float(metrics.mpjpe(pred, gt, root=None)) == pytest.approx(10.0)
    # root = joints 2, 3 (unmoved): the same
    assert float(metrics.mpjpe(pred, gt, root=(2, 3))) == pytest.approx(10.0)
    # root = joint 0: every other joint moves by -30 mm in x -> (0 + sqrt(30^2 + 10^2) + 30 + 30) / 4
    expected = (0 + math.sqrt(900 + 100) + 30 + 30) / 4
    assert float(metrics.mpjpe(pred, gt, root=(0,))) == pytest.approx(expected)


def test_translation_is_ignored_by_root_alignment_and_counted_absolute():
    gt = skeleton()[None]
    pred = gt + torch.tensor([0.1, -0.2, 0.05], dtype=torch.float64)
    assert float(metrics.mpjpe(pred, gt)) == pytest.approx(0.0, abs=1e-9)
    assert float(metrics.mpjpe(pred, gt, root=None)) == pytest.approx(1000 * math.sqrt(0.01 + 0.04 + 0.0025))


def test_n_mpjpe_removes_scale_and_pa_removes_rotation():
    gt = skeleton(1)[None]
    root = gt[:, [11, 12]].mean(-2, keepdim=True)
    scaled = (gt - root) * 1.1 + root
    assert float(metrics.n_mpjpe(scaled, gt)) == pytest.approx(0.0, abs=1e-9)
    assert float(metrics.mpjpe(scaled, gt)) > 1.0
    R = axis_angle_to_matrix(torch.tensor([0.3, -0.2, 0.9], dtype=torch.float64))
    moved = 0.8 * gt @ R.T + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    assert float(metrics.pa_mpjpe(moved, gt)) == pytest.approx(0.0, abs=1e-6)
    assert float(metrics.n_mpjpe(moved, gt)) > 1.0


def test_n_mpjpe_hand_case():
    # gt at +-1 m on x around the root; pred at +-2 m: optimal scale 0.5 -> 0 error.
    gt = torch.tensor([[[1.0, 0, 0], [-1.0, 0, 0]]], dtype=torch.float64)
    pred = 2 * gt
    assert float(metrics.n_mpjpe(pred, gt, root=(0, 1))) == pytest.approx(0.0)
    # pred collapsed onto the root: scale is undefined, error = mean |gt| = 1000 mm.
    assert float(metrics.n_mpjpe(torch.zeros_like(gt), gt, root=(0, 1))) == pytest.approx(1000.0)


def test_pck_and_auc_hand_case():
    gt = torch.zeros(1, 4, 3, dtype=torch.float64)
    pred = gt.clone()
    pred[0, :, 0] = torch.tensor([0.0, 0.099, 0.2, 0.0])  # 0, 99, 200, 0 mm
    assert float(metrics.pck(pred, gt, 150.0, root=None)) == pytest.approx(0.75)
    assert float(metrics.pck(pred, gt, 50.0, root=None)) == pytest.approx(0.5)
    # AUC over 0, 5, ..., 150 (31 thresholds): joints at 0 mm always count (2 x 31), the 99 mm joint
    # for thresholds >= 100 (11 of them), the 200 mm joint never.
    assert float(metrics.auc(pred, gt, root=None)) == pytest.approx((2 * 31 + 11) / (4 * 31))


def test_pve_uses_the_joints_root():
    gt_v = skeleton(2, 50)[None]
    gt_j = skeleton(3)[None]
    shift = torch.tensor([0.5, 0.0, 0.0], dtype=torch.float64)
    assert float(metrics.pve(gt_v + shift, gt_v, gt_j + shift, gt_j)) == pytest.approx(0.0, abs=1e-9)
    assert float(metrics.pve(gt_v + shift, gt_v)) == pytest.approx(500.0)


@pytest.mark.parametrize("lead", [(1,), (2, 3)])
def test_batch_shapes_and_summary(lead):
    gt = torch.randn(lead + (17, 3), generator=torch.Generator().manual_seed(0))
    pred = gt + 0.01 * torch.randn(lead + (17, 3), generator=torch.Generator().manual_seed(1))
    for fn in (metrics.mpjpe, metrics.n_mpjpe, metrics.pa_mpjpe, metrics.pck, metrics.auc):
        assert fn(pred, gt).shape == lead
    s = metrics.summarize(pred.reshape(-1, 17, 3), gt.reshape(-1, 17, 3))
    assert set(s) == {"mpjpe", "mpjpe_abs", "pa_mpjpe", "n_mpjpe", "pck150", "auc"}
    assert s["pa_mpjpe"] <= s["mpjpe"] + 1e-6 and s["pck150"] == 1.0


def test_shape_errors():
    with pytest.raises(InputError):
        metrics.mpjpe(torch.zeros(2, 17, 3), torch.zeros(2, 16, 3))
