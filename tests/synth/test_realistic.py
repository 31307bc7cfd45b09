import numpy as np
import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView
from mvmocap.synth.realistic import RealisticNoise, _runs, _Draws


def _scene(T=1, C=3, seed=0, n=1):
    rng = np.random.default_rng(seed)
    pts = torch.as_tensor(300 + 400 * rng.random((T * n, C, 17, 2)))
    box = torch.full((T * n, C), 500.0, dtype=torch.float64)
    size = torch.tensor([[1280.0, 1280.0]] * C, dtype=torch.float64)
    return pts, box, size


def test_shapes_no_nan_and_deterministic():
    pts, box, size = _scene(T=20)
    noise = RealisticNoise()
    a = noise.apply(pts, box, None, size, torch.Generator().manual_seed(3))
    b = noise.apply(pts, box, None, size, torch.Generator().manual_seed(3))
    c = noise.apply(pts, box, None, size, torch.Generator().manual_seed(4))
    assert a[0].shape == (20, 3, 17, 2) and a[1].shape == (20, 3, 17)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    assert torch.isfinite(a[0]).all() and torch.isfinite(a[1]).all()
    assert float(a[1].min()) >= 0 and float(a[1].max()) <= 1


def test_confidence_tracks_error_on_a_big_draw():
    pts, box, size = _scene(T=1, C=4, n=3000)
    noise = RealisticNoise(swap_rate=0, limb_swap_rate=0, wrong_person_rate=0, lost_rate=0, error_gain=0.5,
                           confidence_corr=0.6, confidence_offset=(0.0,) * 17)
    p, c = noise.apply(pts, box, None, size, torch.Generator().manual_seed(0))
    err = (p - pts).norm(dim=-1)
    low, high = c < torch.quantile(c, 0.1), c > torch.quantile(c, 0.5)
    assert float(err[low].median()) > 1.5 * float(err[high].median())
    # Spearman rank correlation of (1 - confidence) and error is clearly positive.
    rank = lambda x: x.flatten().argsort().argsort().double()  # noqa: E731
    r = np.corrcoef(rank(-c + 1e-9 * torch.rand(c.shape, generator=torch.Generator().manual_seed(1))), rank(err))[0, 1]
    assert r > 0.15


def test_occluded_joints_are_worse_and_can_be_dropped():
    pts, box, size = _scene(T=1, C=4, n=2000)
    hidden = torch.zeros(pts.shape[:3], dtype=torch.bool)
    hidden[..., ::2] = True
    noise = RealisticNoise(occluded_shift=1.0, occluded_drop=0.3, swap_rate=0, limb_swap_rate=0, wrong_person_rate=0,
                           lost_rate=0, sigma=(0.02,) * 17, error_gain=0.5, confidence_offset=(0.0,) * 17)
    p, c = noise.apply(pts, box, ~hidden, size, torch.Generator().manual_seed(0))
    err = (p - pts).norm(dim=-1)
    kept = c > 0
    assert float(err[hidden & kept].median()) > 1.4 * float(err[~hidden].median())  # exp(0.5) = 1.65
    assert float(c[hidden & kept].mean()) < float(c[~hidden].mean())
    drop = float((c[hidden] == 0).double().mean())
    assert 0.25 < drop < 0.35 and float((c[~hidden] == 0).double().mean()) == 0.0


def test_outside_the_image_has_confidence_zero():
    pts, box, size = _scene(T=1, C=2)
    pts[0, 0, 3] = torch.tensor([-50.0, 100.0])
    pts[0, 1, 5] = torch.tensor([600.0, 1500.0])
    noise = RealisticNoise(sigma=(0.0,) * 17, outlier_rate=0, swap_rate=0, limb_swap_rate=0, wrong_person_rate=0,
                           lost_rate=0)
    p, c = noise.apply(pts, box, None, size, torch.Generator().manual_seed(0))
    assert float(c[0, 0, 3]) == 0 and float(c[0, 1, 5]) == 0
    assert torch.equal(p[0, 0, 3], torch.zeros(2, dtype=p.dtype))
    assert float(c[0, 0, 4]) > 0


