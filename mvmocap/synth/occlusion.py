"""Self-occlusion of joints from a z-buffer of the body mesh.

A joint is hidden in a view when the body's surface at the joint's pixel is nearer to the camera
than the joint's depth minus a margin. The margin accounts for the joint lying inside its own
limb (the surface of the limb itself is always in front of it): about the limb's radius.

Each view's depth is taken at low resolution over the body's own box (a square crop of the
projected vertices), so the cost does not depend on the image size, in one of two ways:

* ``"splat"`` (the default, cheap): every vertex writes its depth into its cell, the nearest wins
  (one ``scatter_reduce``), and empty cells inside the body take their neighbours' nearest depth.
  Right for dense meshes (cells larger than the vertex spacing). On the default body (27k faces),
  16 samples x 4 views at 64 cells, it agreed with the rasteriser on 94 % of the joints (hidden
  share 0.347 against 0.366) at a third of its cost.
* ``"raster"``: the triangle rasteriser's z-buffer (exact).

Distortion is applied to vertices and joints alike (``dist``), so the test is consistent with
distorted keypoints.

Shapes: ``B`` samples (or time steps), ``C`` views, ``V`` vertices, ``J`` joints. Metres, world
frame, OpenCV cameras (``x_cam = R x_world + t``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.projection import project_points
from mvmocap.synth.rasterize import rasterize

# Per COCO-17 joint: about the radius of the body part the joint sits in (m). A surface less than
# this in front of the joint is the joint's own limb, not an occluder.
JOINT_MARGINS_M = (
    0.06, 0.04, 0.04, 0.05, 0.05,  # nose, eyes, ears
    0.08, 0.08, 0.06, 0.06, 0.05, 0.05,  # shoulders, elbows, wrists
    0.12, 0.12, 0.08, 0.08, 0.06, 0.06,  # hips, knees, ankles
)


def visibility_from_depth(depth: Tensor, joints_screen: Tensor, margin_m: Tensor) -> Tensor:
    """Joint visibility ``(N, J)`` bool from depth maps.

    Args:
        depth: ``(N, H, W)`` nearest surface depth in metres, 0 = background.
        joints_screen: ``(N, J, 3)`` (x px, y px, depth m) in the depth map's pixels.
        margin_m: ``(J,)`` or ``(N, J)`` metres.
    """
    N, H, W = depth.shape
    margin_m = margin_m.to(depth).expand(N, joints_screen.shape[1])
    ix = joints_screen[..., 0].round().long()
    iy = joints_screen[..., 1].round().long()
    inside = (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
    lin = iy.clamp(0, H - 1) * W + ix.clamp(0, W - 1)  # (N, J)
    surface = torch.gather(depth.reshape(N, H * W), 1, lin)
    in_front = (surface > 0) & (surface < joints_screen[..., 2] - margin_m)
    return ~(inside & in_front)


def splat_depth(screen: Tensor, size: int) -> Tensor:
    """Nearest depth ``(N, size, size)`` (0 = empty) of points ``screen (N, V, 3)`` (x px, y px, depth m)
    splatted into their cells (points outside are clamped to the border: pass points inside, as
    :func:`body_crops` makes them); empty cells with a non-empty 3 x 3 neighbourhood take its nearest."""
    N, V, _ = screen.shape
    ix = screen[..., 0].round().clamp(0, size - 1).long()
    iy = screen[..., 1].round().clamp(0, size - 1).long()
    cell = iy * size + ix + torch.arange(N, device=screen.device)[:, None] * (size * size)
    far = torch.finfo(screen.dtype).max
    z = screen[..., 2]
    z = torch.where(z > 0, z, torch.full_like(z, far))  # points behind the camera write nothing
    depth = torch.full((N * size * size,), far, dtype=screen.dtype, device=screen.device)
    depth.scatter_reduce_(0, cell.reshape(-1), z.reshape(-1), reduce="amin")
    depth = depth.reshape(N, 1, size, size)
    near = -torch.nn.functional.max_pool2d(-depth, 3, 1, 1)
    depth = torch.where(depth < far, depth, near)
    return torch.where(depth < far, depth, torch.zeros_like(depth)).reshape(N, size, size)


def body_crops(vertices_px: Tensor, resolution: int) -> tuple[Tensor, Tensor]:
    """Per image, the affine ``(scale (N,), offset (N, 2))`` from image px to a ``resolution``-pixel
    square around the projected vertices ``(N, V, 2)`` (2 % margin on each side)."""
    lo = vertices_px.amin(-2)
    hi = vertices_px.amax(-2)
    side = (hi - lo).amax(-1).clamp(min=1.0) * 1.04
    centre = 0.5 * (lo + hi)
    scale = resolution / side
    offset = -(centre - side[..., None] / 2) * scale[..., None] - 0.5
    return scale, offset


def joint_visibility(
    vertices: Tensor,
    faces: Tensor,
    joints: Tensor,
    K: Tensor,
    R: Tensor,
    t: Tensor,
    image_size: Tensor | None = None,
    dist: Tensor | None = None,
    resolution: int = 64,
    margin_m: float | tuple[float, ...] = JOINT_MARGINS_M,
    cull: int = 0,
    method: str = "splat",
    vertices_px: Tensor | None = None,
    splat_slack: float = 0.5,
    vertex_stride: int = 1,
) -> Tensor:
    """Which joints each camera sees ``(B, C, J)`` bool (True = visible).

    Args:
        vertices: ``(B, V, 3)`` body surface, metres, world.
        faces: ``(F, 3)`` long.
        joints: ``(B, J, 3)`` metres, world.
        K, R, t: ``(B, C, 3, 3)``, ``(B, C, 3, 3)``, ``(B, C, 3)`` cameras.
        image_size: ``(B, C, 2)`` (w, h) px; accepted for symmetry with the detector model, which
            handles joints outside the image itself (they are reported visible here).
        dist: ``(B, C, 5)`` or None.
        resolution: pixels of the square rendered over the body's box per view.
        margin_m: metres, one for all joints or one per joint (default :data:`JOINT_MARGINS_M`).
        cull: :func:`mvmocap.synth.rasterize.winding_sign` of the mesh (0 draws every face); raster only.
        method: ``"splat"`` or ``"raster"`` (module docstring).
        vertices_px: ``(B, C, V, 2)`` the vertices' pixels if already projected (saves a projection).
        splat_slack: splat only: extra margin in cells (a cell's nearest vertex may sit beside the joint).
        vertex_stride: splat only: use every n-th vertex (dense meshes: fewer points, same cells).
    """
    if method not in ("splat", "raster"):
        raise InputError(f"unknown visibility method {method!r}; known: splat, raster")
    B, C = K.shape[:2]
    J = joints.shape[-2]
    Kf = K.reshape(B * C, 3, 3)
    if method == "splat" and vertex_stride > 1:
        keep = torch.arange(0, vertices.shape[-2], vertex_stride, device=vertices.device)
        vertices = vertices.index_select(-2, keep)
        vertices_px = None if vertices_px is None else vertices_px.index_select(-2, keep)
    V = vertices.shape[-2]
    if vertices_px is None:
        vertices_px = project_points(vertices[:, None], K, dist, R, t)  # (B, C, V, 2)
    v_px = vertices_px.reshape(B * C, V, 2)
    j_px = project_points(joints[:, None], K, dist, R, t).reshape(B * C, J, 2)
    # Depths only: the third row of R (camera z) dotted with the points.
    v_depth = (torch.einsum("bvk,bck->bcv", vertices, R[..., 2, :]) + t[..., 2:3]).reshape(B * C, V, 1)
    j_depth = (torch.einsum("bjk,bck->bcj", joints, R[..., 2, :]) + t[..., 2:3]).reshape(B * C, J, 1)
    scale, offset = body_crops(v_px, resolution)
    v_screen = torch.cat([v_px * scale[:, None, None] + offset[:, None], v_depth], -1)
    j_screen = torch.cat([j_px * scale[:, None, None] + offset[:, None], j_depth], -1)
    if method == "splat":
        depth = splat_depth(v_screen, resolution)
    else:
        depth = rasterize(v_screen, faces, (resolution, resolution), cull=cull).depth
    margins = joint_margins(margin_m, J, joints).expand(B * C, J)
    if method == "splat":
        # A cell's nearest vertex may lie up to half a cell beside the joint's line of sight: allow
        # for a surface sloping at 45 deg over that distance (cell size in metres at the joint's depth).
        cell_m = j_screen[..., 2] / (scale[:, None] * Kf[:, 0, 0, None])
        margins = margins + splat_slack * cell_m
    return visibility_from_depth(depth, j_screen, margins).reshape(B, C, J)


def joint_margins(margin_m: float | tuple[float, ...], J: int, like: Tensor) -> Tensor:
    """``(J,)`` margins (m) like ``like``: one value for every joint, or per joint (the last repeated)."""
    if isinstance(margin_m, (int, float)):
        return torch.full((J,), float(margin_m), dtype=like.dtype, device=like.device)
    values = tuple(margin_m) + (margin_m[-1],) * max(J - len(margin_m), 0)
    return torch.as_tensor(values[:J], dtype=like.dtype, device=like.device)


__all__ = ["JOINT_MARGINS_M", "body_crops", "joint_margins", "joint_visibility", "splat_depth", "visibility_from_depth"]
