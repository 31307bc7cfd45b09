import math

import torch

from mvmocap.regressors.cra import alignment
from mvmocap.regressors.cra.model import FACING_CAMERA
from mvmocap.synth.part_uv import NUM_PARTS, body_part_uv
from mvmocap.synth.rasterize import iuv_image, rasterize


def test_joint_discrepancy_is_zero_on_exact_evidence_and_ignores_missing_joints(gen):
    pred = torch.rand(2, 3, 17, 2, generator=gen) * 2 - 1
    conf = torch.ones(2, 3, 17)
    assert torch.equal(alignment.joint_discrepancy(pred, pred.clone(), conf), torch.zeros_like(pred))
    shifted = pred + 0.1
    conf[0, 0, 5] = 0
    d = alignment.joint_discrepancy(pred, shifted, conf)
    assert torch.equal(d[0, 0, 5], torch.zeros(2))
    assert torch.allclose(d[1], torch.full_like(d[1], -0.1))


def test_map_discrepancy_is_zero_on_exact_evidence_and_flags_part_changes(gen):
    m = torch.rand(4, 3, 8, 8, generator=gen)
    assert torch.equal(alignment.map_discrepancy(m, m.clone()), torch.zeros_like(m))
    other = m.clone()
    other[:, 0, 2, 3] += 5.0 / 24
    other[:, 1, 4, 4] += 0.2
    d = alignment.map_discrepancy(m, other)
    assert torch.allclose(d[:, 0, 2, 3], torch.ones(4), atol=1e-3)  # the indicator term
    assert d[:, 0].abs().sum() == d[:, 0, 2, 3].abs().sum()
    assert torch.allclose(d[:, 1, 4, 4], torch.full((4,), -0.2))


def test_map_discrepancy_passes_gradients_to_the_rendered_map(gen):
    rendered = torch.rand(1, 3, 8, 8, generator=gen, requires_grad=True)
    evidence = torch.rand(1, 3, 8, 8, generator=gen)
    alignment.map_discrepancy(rendered, evidence).sum().backward()
    assert rendered.grad is not None and rendered.grad.abs().sum() > 0


def _front_view(body, size):
    """A rest-pose body facing the camera: root-relative camera-axes vertices, weak camera, screen px."""
    facing = torch.tensor(FACING_CAMERA)
    out = body(global_orient=facing[None])
    joints = out.coco23[:, :17]
    origin = alignment.root_of(joints)
    verts = out.vertices[:, : body.num_vertices] - origin
    camera = torch.tensor([[0.9, 0.0, 0.1]])
    xy = alignment.weak_project(verts, camera)
    screen = torch.cat([(xy + 1) * 0.5 * size - 0.5, verts[..., 2:] + 10.0], -1)
    return verts, camera, xy, screen


def test_soft_render_of_a_known_body_matches_its_parts(toy_body):
    """The splatted part map of a body agrees with the rasteriser's IUV of the same body, cell by cell."""
    size, fine = 8, 64
    verts, camera, xy, screen = _front_view(toy_body, fine)
    puv = body_part_uv(toy_body)
    one_hot = torch.nn.functional.one_hot(puv.vertex_parts, NUM_PARTS + 1)[:, 1:].float()
    weights = alignment.vertex_areas(verts[0], toy_body.faces.long())
    soft = alignment.splat_compact_iuv(xy, verts[..., 2], one_hot, size, weights)[0]  # (24, 8, 8)
    frags = rasterize(screen, toy_body.faces, (fine, fine), cull=1)
    part = iuv_image(frags, toy_body.faces, puv.face_parts, puv.vertex_uv)[0, 0].long()
    hard = torch.nn.functional.one_hot(part, NUM_PARTS + 1)[..., 1:].permute(2, 0, 1).float()
    hard = torch.nn.functional.adaptive_avg_pool2d(hard[None], size)[0]  # share of each part per cell
    covered = (hard.sum(0) > 0.3) & (soft.sum(0) > 0.3)
    assert covered.sum() >= 8
    assert (soft.argmax(0) == hard.argmax(0))[covered].all()
    iou = covered.sum() / ((hard.sum(0) > 0.3) | (soft.sum(0) > 0.3)).sum()
    assert iou > 0.75
    assert (hard.sum(0) - soft.sum(0)).abs().mean() < 0.15  # coverage of each cell
    # facing the camera, the torso front (part 2) is seen, its back (part 1) is not
    assert soft[1].sum() > 3 * soft[0].sum()


def test_soft_render_is_differentiable_in_the_vertex_positions(toy_body):
    verts, camera, xy, _ = _front_view(toy_body, 8)
    xy = xy.detach().requires_grad_(True)
    attr = torch.tensor([1.0, 0.0, 0.0]).expand(xy.shape[1], 3)
    m = alignment.splat_compact_iuv(xy, verts[..., 2].detach(), attr, 8)
    assert m.shape == (1, 3, 8, 8) and torch.isfinite(m).all()
    assert m[0, 0].max() <= 1 + 1e-6 and m[0, 1:].abs().max() == 0
    m[0, 0].sum().backward()
    assert torch.isfinite(xy.grad).all() and xy.grad.abs().sum() > 0


def test_downsample_evidence_is_the_area_mean():
    m = torch.zeros(2, 3, 16, 16)
    m[:, 0, :4, :4] = 1.0
    d = alignment.downsample_evidence(m, 8)
    assert d.shape == (2, 3, 8, 8)
    assert torch.allclose(d[:, 0, :2, :2], torch.ones(2, 2, 2)) and d[:, 0].sum() == 8


def test_weak_projection_follows_the_views_convention():
    pts = torch.tensor([[[0.5, -0.25, 3.0]]])
    cam = torch.tensor([[2.0, 0.1, 0.2]])
    assert torch.allclose(alignment.weak_project(pts, cam), torch.tensor([[[1.2, -0.1]]]))
    assert math.isclose(float(alignment.root_of(torch.arange(51.0).reshape(17, 3))[0, 0]), 34.5)