def test_lost_person_comes_in_stretches_along_time():
    draw = _Draws(torch.Generator().manual_seed(0), torch.float64, torch.device("cpu"))
    runs = _runs(draw, 4000, 4, 0.1, 10.0)
    share = float(runs.double().mean())
    assert 0.07 < share < 0.13
    starts = (runs[1:] & ~runs[:-1]).sum()
    mean_len = float(runs.sum()) / float(starts)
    assert 7 < mean_len < 13
    single = _runs(draw, 1, 20000, 0.1, 10.0)
    assert 0.09 < float(single.double().mean()) < 0.11


def test_lost_view_and_wrong_person():
    pts, box, size = _scene(T=60, C=4)
    lost = RealisticNoise(lost_rate=0.5, lost_frames=20, swap_rate=0, limb_swap_rate=0, wrong_person_rate=0)
    _, c = lost.apply(pts, box, None, size, torch.Generator().manual_seed(0))
    gone = (c == 0).all(-1)  # (T, C)
    assert 0.2 < float(gone.double().mean()) < 0.8
    wrong = RealisticNoise(wrong_person_rate=0.9, wrong_person_frames=50, lost_rate=0, swap_rate=0, limb_swap_rate=0)
    p, c = wrong.apply(pts, box, None, size, torch.Generator().manual_seed(0))
    far = (p - pts).norm(dim=-1).median(-1).values > 0.5 * box  # a whole skeleton elsewhere
    assert float(far.double().mean()) > 0.5
    assert float(c[far].mean()) > 0.5  # confident


def test_whole_view_swap_exchanges_left_and_right():
    pts, box, size = _scene(T=1, C=1, n=400)
    noise = RealisticNoise(sigma=(0.0,) * 17, outlier_rate=0, swap_rate=0.5, limb_swap_rate=0, wrong_person_rate=0,
                           lost_rate=0)
    p, _ = noise.apply(pts, box, None, size, torch.Generator().manual_seed(0))
    swapped = torch.isclose(p[:, 0, 5], pts[:, 0, 6]).all(-1)
    assert 0.4 < float(swapped.double().mean()) < 0.6
    assert torch.equal(p[swapped][:, 0, 6], pts[swapped][:, 0, 5])


def test_config_accepts_realistic_noise(toy_body):
    cfg = SynthConfig.from_dict({"views": 3, "noise": {"kind": "realistic", "lost_rate": 0.05}})
    assert isinstance(cfg.noise, RealisticNoise) and cfg.noise.lost_rate == 0.05
    from mvmocap.synth.evidence import DetectorNoise

    detector = SynthConfig.from_dict({"noise": {"kind": "detector", "swap_rate": 0.0}}).noise
    assert isinstance(detector, DetectorNoise) and detector.swap_rate == 0.0
    assert isinstance(SynthConfig().noise, DetectorNoise)  # the default is unchanged
    with pytest.raises(InputError, match="unknown realistic noise option"):
        SynthConfig.from_dict({"noise": {"kind": "realistic", "bogus": 1}})
    with pytest.raises(InputError, match="lost_rate"):
        SynthConfig.from_dict({"noise": {"kind": "realistic", "lost_rate": 1.5}})
    ds = SyntheticMultiView(toy_body, cfg, length=8, seed=1)
    a, b = ds.batch([0, 1, 2]), ds.batch([2])
    assert a["visible"].shape == (3, 3, 17) and a["keypoints2d"].shape == (3, 3, 17, 3)
    assert torch.equal(a["keypoints2d"][2], b["keypoints2d"][0])
    assert torch.isfinite(a["keypoints2d"]).all()


