"""Unprojection geometry: a 3D point's voxel receives the feature of the pixel it projects to."""

from __future__ import annotations

import math

import pytest
import torch

from mvmocap.regressors.volumetric.evidence import crop_projection, joint_heatmaps, project, splat_silhouette
from mvmocap.regressors.volumetric.volume import cube_points, cube_to_world, unproject_crop
from mvmocap.synth.evidence import gaussian_heatmaps


def _camera(g: torch.Generator):
    """A camera ~4 m from the origin looking at it, and a crop around the origin's projection."""
    angle = float(torch.rand((), generator=g)) * 2 * math.pi
    centre = torch.tensor([4 * math.cos(angle), 4 * math.sin(angle), 1.2])
    z = -centre / centre.norm()
    x = torch.linalg.cross(z, torch.tensor([0.0, 0.0, 1.0]))
    x = x / x.norm()
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z])
    t = -R @ centre
    K = torch.tensor([[1500.0, 0, 540], [0, 1500, 960], [0, 0, 1]])
    uv0 = (K @ (R @ torch.zeros(3) + t))
    uv0 = uv0[:2] / uv0[2]
    crop = torch.cat([uv0, torch.tensor([900.0])])
    return K, R, t, crop


@pytest.mark.parametrize("S,h", [(64, 64), (64, 16)])
def test_voxel_receives_the_feature_of_its_pixel(S, h):
    g = torch.Generator().manual_seed(3)
    K, R, t, crop = _camera(g)
    P = crop_projection(K, R, t, crop, S)  # (3, 4)
    point = torch.randn(1, 3, generator=g) * 0.3
    uv, depth = project(point, P)
    assert float(depth[0]) > 0
    # A map that is 1 at the feature pixel containing the projection and 0 elsewhere; sample at
    # that feature pixel's centre by moving the point along its ray onto it.
    scale = h / S
    fpix = ((uv[0] + 0.5) * scale - 0.5).round()
    target_uv = (fpix + 0.5) / scale - 0.5  # crop px of that feature pixel's centre
    ray = torch.linalg.solve(K, torch.cat([_uncrop(target_uv, crop, S), torch.ones(1)]))
    point_on_pixel = (R.T @ (ray * float(depth[0]) / ray[2] - t))[None]
    maps = torch.zeros(1, 1, 2, h, h)
    maps[0, 0, 0, int(fpix[1]), int(fpix[0])] = 7.0
    maps[0, 0, 1] = 1.0
    out = unproject_crop(maps, point_on_pixel[None], P[None, None], S)
    assert out.shape == (1, 1, 2, 1)
    assert float(out[0, 0, 0, 0]) == pytest.approx(7.0, rel=1e-3)
    assert float(out[0, 0, 1, 0]) == pytest.approx(1.0, rel=1e-4)


def _uncrop(uv, crop, S):
    side = crop[2]
    return (uv + 0.5) * side / S + crop[:2] - side / 2


def test_behind_and_outside_get_zero():
    g = torch.Generator().manual_seed(4)
    K, R, t, crop = _camera(g)
    P = crop_projection(K, R, t, crop, 32)
    centre = -R.T @ t
    behind = (centre + (centre - 0.0) * 0.5)[None]  # further from the origin, behind the camera
    far_side = torch.tensor([[50.0, 50.0, 1.0]])
    maps = torch.ones(1, 1, 1, 32, 32)
    out = unproject_crop(maps, torch.cat([behind, far_side])[None], P[None, None], 32)
    assert torch.all(out == 0)


@pytest.mark.parametrize("batch", [1, 3])
def test_shapes_over_batch_and_cube(batch):
    G = 8
    cube = cube_points(G, 2.0)
    assert cube.shape == (G**3, 3)
    assert float(cube.abs().max()) == pytest.approx(1.0 - 1.0 / G)
    R_wh = torch.eye(3).expand(batch, 3, 3)
    pelvis = torch.randn(batch, 3, generator=torch.Generator().manual_seed(0))
    world = cube_to_world(cube, R_wh, pelvis)
    assert world.shape == (batch, G**3, 3)
    assert torch.allclose(world - pelvis[:, None], cube.expand(batch, -1, -1))
    g = torch.Generator().manual_seed(1)
    P = torch.stack([torch.stack([crop_projection(*_camera(g), 32) for _ in range(2)]) for _ in range(batch)])
    out = unproject_crop(torch.rand(batch, 2, 5, 8, 8, generator=g), world, P, 32)
    assert out.shape == (batch, 2, 5, G**3)


def test_cube_rotation_maps_human_axes():
    """``x_w = R_wh^T x_h + pelvis``: the human frame's y axis (up) goes to world z for the upright rotation."""
    from mvmocap.regressors.volumetric.model import upright_world_to_human

    R_wh = upright_world_to_human()[None]
    up = cube_to_world(torch.tensor([[0.0, 1.0, 0.0]]), R_wh, torch.zeros(1, 3))
    assert torch.allclose(up, torch.tensor([[[0.0, 0.0, 1.0]]]), atol=1e-6)


def test_heatmaps_match_the_synthetic_engine_and_splat_covers_points():
    g = torch.Generator().manual_seed(2)
    uv = torch.rand(2, 3, 17, 2, generator=g) * 30
    conf = torch.rand(2, 3, 17, generator=g)
    assert torch.allclose(joint_heatmaps(uv, conf, 32, 1.5), gaussian_heatmaps(uv, conf, 32, 1.5), atol=1e-6)
    pts = torch.rand(4, 200, 2, generator=g) * 31
    sil = splat_silhouette(pts, torch.ones(4, 200), 32)
    idx = pts.round().long()
    for n in range(4):
        assert torch.all(sil[n, idx[n, :, 1], idx[n, :, 0]] == 1)
