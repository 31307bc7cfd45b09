"""A small batched triangle rasteriser in pure PyTorch (CPU or GPU).

* :func:`rasterize` -> :class:`Fragments` (nearest face and barycentrics per pixel),
  from which :func:`silhouette` (hard mask) and :func:`iuv_image` (DensePose-style
  part index I in 0..24 and per-part U, V in [0, 1]) are read.
* :func:`soft_silhouette`: a differentiable silhouette (SoftRas-style sigmoid of the
  signed distance to each triangle, combined as a probabilistic union) for
  training-time consistency terms.

Pixel convention: OpenCV, the centre of pixel ``(col, row)`` is at image
coordinates ``(x, y) = (col, row)``; a pixel is covered when its centre lies
inside (or on the edge of) a projected triangle. The edge test is watertight: a
closed mesh leaves no uncovered pixel inside its silhouette (see ``_edge_functions``).

How it stays fast without a compiled kernel: faces are culled first (degenerate,
behind the camera, and back faces of closed meshes) and handled as a structure of
arrays; every remaining triangle enumerates only the pixel centres inside its own
bounding box (a ragged expansion with ``repeat_interleave``); the edge-function
test is vectorised over all (triangle, pixel) pairs of the whole batch; and the
depth test is one ``scatter_reduce(amin)`` over an int64 key ``quantised depth *
K + face``, which yields the nearest face and its index at once. Results are kept
sparse (covered pixels only). See ``benchmarks/render.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mvmocap.geometry.projection import project_points, world_to_camera

NEAR_PLANE = 1e-3  # metres; triangles with a vertex closer than this are dropped
DEPTH_QUANTUM = 1e-5  # metres, resolution of the depth test
_NO_FACE = torch.iinfo(torch.int64).max


@dataclass(frozen=True)
class Fragments:
    """Per-pixel rasterisation result for ``B`` images of ``H x W`` pixels, stored sparsely.

    Attributes:
        shape: ``(B, H, W)``.
        pixels: ``(M,)`` long, flat indices (into ``B * H * W``) of the covered pixels.
        pixel_faces: ``(M,)`` long, index into ``faces`` of the nearest face at those pixels.
        pixel_bary: ``(M, 3)`` its perspective-correct barycentric weights there.
        pixel_depth: ``(M,)`` camera-frame depth in metres there.

    Dense views (built on access): ``face_index (B, H, W)`` (-1 = background),
    ``bary (B, H, W, 3)`` and ``depth (B, H, W)`` (0 on background).
    """

    shape: tuple[int, int, int]
    pixels: Tensor
    pixel_faces: Tensor
    pixel_bary: Tensor
    pixel_depth: Tensor

    def _dense(self, values: Tensor, fill: float) -> Tensor:
        B, H, W = self.shape
        out = torch.full((B * H * W,) + values.shape[1:], fill, dtype=values.dtype, device=values.device)
        out[self.pixels] = values
        return out.reshape((B, H, W) + values.shape[1:])

    @property
    def face_index(self) -> Tensor:
        return self._dense(self.pixel_faces, -1)

    @property
    def bary(self) -> Tensor:
        return self._dense(self.pixel_bary, 0.0)

    @property
    def depth(self) -> Tensor:
        return self._dense(self.pixel_depth, 0.0)


def vertices_to_screen(
    vertices: Tensor, K: Tensor, R: Tensor, t: Tensor, dist: Tensor | None = None
) -> Tensor:
    """World vertices ``(B, V, 3)`` m -> ``(B, V, 3)`` = (x px, y px, depth m).

    ``K (B, 3, 3)``, ``R (B, 3, 3)``, ``t (B, 3)``, ``dist (B, 5)`` or None.
    With distortion, vertices move and triangle edges stay straight (fine for
    the small triangles of a body mesh).
    """
    depth = world_to_camera(vertices, R, t)[..., 2:]
    xy = project_points(vertices, K, dist, R, t)
    return torch.cat([xy, depth], dim=-1)


def _pixel_candidates(
    screen: Tensor, faces: Tensor, height: int, width: int, margin: float = 0.0, keep: Tensor | None = None
):
    """All (face, pixel) pairs whose pixel centre lies in the face's bounding box grown by ``margin`` px.

    ``keep (B, T)`` bool optionally drops faces. Returns ``(flat_face (P,), px (P,), py (P,))``
    with ``flat_face = b * T + f``.
    """
    B, T = screen.shape[0], faces.shape[0]
    with torch.no_grad():
        tri = screen[:, faces]  # (B, T, 3 corners, 3)
        x, y, z = tri[..., 0], tri[..., 1], tri[..., 2]
        x0 = torch.ceil(x.amin(-1) - margin).clamp(0, width).long()
        x1 = torch.floor(x.amax(-1) + margin).clamp(-1, width - 1).long()
        y0 = torch.ceil(y.amin(-1) - margin).clamp(0, height).long()
        y1 = torch.floor(y.amax(-1) + margin).clamp(-1, height - 1).long()
        w = (x1 - x0 + 1).clamp(min=0)
        h = (y1 - y0 + 1).clamp(min=0)
        ok = (z.amin(-1) > NEAR_PLANE) & torch.isfinite(tri).all(-1).all(-1)
        if keep is not None:
            ok &= keep
        counts = (w * h * ok).reshape(-1)
        flat_face = torch.repeat_interleave(torch.arange(B * T, device=screen.device), counts)
        start = torch.cumsum(counts, 0) - counts
        # One gather for the four per-face integers the expansion needs.
        packed = torch.stack([x0.reshape(-1), y0.reshape(-1), w.reshape(-1), start], dim=-1)[flat_face]
        local = torch.arange(flat_face.shape[0], device=screen.device) - packed[:, 3]
        row = torch.div(local, packed[:, 2], rounding_mode="floor")
        px = packed[:, 0] + local - row * packed[:, 2]
        py = packed[:, 1] + row
    return flat_face, px, py


def winding_sign(vertices: Tensor, faces: Tensor) -> int:
    """+1 if the closed mesh's faces wind counter-clockwise seen from outside (positive signed volume, SMPL), else -1.

    ``vertices (V, 3)``, ``faces (T, 3)``. With OpenCV cameras (a proper rotation, image y down),
    faces facing the camera then have a negative doubled signed area in pixel coordinates
    times this sign.
    """
    v = vertices.detach().to(torch.float64)
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    volume = (a * torch.linalg.cross(b, c)).sum() / 6
    return 1 if float(volume) >= 0 else -1


def body_winding_sign(body_model) -> int:
    """:func:`winding_sign` of a body model's rest mesh (mean shape), from its forward pass, so any
    model of :mod:`mvmocap.body` or the toy body works."""
    with torch.no_grad():
        rest = body_model(betas=torch.zeros(1, 10)).vertices.reshape(-1, 3)[: body_model.num_vertices]
    return winding_sign(rest, body_model.faces)


_CORNER_INDEX_CACHE: dict[tuple, Tensor] = {}


def _corner_index(faces: Tensor, B: int, V: int) -> Tensor:
    """``(3 * B * T,)`` long: ``b * V + faces[t, k]`` in (corner k, batch b, face t) order (cached)."""
    key = (faces.data_ptr(), tuple(faces.shape), faces.device, B, V)
    index = _CORNER_INDEX_CACHE.get(key)
    if index is None:
        offsets = torch.arange(B, device=faces.device) * V
        index = (faces.T[:, None, :] + offsets[None, :, None]).reshape(-1)
        if len(_CORNER_INDEX_CACHE) > 8:
            _CORNER_INDEX_CACHE.clear()
        _CORNER_INDEX_CACHE[key] = index
    return index


def _visible_faces(screen: Tensor, faces: Tensor, cull: int) -> tuple[Tensor, Tensor]:
    """Faces worth rasterising, as a structure of arrays.

    Returns ``kept (K,)`` flat face ids ``b * T + f`` and ``corners (9, K)``: x0 x1 x2, y0 y1 y2,
    z0 z1 z2 (pixels, pixels, metres). Drops degenerate faces, faces with a vertex behind the
    near plane, non-finite ones and, with ``cull``, back faces.
    """
    B, V, T = screen.shape[0], screen.shape[1], faces.shape[0]
    flat = screen.permute(2, 0, 1).reshape(3, B * V)  # (coord, b * V + v)
    tri = flat.index_select(1, _corner_index(faces, B, V)).reshape(9, B * T)  # (coord, corner) x faces
    x0, x1, x2, y0, y1, y2 = tri[0], tri[1], tri[2], tri[3], tri[4], tri[5]
    area2 = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    # With image y pointing down, a face seen from outside and wound counter-clockwise (cull = +1)
    # has a negative doubled area in pixel coordinates (proper rotations, det R = +1).
    keep = (area2 * cull < -1e-9) if cull else (area2.abs() > 1e-9)
    keep &= torch.minimum(torch.minimum(tri[6], tri[7]), tri[8]) > NEAR_PLANE
    keep &= torch.isfinite(area2)
    kept = keep.nonzero().squeeze(-1)
    return kept, tri.index_select(1, kept)


def _expand_boxes(corners: Tensor, height: int, width: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Every (face, pixel centre) pair inside each face's bounding box.

    Returns ``(has_pixels (K2,), face (P,), px (P,), py (P,))``: ``has_pixels`` are the columns of
    ``corners (9, K)`` whose box holds at least one pixel centre, ``face`` indexes ``has_pixels``.
    """
    x0 = torch.ceil(torch.minimum(torch.minimum(corners[0], corners[1]), corners[2])).clamp(0, width)
    x1 = torch.floor(torch.maximum(torch.maximum(corners[0], corners[1]), corners[2])).clamp(-1, width - 1)
    y0 = torch.ceil(torch.minimum(torch.minimum(corners[3], corners[4]), corners[5])).clamp(0, height)
    y1 = torch.floor(torch.maximum(torch.maximum(corners[3], corners[4]), corners[5])).clamp(-1, height - 1)
    w = (x1 - x0 + 1).clamp(min=0)
    counts = (w * (y1 - y0 + 1).clamp(min=0)).to(torch.int32)
    has_pixels = counts.nonzero().squeeze(-1)
    counts = counts.index_select(0, has_pixels)
    face = torch.repeat_interleave(torch.arange(counts.shape[0], device=corners.device), counts)
    start = torch.cumsum(counts, 0, dtype=torch.int32) - counts
    packed = torch.stack([x0.index_select(0, has_pixels).to(torch.int32), y0.index_select(0, has_pixels).to(torch.int32),
                          w.index_select(0, has_pixels).to(torch.int32), start], dim=-1).index_select(0, face)
    local = torch.arange(face.shape[0], device=corners.device, dtype=torch.int32) - packed[:, 3]
    row = torch.div(local, packed[:, 2], rounding_mode="floor")
    return has_pixels, face, packed[:, 0] + local - row * packed[:, 2], packed[:, 1] + row


