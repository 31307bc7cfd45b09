import pytest
import torch

from mvmocap.synth import evidence as ev


@pytest.mark.parametrize("lead", [(), (1,), (2, 3)])
def test_crop_round_trip_and_intrinsics(lead):
    g = torch.Generator().manual_seed(0)
    boxes = torch.rand(lead + (4,), generator=g, dtype=torch.float64) * 100
    boxes[..., 2:] = boxes[..., :2] + 20 + torch.rand(lead + (2,), generator=g, dtype=torch.float64) * 300
    crops = ev.square_crops(boxes, 1.2)
    side = 1.2 * torch.maximum(boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1])
    assert torch.allclose(crops[..., 2], side)
    S = 64
    corners = torch.stack([crops[..., 0] - crops[..., 2] / 2, crops[..., 1] - crops[..., 2] / 2], -1).unsqueeze(-2)
    centre = crops[..., :2].unsqueeze(-2)
    assert torch.allclose(ev.to_crop(corners, crops, S), torch.full_like(corners, -0.5))
    assert torch.allclose(ev.to_crop(centre, crops, S), torch.full_like(centre, S / 2 - 0.5))
    # Crop intrinsics project like "project, then crop".
    K = torch.tensor([[800.0, 0, 320], [0, 800, 240], [0, 0, 1]], dtype=torch.float64).expand(lead + (3, 3))
    X = torch.tensor([[0.1, -0.2, 3.0]], dtype=torch.float64)
    full = (K @ X.T).transpose(-1, -2)
    full = full[..., :2] / full[..., 2:]
    Kc = ev.crop_intrinsics(K, crops, S)
    cropped = (Kc @ X.T).transpose(-1, -2)
    assert torch.allclose(cropped[..., :2] / cropped[..., 2:], ev.to_crop(full, crops, S))


def test_bounding_boxes_ignore_invalid_points():
    pts = torch.tensor([[[1.0, 2.0], [5.0, 9.0], [100.0, 100.0]]])
    valid = torch.tensor([[True, True, False]])
    assert torch.equal(ev.bounding_boxes(pts, valid), torch.tensor([[1.0, 2.0, 5.0, 9.0]]))
    assert torch.equal(ev.bounding_boxes(pts, torch.zeros_like(valid)), torch.zeros(1, 4))


def test_heatmap_peaks_at_the_point():
    pts = torch.tensor([[[10.0, 20.0], [33.3, 4.6]]])
    conf = torch.tensor([[1.0, 0.0]])
    hm = ev.gaussian_heatmaps(pts, conf, 48, sigma=2.0)
    assert hm.shape == (1, 2, 48, 48)
    peak = hm[0, 0].flatten().argmax()
    assert (int(peak % 48), int(peak // 48)) == (10, 20)
    assert float(hm[0, 0].max()) == pytest.approx(1.0)
    assert hm[0, 1].abs().max() == 0


def test_noise_model_statistics():
    noise = ev.DetectorNoise(sigma=(0.02,) * 17, outlier_rate=0.0, dropout=0.1, swap_rate=0.0)
    pts = torch.rand(4000, 17, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 500
    box = torch.full((4000,), 400.0, dtype=torch.float64)
    noisy, conf = noise.apply(pts, box, torch.Generator().manual_seed(1))
    kept = conf > 0
    assert abs(float((~kept).double().mean()) - 0.1) < 0.01
    err = (noisy - pts)[kept]
    assert abs(float(err.std()) - 8.0) < 0.3  # 0.02 * 400 px per axis
    assert torch.all(noisy[~kept] == 0)


def test_noise_swaps_left_and_right():
    noise = ev.DetectorNoise(sigma=(0.0,) * 17, outlier_rate=0.0, dropout=0.0, swap_rate=1.0)
    pts = torch.arange(17 * 2, dtype=torch.float64).reshape(1, 17, 2)
    noisy, _ = noise.apply(pts, torch.ones(1, dtype=torch.float64), torch.Generator())
    assert torch.equal(noisy[0, 5], pts[0, 6]) and torch.equal(noisy[0, 0], pts[0, 0])


def test_part_drop_and_occluders():
    g = torch.Generator().manual_seed(0)
    iuv = torch.zeros(3, 3, 16, 16)
    iuv[:, 0, 4:12, 4:12] = 5.0
    iuv[:, 0, 0:2, 0:2] = 7.0
    mask = (iuv[:, 0] > 0).float()
    out_iuv, out_mask = ev.part_drop(iuv, mask, g, probability=1.0)
    assert out_iuv.abs().sum() == 0 and out_mask.sum() == 0
    same_iuv, same_mask = ev.part_drop(iuv, mask, g, probability=0.0)
    assert torch.equal(same_iuv, iuv) and torch.equal(same_mask, mask)
    occ = ev.random_rectangles((3,), 16, g, probability=1.0)
    assert occ.shape == (3, 16, 16) and occ.any(-1).any(-1).all()
    kp = torch.tensor([[[8.0, 8.0]]]).expand(3, 1, 2)
    conf = torch.ones(3, 1)
    occ = torch.zeros(3, 16, 16, dtype=torch.bool)
    occ[1, 6:10, 6:10] = True
    m2, i2, c2 = ev.occlude(occ, mask, iuv, kp, conf, 16)
    assert c2[:, 0].tolist() == [1.0, 0.0, 1.0]
    assert m2[1, 6:10, 6:10].sum() == 0 and m2[0].sum() == mask[0].sum()


def test_missing_views_keep_a_minimum():
    for seed in range(20):
        keep = ev.missing_views(4, torch.Generator().manual_seed(seed), probability=0.9, min_views=2)
        assert keep.sum() >= 2
    assert ev.missing_views(3, torch.Generator(), probability=0.0).all()
