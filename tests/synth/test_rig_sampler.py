import math
import re

import numpy as np
import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.synth.rig_sampler import (
    MAX_CAMERAS,
    QUALISYS_DEMO_LAYOUT,
    RIG_FAMILIES,
    look_at,
    sample_rig,
)
from tests.conftest import SHARED_DEMO


def test_look_at_centres_the_target():
    center = torch.tensor([3.0, -2.0, 1.5], dtype=torch.float64)
    target = torch.tensor([0.2, 0.1, 0.9], dtype=torch.float64)
    R, t = look_at(center, target)
    assert torch.allclose(R @ R.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
    assert abs(float(torch.det(R)) - 1) < 1e-12
    cam = R @ target + t
    assert abs(float(cam[0])) < 1e-12 and abs(float(cam[1])) < 1e-12 and cam[2] > 0
    # Image "down" points to the world's -Z: a point above the target has a smaller image y.
    above = R @ (target + torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64)) + t
    assert above[1] < 0


@pytest.mark.parametrize("family", RIG_FAMILIES)
def test_every_camera_sees_the_subject(family):
    g = torch.Generator().manual_seed(5)
    subject = torch.tensor([0.3, -0.2, 0.95], dtype=torch.float64)
    for views in (2, MAX_CAMERAS[family]):
        rig, name = sample_rig(views, subject, g, family=family)
        assert name == family and len(rig) == views
        body = subject + torch.tensor([[0, 0, -0.9], [0, 0, 0.85], [0.3, 0.0, 0.0]], dtype=torch.float64)
        px = rig.project(body)  # (C, 3, 2)
        depth = rig.depths(body)
        assert torch.all(depth > 0)
        w, h = rig.sizes[:, 0:1], rig.sizes[:, 1:2]
        assert torch.all((px[..., 0] >= 0) & (px[..., 0] < w) & (px[..., 1] >= 0) & (px[..., 1] < h))
        centres = rig.centers()
        heights = centres[:, 2]
        assert heights.min() >= 0.3 - 1e-9 and heights.max() <= 3.0 + 1e-9
        d1 = float((centres[0, :2] - subject[:2]).norm())
        assert 2.5 - 1e-9 <= d1 <= 8.0 + 1e-9
        fx = rig.K[:, 0, 0]
        hfov = 2 * torch.atan(rig.sizes[:, 0] / 2 / fx)
        assert torch.all(hfov >= math.radians(30) - 1e-6) and torch.all(hfov <= math.radians(90) + 1e-6)


def test_family_draw_and_limits():
    g = torch.Generator().manual_seed(0)
    seen = {sample_rig(4, torch.zeros(3), g)[1] for _ in range(60)}
    assert seen == set(RIG_FAMILIES)
    seen8 = {sample_rig(8, torch.zeros(3), g)[1] for _ in range(30)}
    assert "four_corners" not in seen8 and "qualisys_demo" not in seen8
    with pytest.raises(InputError):
        sample_rig(5, torch.zeros(3), g, family="four_corners")


def test_full_ring_spreads_azimuths():
    rig, _ = sample_rig(6, torch.zeros(3), torch.Generator().manual_seed(2), family="full_ring")
    c = rig.centers()
    az = torch.sort(torch.atan2(c[:, 1], c[:, 0])).values
    gaps = torch.diff(torch.cat([az, az[:1] + 2 * math.pi]))
    assert gaps.max() < math.radians(60 + 25)


@pytest.mark.skipif(not (SHARED_DEMO / "calibration" / "Calib.qca.txt").exists(),
                    reason="../shared/data/pose2sim_demo is absent")
def test_qualisys_layout_matches_the_demo_calibration():
    text = (SHARED_DEMO / "calibration" / "Calib.qca.txt").read_text()
    centres, axes = [], []
    for block in re.findall(r"<transform (.*?)/>", text):
        d = {k: float(v) for k, v in re.findall(r'(\w+)="([-\d.e]+)"', block)}
        M = np.array([[d[f"r{i}{j}"] for j in (1, 2, 3)] for i in (1, 2, 3)])
        R = np.diag([1, -1, -1]) @ M
        centres.append(np.array([d["x"], d["y"], d["z"]]) / 1000)
        axes.append(R[2])
    A, b = np.zeros((3, 3)), np.zeros(3)
    for C, D in zip(centres, axes):
        P = np.eye(3) - np.outer(D, D)
        A += P
        b += P @ C
    aim = np.linalg.solve(A, b)
    rel = [C - aim for C in centres]
    az0 = math.atan2(rel[0][1], rel[0][0])
    d0 = math.hypot(rel[0][0], rel[0][1])
    for (az, ratio, dh), r, C in zip(QUALISYS_DEMO_LAYOUT, rel, centres):
        got_az = math.degrees(math.atan2(r[1], r[0]) - az0) % 360
        assert abs(got_az - az) < 0.2
        assert abs(math.hypot(r[0], r[1]) / d0 - ratio) < 0.002
        assert abs((C[2] - centres[0][2]) - dh) < 0.002