def _edge_functions(corners: Tensor, corner_vertices: Tensor) -> Tensor:
    """``(K, 15)``: per face, for each corner ``k`` the edge opposite it as ``base x, base y, dx, dy,
    factor`` (corner-major), so that the barycentric weight is
    ``l_k = (dx (py - base_y) - dy (px - base_x)) * factor``.

    Watertight: every edge is written from its lower vertex index to the higher one, so the two
    faces that share it evaluate bit-identical products and only the factor's sign differs; a
    pixel centre on or near a shared edge is then inside at least one of them, never neither.
    ``corner_vertices (3, K)`` are the corners' vertex indices.
    """
    x, y = corners[0:3], corners[3:6]
    area2 = (x[1] - x[0]) * (y[2] - y[0]) - (x[2] - x[0]) * (y[1] - y[0])
    inv = 1.0 / area2
    columns = []
    for i, j in ((1, 2), (2, 0), (0, 1)):  # corner k's opposite edge, i -> j
        forward = corner_vertices[i] < corner_vertices[j]
        bx, by = torch.where(forward, x[i], x[j]), torch.where(forward, y[i], y[j])
        ex, ey = torch.where(forward, x[j], x[i]), torch.where(forward, y[j], y[i])
        columns += [bx, by, ex - bx, ey - by, torch.where(forward, inv, -inv)]
    return torch.stack(columns, dim=-1)


