import pytest
import torch

from mvmocap.errors import InputError

from mvmocap.synth.occlusion import joint_visibility, visibility_from_depth
from mvmocap.synth.rig_sampler import look_at


def _box_mesh(center, half):
    c = torch.tensor(center, dtype=torch.float64)
    corners = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=torch.float64)
    verts = c + corners * torch.tensor(half, dtype=torch.float64)
    faces = torch.tensor([
        [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
        [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
    ])
    return verts, faces


def _camera(center, target):
    R, t = look_at(torch.tensor(center, dtype=torch.float64), torch.tensor(target, dtype=torch.float64))
    K = torch.tensor([[800.0, 0, 640], [0, 800.0, 360], [0, 0, 1]], dtype=torch.float64)
    return K, R, t


def test_a_joint_behind_a_box_is_hidden_one_in_front_is_visible():
    verts, faces = _box_mesh((0.0, 0.0, 1.0), (0.3, 0.3, 0.5))
    joints = torch.tensor([
        [0.0, 0.0, 1.0],   # the centre: inside, 0.3 m behind the near face
        [0.0, 0.8, 1.0],   # behind the box seen from camera 0 (at -y)
        [0.0, -0.8, 1.0],  # in front of the box
        [0.0, 0.0, 1.45],  # just inside the top near the face (within the margin)
    ], dtype=torch.float64)
    cams = [_camera((0.0, -4.0, 1.0), (0.0, 0.0, 1.0)), _camera((4.0, 0.0, 1.0), (0.0, 0.0, 1.0))]
    K = torch.stack([c[0] for c in cams])[None]
    R = torch.stack([c[1] for c in cams])[None]
    t = torch.stack([c[2] for c in cams])[None]
    size = torch.tensor([[[1280.0, 720.0]] * 2])
    vis = joint_visibility(verts[None], faces, joints[None], K, R, t, size, resolution=64, margin_m=0.1,
                           method="raster")
    assert vis.shape == (1, 2, 4)
    assert vis[0, 0].tolist() == [False, False, True, False]
    # From the side (camera 1 at +x) the joint at +y and the one at -y are both clear of the box.
    assert vis[0, 1, 1] and vis[0, 1, 2] and not vis[0, 1, 0]
    # A large margin makes the inside joint count as "inside its own limb".
    vis_big = joint_visibility(verts[None], faces, joints[None], K, R, t, size, margin_m=0.35, method="raster")
    assert vis_big[0, 0, 0] and not vis_big[0, 0, 1]


def test_visibility_from_depth_reads_the_surface_at_the_pixel():
    depth = torch.zeros(1, 4, 4)
    depth[0, 1, 2] = 2.0
    joints = torch.tensor([[[2.0, 1.0, 3.0], [2.0, 1.0, 2.05], [0.0, 0.0, 5.0], [9.0, 9.0, 5.0]]])
    vis = visibility_from_depth(depth, joints, torch.full((4,), 0.1))
    assert vis.tolist() == [[False, True, True, True]]


def test_batched_over_samples_and_views_is_deterministic(toy_body):
    from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView

    ds = SyntheticMultiView(toy_body, SynthConfig(views=3, return_vertices=True), length=4, seed=0)
    s = ds.batch([0, 1])
    args = (s["vertices"], toy_body.faces, s["joints3d"], s["K"], s["R"], s["t"], s["image_size"])
    a = joint_visibility(*args, resolution=48, method="raster")
    b = joint_visibility(*args, resolution=48, method="raster")
    assert a.shape == (2, 3, 17) and torch.equal(a, b)
    assert 0.05 < float((~a).double().mean()) < 0.7  # capsule joints: about 45 % hidden


def test_splats_agree_with_the_rasteriser_on_a_body(toy_body):
    from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView
    from mvmocap.synth.rasterize import winding_sign

    ds = SyntheticMultiView(toy_body, SynthConfig(views=4, return_vertices=True), length=8, seed=1)
    s = ds.batch(list(range(8)))
    args = (s["vertices"], toy_body.faces, s["joints3d"], s["K"], s["R"], s["t"], s["image_size"])
    cull = winding_sign(toy_body(betas=torch.zeros(1, 10)).vertices[0, : toy_body.num_vertices], toy_body.faces)
    exact = joint_visibility(*args, resolution=64, method="raster", cull=cull)
    splat = joint_visibility(*args, resolution=32, method="splat")
    assert float((exact == splat).double().mean()) > 0.8  # 0.92 on the default body (module docstring)
    with pytest.raises(InputError, match="visibility method"):
        joint_visibility(*args, method="bogus")
