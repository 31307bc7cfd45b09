import numpy as np
import pytest
import torch

from mvmocap.synth.rasterize import (
    iuv_image,
    rasterize,
    silhouette,
    soft_silhouette,
    vertices_to_screen,
    winding_sign,
)


def brute_force_faces(screen: np.ndarray, faces: np.ndarray, H: int, W: int) -> np.ndarray:
    """Reference: per pixel centre, the nearest face containing it (perspective depth), -1 if none."""
    out = -np.ones((H, W), dtype=np.int64)
    best = np.full((H, W), np.inf)
    ys, xs = np.mgrid[0:H, 0:W]
    for f, (a, b, c) in enumerate(faces):
        p = screen[[a, b, c]]
        area = (p[1, 0] - p[0, 0]) * (p[2, 1] - p[0, 1]) - (p[2, 0] - p[0, 0]) * (p[1, 1] - p[0, 1])
        if abs(area) < 1e-9:
            continue
        l0 = ((p[1, 0] - xs) * (p[2, 1] - ys) - (p[2, 0] - xs) * (p[1, 1] - ys)) / area
        l1 = ((p[2, 0] - xs) * (p[0, 1] - ys) - (p[0, 0] - xs) * (p[2, 1] - ys)) / area
        l2 = 1 - l0 - l1
        inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0)
        depth = 1.0 / (l0 / p[0, 2] + l1 / p[1, 2] + l2 / p[2, 2])
        closer = inside & (depth < best)
        out[closer] = f
        best[closer] = depth[closer]
    return out


def random_triangles(rng, n, H, W):
    centers = rng.uniform([0, 0], [W, H], (n, 1, 2))
    xy = centers + rng.normal(0, 4, (n, 3, 2))
    z = rng.uniform(1, 5, (n, 1, 1)) + rng.uniform(-0.2, 0.2, (n, 3, 1))
    screen = np.concatenate([xy, z], -1).reshape(-1, 3)
    faces = np.arange(3 * n).reshape(n, 3)
    return screen, faces


def test_matches_brute_force_reference():
    rng = np.random.default_rng(0)
    H, W = 24, 32
    screen, faces = random_triangles(rng, 40, H, W)
    frags = rasterize(torch.as_tensor(screen)[None], torch.as_tensor(faces), (H, W))
    ref = brute_force_faces(screen, faces, H, W)
    got = frags.face_index[0].numpy()
    assert (got >= 0).sum() > 100
    # Ties on exactly shared depths aside, every pixel must agree.
    assert np.mean(got == ref) > 0.995
    assert np.array_equal(got >= 0, ref >= 0)


@pytest.mark.parametrize("batch", [1, 3])
def test_batch_and_barycentrics(batch):
    rng = np.random.default_rng(1)
    screen, faces = random_triangles(rng, 20, 16, 16)
    s = torch.as_tensor(screen, dtype=torch.float32)[None].expand(batch, -1, -1).contiguous()
    frags = rasterize(s, torch.as_tensor(faces), (16, 16))
    assert frags.face_index.shape == (batch, 16, 16)
    assert frags.bary.shape == (batch, 16, 16, 3)
    covered = frags.face_index >= 0
    sums = frags.bary.sum(-1)
    assert torch.allclose(sums[covered], torch.ones_like(sums[covered]), atol=1e-5)
    assert torch.all(frags.bary[~covered] == 0)
    assert torch.all(frags.face_index == frags.face_index[:1])
    assert torch.all(frags.depth[covered] > 0)


def test_nearer_square_wins():
    # Two quads over the same pixels: the nearer one (depth 2) must win everywhere.
    quad = np.array([[2, 2], [12, 2], [12, 12], [2, 12]], dtype=np.float64)
    verts = np.concatenate([np.c_[quad, np.full(4, 5.0)], np.c_[quad, np.full(4, 2.0)]])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    frags = rasterize(torch.as_tensor(verts)[None], torch.as_tensor(faces), (16, 16))
    covered = frags.face_index[0] >= 0
    assert covered.sum() == 11 * 11
    assert torch.all(frags.face_index[0][covered] >= 2)
    assert torch.allclose(frags.depth[0][covered], torch.full_like(frags.depth[0][covered], 2.0))


def _front_view(body, size=96):
    out = body(body_pose=torch.zeros(1, 23, 3))
    # Camera at z = +3 in the rest frame looking at the subject's front (a proper rotation, det +1):
    # image x = subject x (the subject's left on the image's right), y down.
    R = torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])[None]
    t = torch.tensor([[0.0, -0.1, 3.0]])
    f = size / 2.0 * 3.0 / 1.1
    K = torch.tensor([[f, 0.0, size / 2], [0.0, f, size / 2], [0.0, 0.0, 1.0]])[None]
    return vertices_to_screen(out.vertices, K, R, t), out


def test_culling_matches_full_render_on_closed_mesh(toy_body):
    screen, out = _front_view(toy_body)
    sign = winding_sign(out.vertices[0], toy_body.faces)
    full = rasterize(screen, toy_body.faces, (96, 96))
    culled = rasterize(screen, toy_body.faces, (96, 96), cull=sign)
    agree = (silhouette(full) == silhouette(culled)).float().mean()
    assert agree > 0.998
    assert silhouette(full).sum() > 500