def _barycentric(edges: Tensor, px: Tensor, py: Tensor) -> Tensor:
    """``(P, 3)`` barycentric weights of pixel centres ``px, py (P, 1)`` for faces ``edges (P, 15)``."""
    e = edges.view(-1, 3, 5)
    crossed = e[..., 2] * (py - e[..., 1]) - e[..., 3] * (px - e[..., 0])
    return crossed * e[..., 4]


def rasterize(screen: Tensor, faces: Tensor, size: tuple[int, int], cull: int = 0) -> Fragments:
    """Hard rasterisation with a depth test.

    Args:
        screen: ``(B, V, 3)`` vertices as (x px, y px, depth m) from :func:`vertices_to_screen`.
        faces: ``(T, 3)`` long, shared by the batch.
        size: ``(height, width)`` pixels.
        cull: 0 draws every face; for a closed mesh pass :func:`winding_sign` of it
            to skip back faces (they never win the depth test; about twice as fast).

    Not differentiable (use :func:`soft_silhouette` for gradients).
    """
    height, width = size
    B, T = screen.shape[0], faces.shape[0]
    screen = screen.detach()
    kept, corners = _visible_faces(screen, faces, cull)
    has_pixels, face, px, py = _expand_boxes(corners, height, width)
    kept, corners = kept.index_select(0, has_pixels), corners.index_select(1, has_pixels)
    K = kept.shape[0]
    corner_vertices = faces.to(screen.device).index_select(0, kept % T).T  # (3, K)
    edges = _edge_functions(corners, corner_vertices)  # (K, 15)
    inv_z = (1.0 / corners[6:]).T.contiguous()  # (K, 3)
    # Edge test for every (face, pixel) pair; inclusive, so shared edges leave no gap.
    lam = _barycentric(edges.index_select(0, face), px.to(edges.dtype)[:, None], py.to(edges.dtype)[:, None])  # (P, 3)
    inside = (lam.amin(-1) >= 0).nonzero().squeeze(-1)
    face, lam = face.index_select(0, inside), lam.index_select(0, inside)
    batch = torch.div(kept.index_select(0, face), T, rounding_mode="floor")
    pixel = (batch * height + py.index_select(0, inside).long()) * width + px.index_select(0, inside).long()
    depth = 1.0 / (lam * inv_z.index_select(0, face)).sum(-1).clamp(min=1e-9)
    # Nearest face per pixel: the smallest key "quantised depth, then kept-face index".
    key = (depth * (1.0 / DEPTH_QUANTUM)).long() * K + face
    zbuf = torch.full((B * height * width,), _NO_FACE, dtype=torch.long, device=screen.device)
    zbuf.scatter_reduce_(0, pixel, key, reduce="amin")
    pix = (zbuf != _NO_FACE).nonzero().squeeze(-1)
    win = zbuf[pix] % K
    # Perspective-correct barycentrics of the winning face at the covered pixels.
    yy = torch.div(pix % (height * width), width, rounding_mode="floor").to(edges.dtype)
    xx = (pix % width).to(edges.dtype)
    lam_w = _barycentric(edges[win], xx[:, None], yy[:, None]).clamp(min=0)
    persp = lam_w * inv_z[win]
    norm = persp.sum(-1, keepdim=True).clamp(min=1e-12)
    return Fragments(
        shape=(B, height, width),
        pixels=pix,
        pixel_faces=kept[win] % T,
        pixel_bary=persp / norm,
        pixel_depth=1.0 / norm.squeeze(-1),
    )


