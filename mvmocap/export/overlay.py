"""Overlay images: the fitted mesh and skeleton drawn over the camera frames.

The mesh is shaded per face (Lambert, light from the camera) and painted back to
front in depth bins with OpenCV, which is fast enough on the CPU for every frame
of a capture and needs no renderer.
"""

from __future__ import annotations

import cv2
import numpy as np

from mvmocap.keypoints import COCO23_LIMBS

MESH_COLOUR = np.array([0.95, 0.75, 0.55])  # BGR scale of the shaded mesh
DEPTH_BINS = 24
SHADE_LEVELS = 8


def draw_mesh(
    image: np.ndarray,
    vertices_px: np.ndarray,
    vertices_cam: np.ndarray,
    faces: np.ndarray,
    alpha: float = 0.55,
) -> np.ndarray:
    """Blend a shaded mesh into ``image (H, W, 3)`` uint8 BGR.

    Args:
        vertices_px: ``(V, 2)`` projected pixels.
        vertices_cam: ``(V, 3)`` camera-frame points (metres), for depth order and shading.
        faces: ``(T, 3)`` vertex indices.
    """
    tri_cam = vertices_cam[faces]  # (T, 3, 3)
    normals = np.cross(tri_cam[:, 1] - tri_cam[:, 0], tri_cam[:, 2] - tri_cam[:, 0])
    centres = tri_cam.mean(axis=1)
    norm = np.linalg.norm(normals, axis=1) + 1e-12
    facing = -(normals * centres).sum(1) / (norm * (np.linalg.norm(centres, axis=1) + 1e-12))
    keep = (facing > 0) & (centres[:, 2] > 0.05)
    if not keep.any():
        return image
    faces, facing, depth = faces[keep], facing[keep], centres[keep, 2]
    shade = np.minimum((0.35 + 0.65 * facing) * SHADE_LEVELS, SHADE_LEVELS - 1).astype(int)
    order = np.argsort(-depth)  # far first
    polygons = np.round(vertices_px[faces] * 4).astype(np.int32)  # 2 fractional bits
    layer = image.copy()
    for chunk in np.array_split(order, DEPTH_BINS):
        for level in np.unique(shade[chunk]):
            sel = chunk[shade[chunk] == level]
            colour = tuple(float(c) for c in MESH_COLOUR * 255 * (level + 1) / SHADE_LEVELS)
            cv2.fillPoly(layer, list(polygons[sel]), colour, lineType=cv2.LINE_AA, shift=2)
    covered = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(covered, list(polygons), 255, shift=2)
    mask = (covered > 0)[..., None]
    blended = (image * (1 - alpha) + layer * alpha).astype(np.uint8)
    return np.where(mask, blended, image)


def draw_skeleton(image: np.ndarray, points_px: np.ndarray, visible: np.ndarray, colour, radius: int = 3) -> None:
    """Draw COCO-23 points ``(23, 2)`` and limbs in place where ``visible (23,)``."""
    thickness = max(1, radius // 2)
    for a, b in COCO23_LIMBS:
        if visible[a] and visible[b]:
            cv2.line(image, _pt(points_px[a]), _pt(points_px[b]), colour, thickness, cv2.LINE_AA)
    for j in np.flatnonzero(visible):
        cv2.circle(image, _pt(points_px[j]), radius, colour, -1, cv2.LINE_AA)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def contact_sheet(tiles: list[list[np.ndarray]], tile_height: int = 360) -> np.ndarray:
    """Rows of images, each resized to ``tile_height``, into one BGR image."""
    rows = []
    for row in tiles:
        resized = [cv2.resize(t, (int(t.shape[1] * tile_height / t.shape[0]), tile_height)) for t in row]
        rows.append(np.hstack(resized))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.vstack(rows)