from mvmocap.synth.rig_sampler import ALL_RIG_FAMILIES, HELD_OUT_RIG_FAMILIES, TRAINING_RIG_FAMILIES  # noqa: E402


@pytest.mark.parametrize("family", ["front_arc", "two_tier", "high_wide", "full_ring"])
@pytest.mark.parametrize("views", [2, 8])
def test_new_families_two_to_eight_cameras_see_the_subject(family, views):
    g = torch.Generator().manual_seed(11)
    subject = torch.tensor([0.1, 0.2, 0.95], dtype=torch.float64)
    rig, name = sample_rig(views, subject, g, family=family)
    assert name == family and len(rig) == views
    body = subject + torch.tensor([[0, 0, -0.9], [0, 0, 0.85]], dtype=torch.float64)
    px = rig.project(body)
    w, h = rig.sizes[:, 0:1], rig.sizes[:, 1:2]
    assert bool(((px[..., 0] >= 0) & (px[..., 0] < w) & (px[..., 1] >= 0) & (px[..., 1] < h)).all())


def test_high_wide_is_high_wide_distorted_and_held_out():
    g = torch.Generator().manual_seed(3)
    assert HELD_OUT_RIG_FAMILIES == ("high_wide",) and "high_wide" not in TRAINING_RIG_FAMILIES
    assert "high_wide" not in RIG_FAMILIES and set(ALL_RIG_FAMILIES) == set(TRAINING_RIG_FAMILIES) | {"high_wide"}
    subject = torch.tensor([0.0, 0.0, 0.9], dtype=torch.float64)
    for _ in range(10):
        rig, _ = sample_rig(4, subject, g, family="high_wide")
        centres = rig.centers()
        assert bool(((centres[:, 2] >= 2.5 - 1e-9) & (centres[:, 2] <= 3.5 + 1e-9)).all())
        hfov = 2 * torch.atan(rig.sizes[:, 0] / 2 / rig.K[:, 0, 0]) * 180 / math.pi
        assert bool(((hfov > 69.9) & (hfov < 100.1)).all())
        assert bool((rig.dist[:, 0] < 0).all()) and bool((rig.dist[:, 0].abs() <= 0.25).all())
        down = rig.R[:, 2, 2]  # the optical axis' world z: steeply negative
        assert bool((down < -0.3).all())


def test_distortion_is_optional_monotonic_and_keeps_the_geometry():
    subject = torch.tensor([0.0, 0.0, 0.9], dtype=torch.float64)
    plain, _ = sample_rig(6, subject, torch.Generator().manual_seed(7), family="full_ring")
    bent, _ = sample_rig(6, subject, torch.Generator().manual_seed(7), family="full_ring", distortion=True)
    assert torch.equal(plain.K, bent.K) and torch.equal(plain.R, bent.R) and float(plain.dist.abs().max()) == 0
    k1, k2 = bent.dist[:, 0], bent.dist[:, 1]
    assert bool((k1.abs() <= 0.25).all()) and bool((bent.dist[:, 2:4].abs() <= 0.002).all())
    assert float(bent.dist.abs().max()) > 0
    # Radial mapping increasing out to the corner.
    r2 = ((bent.sizes / 2) ** 2).sum(-1) / bent.K[:, 0, 0] ** 2
    s = torch.linspace(0, 1, 50, dtype=torch.float64)[:, None] * r2 * 1.1
    assert bool((1 + 3 * k1 * s + 5 * k2 * s * s > 0).all())


def test_existing_families_unchanged_by_the_new_ones():
    g1, g2 = torch.Generator().manual_seed(21), torch.Generator().manual_seed(21)
    names = [sample_rig(4, torch.zeros(3), g1)[1] for _ in range(20)]
    assert set(names) <= set(RIG_FAMILIES)
    rig, _ = sample_rig(4, torch.zeros(3), g2, family=names[0])
    assert rig.dist.abs().max() == 0