def silhouette(fragments: Fragments) -> Tensor:
    """Hard mask ``(B, H, W)`` bool: pixels covered by the mesh."""
    B, H, W = fragments.shape
    mask = torch.zeros(B * H * W, dtype=torch.bool, device=fragments.pixels.device)
    mask[fragments.pixels] = True
    return mask.reshape(B, H, W)


def iuv_image(fragments: Fragments, faces: Tensor, face_parts: Tensor, vertex_uv: Tensor) -> Tensor:
    """DensePose-style IUV ``(B, 3, H, W)`` float: I (part 1..24, 0 = background), U, V in [0, 1].

    Args:
        fragments: from :func:`rasterize`.
        faces: ``(T, 3)`` long.
        face_parts: ``(T,)`` long part index 1..24 of each face.
        vertex_uv: ``(V, 2)`` per-vertex (U, V) in the chart of the vertex's part.
    """
    B, H, W = fragments.shape
    pix = fragments.pixels
    face = fragments.pixel_faces
    bary = fragments.pixel_bary
    uv = (bary.unsqueeze(-1) * vertex_uv[faces[face]].to(bary.dtype)).sum(-2)  # (M, 2)
    out = torch.zeros(B * H * W, 3, dtype=bary.dtype, device=bary.device)
    out[pix] = torch.cat([face_parts[face].unsqueeze(-1).to(bary.dtype), uv], -1)
    return out.reshape(B, H, W, 3).permute(0, 3, 1, 2)


