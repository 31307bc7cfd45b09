"""CRA's alignment features (paper sec. 3.4): how far a predicted body is from each piece of evidence.

* ``D_J`` (eq. 3): the predicted 2D joints minus the evidence 2D joints, normalised crop
  coordinates (``[-1, 1]`` spans the crop's side); joints the detector did not give (confidence 0)
  contribute 0.
* ``D_M`` (eq. 4): the discrepancy between the compact IUV map ``M = (I / P, U, V)`` rendered from
  the prediction and the evidence's, both at the feature resolution ``H0 x W0``. The three terms of
  eq. 4 are kept as three channels (the paper's fusion input counts ``3 x H0 x W0`` numbers per
  map): a differentiable indicator of part disagreement ``|dI| / (|dI|_detached + eps)``, and the U
  and V differences (eq. 4's sums over parts of indicator x U reduce to ``U_hat - U`` because a
  pixel belongs to at most one part).

The prediction's map is rendered by a *soft splat* of the mesh's vertices (each vertex's compact
IUV spread bilinearly over the 4 nearest cells, nearest surface only), which is differentiable with
respect to the vertex positions, as the paper's renderer is; the evidence's map is its area average
at ``H0 x W0`` (so a cell half covered by a part reads half that part's value in both).

Frames: weak perspective as in :class:`mvmocap.regressors.cra.views.ViewBodies`: root-relative
points ``X`` (metres, camera axes; root = the mid-hip of COCO-17) land at ``s * (X_xy + (tx, ty))``.
Pure functions, batched over leading dims.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

HIPS = (11, 12)
DM_EPS = 1e-5  # eq. 4's epsilon
# The splat's z-buffer: a vertex is on the visible surface when it lies within this many metres
# of the nearest vertex in its cell of a grid ZBUFFER_FACTOR times finer than the map.
ZBUFFER_MARGIN_M = 0.04
ZBUFFER_FACTOR = 4


def root_of(joints: Tensor) -> Tensor:
    """``(..., 1, 3)`` the mid-hip of COCO-17 ``joints (..., 17, 3)``."""
    return joints[..., list(HIPS), :].mean(-2, keepdim=True)


def weak_project(points: Tensor, camera: Tensor) -> Tensor:
    """``(..., N, 2)`` normalised crop coordinates of root-relative camera-axes ``points (..., N, 3)``
    metres through ``camera (..., 3) = (s, tx, ty)``: ``s * (X_xy + t)``."""
    return camera[..., None, :1] * (points[..., :2] + camera[..., None, 1:])


def joint_discrepancy(predicted: Tensor, evidence: Tensor, confidence: Tensor) -> Tensor:
    """Eq. 3, ``D_J (..., J, 2)``: ``predicted - evidence`` (both ``(..., J, 2)`` normalised crop
    coordinates) where ``confidence (..., J) > 0``, else 0."""
    seen = (confidence > 0).to(predicted.dtype)[..., None]
    return (predicted - evidence) * seen


def downsample_evidence(compact: Tensor, size: int) -> Tensor:
    """The evidence map ``compact (..., 3, S, S)`` (I / P, U, V) area-averaged to ``(..., 3, size, size)``."""
    lead = compact.shape[:-3]
    flat = compact.reshape(-1, *compact.shape[-3:])
    return F.adaptive_avg_pool2d(flat, size).reshape(*lead, 3, size, size)


def _cells(xy: Tensor, size: int) -> Tensor:
    """Normalised crop coordinates -> continuous cell coordinates (cell centres at integers)."""
    return (xy + 1.0) * 0.5 * size - 0.5


def visible_vertices(xy: Tensor, depth: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """``(visible (N, V) bool, area (N,))``: the vertices on the visible surface (a z-buffer at
    ``ZBUFFER_FACTOR * size`` cells) of ``xy (N, V, 2)`` normalised crop coordinates and ``depth
    (N, V)`` (larger = farther), and the mesh's image area in ``size``-grid cells (occupied fine cells)."""
    fine = size * ZBUFFER_FACTOR
    with torch.no_grad():
        N, V = depth.shape
        cell = _cells(xy, fine).round().long()
        inside = ((cell >= 0) & (cell < fine)).all(-1)
        flat = torch.arange(N, device=xy.device)[:, None] * fine * fine + cell[..., 1].clamp(0, fine - 1) * fine \
            + cell[..., 0].clamp(0, fine - 1)
        nearest = torch.full((N * fine * fine,), float("inf"), dtype=depth.dtype, device=depth.device)
        nearest.scatter_reduce_(0, flat[inside], depth[inside], reduce="amin")
        area = torch.isfinite(nearest).reshape(N, -1).sum(-1).to(xy.dtype) / ZBUFFER_FACTOR**2
        return inside & (depth <= nearest[flat] + ZBUFFER_MARGIN_M), area


