"""Self-occlusion of joints from a z-buffer of the body mesh.

A joint is hidden in a view when the body's surface at the joint's pixel is nearer to the camera
than the joint's depth minus a margin. The margin accounts for the joint lying inside its own
limb (the surface of the limb itself is always in front of it): about the limb's radius.

Each view is rendered at low resolution over the body's own box (a square crop of the projected
vertices), so the cost does not depend on the image size. Distortion is applied to vertices and
joints alike (``dist``), so the test is consistent with distorted keypoints.

Shapes: ``B`` samples (or time steps), ``C`` views, ``V`` vertices, ``J`` joints. Metres, world
frame, OpenCV cameras (``x_cam = R x_world + t``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.geometry.projection import project_points, world_to_camera
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
        margin_m: ``(J,)`` metres.
    """
    N, H, W = depth.shape
    ix = joints_screen[..., 0].round().long()
    iy = joints_screen[..., 1].round().long()
    inside = (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
    lin = iy.clamp(0, H - 1) * W + ix.clamp(0, W - 1)  # (N, J)
    surface = torch.gather(depth.reshape(N, H * W), 1, lin)
    in_front = (surface > 0) & (surface < joints_screen[..., 2] - margin_m.to(depth))
    return ~(inside & in_front)


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
        cull: :func:`mvmocap.synth.rasterize.winding_sign` of the mesh (0 draws every face).
    """
    B, C = K.shape[:2]
    J = joints.shape[-2]
    V = vertices.shape[-2]
    flat = lambda x: x.reshape((B * C,) + x.shape[2:])  # noqa: E731
    v = vertices[:, None].expand(B, C, V, 3).reshape(B * C, V, 3)
    j = joints[:, None].expand(B, C, J, 3).reshape(B * C, J, 3)
    Kf, Rf, tf = flat(K), flat(R), flat(t)
    df = None if dist is None else flat(dist)
    v_px = project_points(v, Kf, df, Rf, tf)
    j_px = project_points(j, Kf, df, Rf, tf)
    scale, offset = body_crops(v_px, resolution)
    v_screen = torch.cat([v_px * scale[:, None, None] + offset[:, None], world_to_camera(v, Rf, tf)[..., 2:]], -1)
    j_screen = torch.cat([j_px * scale[:, None, None] + offset[:, None], world_to_camera(j, Rf, tf)[..., 2:]], -1)
    frags = rasterize(v_screen, faces, (resolution, resolution), cull=cull)
    margins = _margins(margin_m, J, joints)
    return visibility_from_depth(frags.depth, j_screen, margins).reshape(B, C, J)


def _margins(margin_m: float | tuple[float, ...], J: int, like: Tensor) -> Tensor:
    if isinstance(margin_m, (int, float)):
        return torch.full((J,), float(margin_m), dtype=like.dtype, device=like.device)
    values = tuple(margin_m) + (margin_m[-1],) * max(J - len(margin_m), 0)
    return torch.as_tensor(values[:J], dtype=like.dtype, device=like.device)


__all__ = ["JOINT_MARGINS_M", "body_crops", "joint_visibility", "visibility_from_depth"]