def soft_silhouette(
    screen: Tensor, faces: Tensor, size: tuple[int, int], sigma: float = 0.1, cull: int = 0
) -> Tensor:
    """Differentiable silhouette ``(B, H, W)`` in [0, 1].

    Each triangle covers pixel ``p`` with probability ``sigmoid(d(p) / sigma)``,
    ``d`` the signed distance (px, positive inside) from the pixel centre to the
    triangle's boundary; the image is the union
    ``1 - prod(1 - p)`` over triangles. Pairs farther than ``3 sigma`` from a
    triangle's bounding box are skipped. Gradients flow to ``screen[..., :2]``.

    Args:
        screen: ``(B, V, 2 or 3)`` vertices in pixels (depth ignored except for
            dropping triangles behind the camera when given).
        faces: ``(T, 3)`` long.
        size: ``(height, width)``.
        sigma: softness in pixels. Body meshes have triangles smaller than a pixel, and the
            union of many nearly-covering triangles spreads the edge by several sigma: 0.1 px
            keeps the 0.5-level set within about one pixel of the hard silhouette (IoU 0.93 at
            64 x 64, 0.97 at 128 x 128 on the open body) while every outline pixel has gradients.
        cull: as in :func:`rasterize`: the winding sign of a closed mesh drops its back faces
            (the outline is the same; much faster, and less blur from stacked layers).
    """
    height, width = size
    B, T = screen.shape[0], faces.shape[0]
    scr = screen if screen.shape[-1] == 3 else torch.cat([screen, torch.ones_like(screen[..., :1])], -1)
    keep = None
    if cull:
        with torch.no_grad():
            tri = scr.detach()[:, faces]  # (B, T, 3, 3)
            e1, e2 = tri[:, :, 1, :2] - tri[:, :, 0, :2], tri[:, :, 2, :2] - tri[:, :, 0, :2]
            # Front faces have a negative area times the winding sign (see _visible_faces).
            keep = (e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]) * cull < 0
    flat_face, px, py = _pixel_candidates(scr, faces, height, width, margin=3.0 * sigma, keep=keep)
    tri = screen[..., :2][:, faces].reshape(B * T, 3, 2)[flat_face]  # (P, 3, 2), differentiable
    a, b = tri, tri.roll(-1, -2)  # edges a -> b
    edge = b - a
    length2 = (edge * edge).sum(-1).clamp(min=1e-12)
    p = torch.stack([px, py], -1).to(tri.dtype).unsqueeze(-2)  # (P, 1, 2)
    ap = p - a
    cross = edge[..., 0] * ap[..., 1] - edge[..., 1] * ap[..., 0]  # (P, 3)
    area2 = edge[:, 0, 0] * (tri[:, 2, 1] - tri[:, 0, 1]) - edge[:, 0, 1] * (tri[:, 2, 0] - tri[:, 0, 0])
    orient = torch.where(area2 >= 0, 1.0, -1.0).to(tri.dtype)
    line = cross * orient[:, None] / length2.sqrt()  # signed distance to each edge's line, > 0 inside
    s = ((ap * edge).sum(-1) / length2).clamp(0, 1)
    to_segment = (ap - s.unsqueeze(-1) * edge).norm(dim=-1).amin(-1)  # distance to the boundary
    inside = line.amin(-1) >= 0
    signed = torch.where(inside, line.amin(-1), -to_segment)  # exact signed distance, px
    prob = torch.sigmoid(signed / sigma).clamp(max=1 - 1e-6)
    batch = torch.div(flat_face, T, rounding_mode="floor")
    pixel = (batch * height + py) * width + px
    log_empty = torch.zeros(B * height * width, dtype=tri.dtype, device=tri.device)
    log_empty = log_empty.index_add(0, pixel, torch.log1p(-prob))
    return (1 - torch.exp(log_empty)).reshape(B, height, width)