def vertex_areas(vertices: Tensor, faces: Tensor) -> Tensor:
    """``(V,)`` each vertex's share (a third of its faces' areas) of a mesh ``vertices (V, 3)``,
    ``faces (T, 3)``, normalised to mean 1: the splat's weights, so that dense regions of a mesh
    (face, hands) do not read as more covered."""
    tri = vertices[faces]  # (T, 3, 3)
    area = 0.5 * torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1).norm(dim=-1)
    per_vertex = torch.zeros(vertices.shape[0], dtype=vertices.dtype).index_add(0, faces.reshape(-1), area.repeat_interleave(3) / 3)
    return per_vertex / per_vertex.mean().clamp(min=1e-12)


def splat_compact_iuv(xy: Tensor, depth: Tensor, attributes: Tensor, size: int, weights: Tensor | None = None) -> Tensor:
    """The compact IUV map ``(N, A, size, size)`` of a mesh seen through a weak-perspective camera.

    Args:
        xy: ``(N, V, 2)`` vertices in normalised crop coordinates (differentiable).
        depth: ``(N, V)`` camera-axes z, metres (z-buffer only).
        attributes: ``(V, A)`` or ``(N, V, A)`` each vertex's (I / P, U, V) (or any ``A`` numbers).
        size: cells per side (``H0``).
        weights: ``(V,)`` each vertex's surface share (:func:`vertex_areas`); None: equal.
    Each visible vertex spreads its attributes over its 4 nearest cells with bilinear weights; a
    cell reads the weighted mean times its coverage ``min(w / density, 1)`` (``density``: the visible
    vertices per cell of the mesh's image area).
    """
    N, V = depth.shape
    A = attributes.shape[-1]
    visible, area = visible_vertices(xy.detach(), depth, size)
    share = visible.to(xy.dtype) * (1.0 if weights is None else weights.to(xy.dtype))
    keep = visible.reshape(-1).nonzero().squeeze(-1)  # only visible vertices are splatted
    pts = _cells(xy, size).reshape(-1, 2).index_select(0, keep)
    values = attributes.to(xy.dtype).expand(N, V, A).reshape(-1, A).index_select(0, keep)
    vertex_weight = share.reshape(-1).index_select(0, keep)
    cell0 = (keep // V) * size * size
    base = pts.detach().floor()
    frac = pts - base  # (K, 2), carries the gradient
    bx, by = base[:, 0].long(), base[:, 1].long()
    idx, w = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            cx, cy = bx + dx, by + dy
            inside = ((cx >= 0) & (cx < size) & (cy >= 0) & (cy < size)).to(xy.dtype)
            wx = frac[:, 0] if dx else 1 - frac[:, 0]
            wy = frac[:, 1] if dy else 1 - frac[:, 1]
            w.append(wx * wy * inside * vertex_weight)
            idx.append(cell0 + cy.clamp(0, size - 1) * size + cx.clamp(0, size - 1))
    w_all = torch.cat(w)[:, None]
    stacked = torch.cat([w_all, w_all * values.repeat(4, 1)], -1)  # (4K, 1 + A)
    sums = xy.new_zeros(N * size * size, 1 + A).index_add(0, torch.cat(idx), stacked).reshape(N, size * size, 1 + A)
    weight_sum, value_sum = sums[..., 0], sums[..., 1:]
    density = share.sum(-1) / area.clamp(min=1.0 / ZBUFFER_FACTOR**2)  # visible vertex weight per cell, (N,)
    coverage = (weight_sum / density.clamp(min=1.0)[:, None]).clamp(max=1.0)
    mean = value_sum / weight_sum.clamp(min=1e-6)[..., None]
    return (mean * coverage[..., None]).transpose(1, 2).reshape(N, A, size, size)


def map_discrepancy(rendered: Tensor, evidence: Tensor, eps: float = DM_EPS) -> Tensor:
    """Eq. 4, ``D_M (..., 3, H0, W0)`` between compact maps ``rendered`` and ``evidence`` (same shape):
    ``[|dI| / (|dI|_detached + eps), U_hat - U, V_hat - V]``."""
    d_i = (rendered[..., 0, :, :] - evidence[..., 0, :, :]).abs()
    indicator = d_i / (d_i.detach() + eps)
    return torch.stack([indicator, rendered[..., 1, :, :] - evidence[..., 1, :, :],
                        rendered[..., 2, :, :] - evidence[..., 2, :, :]], -3)