def test_dataset_with_render_reuses_the_crop_depth(toy_body):
    base = {"views": 4, "render_size": 32, "noise": {"kind": "realistic"}, "distortion_share": 1.0, "augment": "none"}
    ds = SyntheticMultiView(toy_body, SynthConfig.from_dict(base), length=4, seed=2)
    s = ds.batch([0, 1])
    assert s["mask"].shape == (2, 4, 32, 32) and s["visible"].dtype == torch.bool
    assert bool((s["dist"].abs().sum(-1) > 0).all())
    # The true (distorted) joints lie on the rendered silhouette: distortion applied to both.
    from mvmocap.synth.evidence import to_crop

    kp = to_crop(s["keypoints2d_gt"], s["crop"], 32)
    ix, iy = kp[..., 0].round().long().clamp(0, 31), kp[..., 1].round().long().clamp(0, 31)
    on = s["mask"].flatten(-2).gather(-1, (iy * 32 + ix)) > 0
    assert float(on.double().mean()) > 0.9  # the toy body puts a few joints on capsule rims: 0.93 undistorted


def test_realistic_evidence_for_a_clip(toy_body):
    from mvmocap.synth.realistic import realistic_evidence
    from mvmocap.synth.rig_sampler import sample_rig

    out = toy_body(body_pose=torch.zeros(5, 23, 3), betas=torch.zeros(5, 10))
    verts = out.vertices[:, : toy_body.num_vertices].double() + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    joints = out.coco23[:, :17].double() + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    rig, _ = sample_rig(3, joints[0].mean(0), torch.Generator().manual_seed(0), family="high_wide")
    noise = RealisticNoise(lost_rate=0, wrong_person_rate=0)
    kp, vis = realistic_evidence(joints, verts, toy_body.faces, rig, noise, torch.Generator().manual_seed(1))
    kp2, _ = realistic_evidence(joints, verts, toy_body.faces, rig, noise, torch.Generator().manual_seed(1))
    assert kp.shape == (5, 3, 17, 3) and vis.shape == (5, 3, 17) and torch.equal(kp, kp2)
    truth = rig.project(joints)  # distorted projections
    err = (kp[..., :2] - truth).norm(dim=-1)[kp[..., 2] > 0]
    assert float(err.median()) < 0.1 * float((truth.amax(-2) - truth.amin(-2)).amax())
    with pytest.raises(InputError, match="share T"):
        realistic_evidence(joints[:2], verts, toy_body.faces, rig, noise, torch.Generator())


def test_a_list_of_generators_equals_separate_calls():
    pts, box, size = _scene(T=1, C=3, n=4)  # 4 samples x 3 views
    noise = RealisticNoise(swap_rate=0.3, lost_rate=0.2, wrong_person_rate=0.2)
    vis = torch.rand(4, 3, 17, generator=torch.Generator().manual_seed(0)) > 0.3
    gens = [torch.Generator().manual_seed(10 + i) for i in range(4)]
    p, c = noise.apply(pts.reshape(1, 12, 17, 2), box.reshape(1, 12), vis.reshape(1, 12, 17), size.repeat(4, 1), gens)
    for i in range(4):
        pi, ci = noise.apply(pts[i:i + 1], box[i:i + 1], vis[i:i + 1], size, torch.Generator().manual_seed(10 + i))
        assert torch.equal(p[0, 3 * i:3 * i + 3], pi[0]) and torch.equal(c[0, 3 * i:3 * i + 3], ci[0])
    with pytest.raises(InputError, match="share"):
        noise.apply(pts[:1], box[:1], None, size, gens[:2])


def test_distortion_share_changes_only_the_lenses(toy_body):
    plain = SyntheticMultiView(toy_body, SynthConfig(views=3), length=6, seed=4).batch([0, 1, 2, 3])
    cfg = SynthConfig.from_dict({"views": 3, "distortion_share": 1.0})
    bent = SyntheticMultiView(toy_body, cfg, length=6, seed=4).batch([0, 1, 2, 3])
    assert torch.equal(plain["body_pose"], bent["body_pose"]) and float(plain["dist"].abs().max()) == 0
    assert bool((bent["dist"].abs().sum(-1) > 0).all())
    # The keypoints follow the distorted projection.
    from mvmocap.geometry.projection import project_points

    expect = project_points(bent["joints3d"][:, None], bent["K"], bent["dist"], bent["R"], bent["t"])
    assert torch.allclose(bent["keypoints2d_gt"], expect, atol=1e-3)
    with pytest.raises(InputError, match="distortion_share"):
        SynthConfig.from_dict({"distortion_share": 1.5})
