import torch

from mvmocap.regressors.cra.inputs import (
    COARSE_PARTS, LIMB_JOINTS, dense_evidence, drop_coarse_part, normalised, remove_limb_joints, view_evidence,
)


def _labels(gen, n=5, size=12):
    part = torch.randint(0, 25, (n, size, size), generator=gen).float()
    uv = torch.rand(n, 2, size, size, generator=gen) * (part > 0)[:, None]
    return torch.cat([part[:, None], uv], 1)


def test_dense_evidence_one_hot_and_compact(gen):
    labels = _labels(gen)
    dense, compact = dense_evidence(labels, 24)
    assert dense.shape == (5, 26, 12, 12) and compact.shape == (5, 3, 12, 12)
    part = labels[:, 0].long()
    assert torch.equal(dense[:, :24].sum(1), (part > 0).float())  # one part per foreground pixel
    assert torch.equal(dense[:, :24].argmax(1)[part > 0] + 1, part[part > 0])
    assert torch.allclose(compact[:, 0], part / 24.0)
    sil, sil_compact = dense_evidence(labels, 1)
    assert sil.shape == (5, 3, 12, 12) and torch.equal(sil[:, 0], (part > 0).float()) and sil[:, 1:].abs().sum() == 0
    assert torch.equal(sil, sil_compact)


def test_part_drop_masks_exactly_one_coarse_part(gen):
    labels = _labels(gen, n=64)
    dropped = drop_coarse_part(labels, 1.0, gen)
    for before, after in zip(labels, dropped):
        gone = set(before[0].long().unique().tolist()) - set(after[0].long().unique().tolist())
        assert gone, "something must vanish"
        assert any(gone <= set(members) for members in COARSE_PARTS.values())
        kept = after[0] > 0
        assert torch.equal(after[:, kept], before[:, kept])
    assert torch.equal(drop_coarse_part(labels, 0.0, gen), labels)


def test_limb_joint_removal(gen):
    kp = torch.rand(10, 17, 3, generator=gen) + 0.1
    all_gone = remove_limb_joints(kp, 1.0, gen)
    assert all_gone[:, list(LIMB_JOINTS)].abs().sum() == 0
    others = [j for j in range(17) if j not in LIMB_JOINTS]
    assert torch.equal(all_gone[:, others], kp[:, others])
    half = remove_limb_joints(kp, 0.5, gen)
    share = (half[:, list(LIMB_JOINTS), 2] == 0).float().mean()
    assert 0.25 < share < 0.75


def test_view_evidence_heatmaps_peak_at_the_joints(gen):
    kp = torch.tensor([[[5.0, 7.0, 1.0]] * 17])
    kp[0, 3, 2] = 0.0
    ev = view_evidence(kp, torch.zeros(1, 3, 16, 16), 24, 1.0)
    assert ev.heatmaps.shape == (1, 17, 16, 16)
    peak = ev.heatmaps[0, 0].argmax()
    assert (int(peak % 16), int(peak // 16)) == (5, 7)
    assert ev.heatmaps[0, 3].abs().sum() == 0 and torch.equal(ev.joints[0, 3], torch.zeros(2))
    assert torch.allclose(ev.joints[0, 0], normalised(torch.tensor([5.0, 7.0]), 16))
    assert torch.allclose(normalised(torch.tensor([-0.5, 15.5]), 16), torch.tensor([-1.0, 1.0]))
