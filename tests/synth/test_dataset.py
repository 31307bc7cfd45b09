from dataclasses import replace
import pytest
import torch

from mvmocap.geometry.projection import project_points
from mvmocap.synth import evidence as ev
from mvmocap.errors import InputError
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView
from mvmocap.synth.pose_sampler import ALL_FAMILIES


@pytest.fixture(scope="module")
def data(toy_body):
    cfg = SynthConfig(views=3, heatmap_size=32, render_size=48, render_iuv=True, return_vertices=True,
                      augment=ev.AugmentConfig(part_drop=0.0, occluder=0.0, missing_view=0.0, box_jitter=0.0))
    return SyntheticMultiView(toy_body, cfg, length=8, seed=7)


def test_shapes(data, toy_body):
    s = data.batch([0, 1])
    C, J, S = 3, 17, 48
    expected = {
        "global_orient": (2, 3), "body_pose": (2, 23, 3), "betas": (2, 10), "transl": (2, 3), "joints3d": (2, J, 3),
        "vertices": (2, toy_body.num_vertices, 3), "K": (2, C, 3, 3), "R": (2, C, 3, 3), "t": (2, C, 3),
        "dist": (2, C, 5), "image_size": (2, C, 2), "crop": (2, C, 3), "K_crop": (2, C, 3, 3),
        "keypoints2d": (2, C, J, 3), "keypoints2d_gt": (2, C, J, 2), "keypoints_crop": (2, C, J, 3),
        "heatmaps": (2, C, J, 32, 32), "mask": (2, C, S, S), "iuv": (2, C, 3, S, S), "view_valid": (2, C),
        "pose_family": (2,), "rig_family": (2,), "index": (2,),
    }
    assert {k: tuple(v.shape) for k, v in s.items()} == expected
    single = data[3]
    assert single["keypoints2d"].shape == (C, J, 3)


def test_reproducible_whatever_the_batching(data):
    a = data.batch([2, 5])
    b = data.batch([5])
    c = data[2]
    # Identical draws; batched body-model maths may round differently in the last bits.
    for key in ("global_orient", "betas", "K", "R", "view_valid", "pose_family", "rig_family"):
        assert torch.equal(a[key][1], b[key][0]), key
        assert torch.equal(a[key][0], c[key]), key
    for key in ("joints3d", "keypoints2d"):
        assert torch.allclose(a[key][1], b[key][0], atol=1e-3), key
        assert torch.allclose(a[key][0], c[key], atol=1e-3), key
    assert (a["mask"][1] == b["mask"][0]).float().mean() > 0.995


def test_geometry_is_consistent(data):
    s = data.batch([0, 1, 2])
    proj = project_points(s["joints3d"][:, None], s["K"], s["dist"], s["R"], s["t"])
    assert torch.allclose(proj, s["keypoints2d_gt"], atol=1e-3)
    # The (noiseless) joints fall inside the rendered silhouette, nearly all of them.
    gt_crop = ev.to_crop(s["keypoints2d_gt"], s["crop"], 48).round().long().clamp(0, 47)
    m = s["mask"]
    hit = torch.stack([m[b, c, gt_crop[b, c, :, 1], gt_crop[b, c, :, 0]] for b in range(3) for c in range(3)])
    assert hit.mean() > 0.9
    # IUV labels only where the mask is.
    assert torch.all((s["iuv"][:, :, 0] > 0) == (s["mask"] > 0))
    # The mesh fills the crop's height at scale 1.2 (about 1/1.2 of it).
    rows = (m.sum(-1) > 0).sum(-1).float()
    assert rows.min() > 0.6 * 48 and rows.max() <= 48