def test_silhouette_covers_projected_vertices(toy_body):
    screen, _ = _front_view(toy_body)
    mask = silhouette(rasterize(screen, toy_body.faces, (96, 96), cull=1))[0]
    dilated = torch.nn.functional.max_pool2d(mask[None, None].float(), 3, 1, 1)[0, 0] > 0
    px = screen[0, :, :2].round().long()
    inside = (px[:, 0] >= 0) & (px[:, 0] < 96) & (px[:, 1] >= 0) & (px[:, 1] < 96)
    assert inside.all()
    assert dilated[px[:, 1], px[:, 0]].float().mean() > 0.99


def test_iuv_ranges(toy_body):
    from mvmocap.synth.part_uv import body_part_uv

    screen, _ = _front_view(toy_body)
    frags = rasterize(screen, toy_body.faces, (96, 96), cull=1)
    puv = body_part_uv(toy_body)
    iuv = iuv_image(frags, toy_body.faces, puv.face_parts, puv.vertex_uv)
    assert iuv.shape == (1, 3, 96, 96)
    covered = silhouette(frags)[0]
    assert torch.all(iuv[0, 0][covered] >= 1) and torch.all(iuv[0, 0][covered] <= 24)
    assert torch.all(iuv[0][:, ~covered] == 0)
    assert iuv[0, 1:].min() >= 0 and iuv[0, 1:].max() <= 1
    # Seen from the front: the torso front (2) must dominate the torso back (1).
    parts = iuv[0, 0][covered].long()
    assert (parts == 2).sum() > 5 * (parts == 1).sum()


def test_soft_silhouette_approaches_hard(toy_body):
    screen, _ = _front_view(toy_body, size=64)
    hard = silhouette(rasterize(screen, toy_body.faces, (64, 64), cull=1))[0]
    ious = []
    for sigma in (0.3, 0.1, 0.03):
        soft = soft_silhouette(screen, toy_body.faces, (64, 64), sigma=sigma)[0] > 0.5
        ious.append(float((soft & hard).sum() / (soft | hard).sum()))
        assert not (hard & ~soft).any()  # every covered pixel centre is at least half covered
    assert ious[0] < ious[1] < ious[2]
    assert ious[2] > 0.9
    culled = soft_silhouette(screen, toy_body.faces, (64, 64), sigma=0.03, cull=1)[0] > 0.5
    assert float((culled & hard).sum() / (culled | hard).sum()) > 0.9


def test_soft_silhouette_gradcheck():
    verts = torch.tensor([[2.3, 2.2], [9.1, 3.4], [4.2, 8.6]], dtype=torch.float64, requires_grad=True)
    faces = torch.tensor([[0, 1, 2]])
    fn = lambda v: soft_silhouette(v[None], faces, (12, 12), sigma=1.0)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (verts,), eps=1e-6, atol=1e-5)
    sil = fn(verts)
    sil.sum().backward()
    assert verts.grad.abs().sum() > 0


def _icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere: vertices ``(V, 3)``, outward-wound faces ``(T, 3)``."""
    t = (1 + 5**0.5) / 2
    vertices = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
                (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    vertices = [np.array(v, float) / np.linalg.norm(v) for v in vertices]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6),
             (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10),
             (8, 6, 7), (9, 8, 1)]
    for _ in range(subdivisions):
        middle: dict = {}

        def mid(a, b):
            key = (min(a, b), max(a, b))
            if key not in middle:
                m = vertices[a] + vertices[b]
                vertices.append(m / np.linalg.norm(m))
                middle[key] = len(vertices) - 1
            return middle[key]

        faces = [f for a, b, c in faces for f in ((a, mid(a, b), mid(c, a)), (b, mid(b, c), mid(a, b)),
                                                 (c, mid(c, a), mid(b, c)), (mid(a, b), mid(b, c), mid(c, a)))]
    return np.array(vertices), np.array(faces)


def test_closed_mesh_leaves_no_uncovered_pixel_inside_its_silhouette():
    """Front faces only, float32, far from the image origin: shared edges must not open gaps.
    (The previous edge test, affine coefficients with a 1e-6 tolerance, left 258 such pixels here.)"""
    import cv2

    vertices, faces = _icosphere(5)
    rng = np.random.default_rng(7)
    size = 2000
    cull = winding_sign(torch.tensor(vertices + [0, 0, 5.0]), torch.tensor(faces))
    for _ in range(4):
        radius = rng.uniform(100, 200)
        centre = rng.uniform(size - radius - 300, size - radius - 5, 2)
        jittered = vertices * (1 + rng.normal(0, 0.002, (len(vertices), 1)))  # edges off any pixel grid
        screen = np.concatenate([jittered[:, :2] * radius + centre, 5 + jittered[:, 2:]], 1)
        fragments = rasterize(torch.tensor(screen, dtype=torch.float32)[None], torch.tensor(faces), (size, size),
                              cull=cull)
        uncovered = (fragments.face_index[0] < 0).numpy().astype(np.uint8)
        count, labels = cv2.connectedComponents(uncovered, connectivity=4)
        outside = labels[0, 0]
        assert count == 2 and (labels == outside).sum() == uncovered.sum()  # only the outside is uncovered