def test_heatmaps_follow_keypoints(data):
    s = data.batch([4])
    hm = s["heatmaps"][0]
    kp = ev.to_crop(s["keypoints2d"][0, ..., :2], s["crop"][0], 32)
    conf = s["keypoints2d"][0, ..., 2]
    flat = hm.flatten(-2).argmax(-1)
    peak = torch.stack([flat % 32, flat // 32], -1).float()
    inside = (conf > 0) & (kp >= 0).all(-1) & (kp <= 31).all(-1)
    assert ((peak - kp.round()).abs().amax(-1)[inside] <= 1).all()


def test_missing_views_zero_their_evidence(toy_body):
    cfg = SynthConfig(views=4, render_size=32, augment=ev.AugmentConfig(missing_view=0.5, occluder=0.0, part_drop=0.0))
    s = SyntheticMultiView(toy_body, cfg, length=6, seed=1).batch(list(range(6)))
    lost = ~s["view_valid"]
    assert lost.any() and (s["view_valid"].sum(-1) >= 2).all()
    assert torch.all(s["keypoints2d"][lost] == 0) and torch.all(s["mask"][lost] == 0)


def test_config_from_dict_validates():
    from mvmocap.errors import InputError

    cfg = SynthConfig.from_dict({"views": 2, "augment": "none", "noise": {"dropout": 0.5}, "pose_families": ["sitting"]})
    assert cfg.views == 2 and cfg.noise.dropout == 0.5 and cfg.pose_families == ("sitting",)
    with pytest.raises(InputError):
        SynthConfig.from_dict({"viewz": 3})
    with pytest.raises(InputError):
        SynthConfig.from_dict({"views": 9})


def test_pose_family_weights_steer_the_families(toy_body):
    cfg = SynthConfig.from_dict(
        {"views": 2, "pose_families": ["sitting", "gesturing"], "pose_family_weights": [0, 1], "augment": "none"}
    )
    batch = SyntheticMultiView(toy_body, cfg, length=8, seed=3).batch(list(range(8)))
    assert torch.all(batch["pose_family"] == ALL_FAMILIES.index("gesturing"))
    for bad in ([1.0], [1.0, -1.0], [0, 0]):
        with pytest.raises(InputError, match="pose_family_weights"):
            SynthConfig.from_dict({"pose_families": ["sitting", "gesturing"], "pose_family_weights": bad})


def test_pose_files_feed_the_dataset(toy_body, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "amass.npz", poses=rng.normal(0, 0.2, (5, 156)), trans=np.zeros((5, 3)),
             mocap_framerate=np.array(60.0))
    cfg = SynthConfig.from_dict({"views": 2, "pose_files": [str(tmp_path / "amass.npz")], "pose_file_share": 1.0,
                                 "augment": "none"})
    s = SyntheticMultiView(toy_body, cfg, length=3, seed=0).batch([0, 1, 2])
    assert torch.all(s["pose_family"] == -1)
    frames = np.load(tmp_path / "amass.npz")["poses"][:, 3:66].reshape(5, 21, 3)
    got = s["body_pose"][:, :21].double().numpy()
    assert all(np.abs(frames - g[None]).max(axis=(1, 2)).min() < 1e-5 for g in got)


def test_views_min_draws_rig_sizes_within_range(toy_body):
    cfg = SynthConfig(views=6, views_min=2, augment=ev.AugmentConfig.none())
    s = SyntheticMultiView(toy_body, cfg, length=40, seed=3).batch(list(range(40)))
    counts = s["view_valid"].sum(-1)
    assert int(counts.min()) >= 2 and int(counts.max()) <= 6
    assert len(set(counts.tolist())) >= 4  # the sizes vary
    lost = ~s["view_valid"]
    assert torch.all(s["keypoints2d"][lost] == 0)
    with pytest.raises(InputError):
        SynthConfig.from_dict({"views": 4, "views_min": 5})


def test_pipeline_skeleton_repairs_sides_and_triangulates(toy_body):
    from mvmocap.keypoints import COCO17, flip_permutation

    noise = ev.DetectorNoise(sigma=(0.0,) * 17, outlier_rate=0.0, swap_rate=0.3, confidence_range=(1.0, 1.0))
    cfg = SynthConfig(views=5, noise=noise, augment=ev.AugmentConfig.none(), pipeline_skeleton=True)
    plain = SyntheticMultiView(toy_body, replace(cfg, pipeline_skeleton=False), length=8, seed=5).batch(list(range(8)))
    s = SyntheticMultiView(toy_body, cfg, length=8, seed=5).batch(list(range(8)))
    gt = s["keypoints2d_gt"]
    mirrored = gt[..., list(flip_permutation(COCO17)), :]

    def swapped(kp):  # (B, C) True where a view matches the mirrored labels
        return (kp[..., :2] - mirrored).norm(dim=-1).amax(-1) < 1e-3

    mixed_before = swapped(plain["keypoints2d"]).any(-1) & ~swapped(plain["keypoints2d"]).all(-1)
    after = swapped(s["keypoints2d"])
    assert bool(mixed_before.any())  # some samples had some views swapped ...
    assert bool((after.all(-1) | ~after.any(-1)).all())  # ... and after the repair every sample is consistent
    assert s["triangulated"].shape == (8, 17, 3) and bool((s["triangulated_confidence"] > 0).all())
    consistent = ~after.any(-1)
    assert float((s["triangulated"] - s["joints3d"])[consistent].norm(dim=-1).max()) < 1e-3
