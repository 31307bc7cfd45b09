"""Overlay images: the fitted mesh and skeleton drawn over the camera frames.

The mesh goes through the z-buffer rasteriser of :mod:`mvmocap.synth.rasterize` (watertight:
no pixel inside the silhouette is left uncovered, unlike filling many overlapping polygons at once
with OpenCV, whose even-odd rule opened holes) and is shaded per face (Lambert, light from the
camera).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from mvmocap.keypoints import COCO23_LIMBS
from mvmocap.synth.rasterize import rasterize

MESH_COLOUR = np.array([0.95, 0.75, 0.55])  # BGR scale of the shaded mesh
SHADE_LEVELS = 8


def mesh_coverage(vertices_px: np.ndarray, vertices_cam: np.ndarray, faces: np.ndarray, size: tuple[int, int],
                  cull: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Which face is nearest at each covered pixel.

    Args:
        vertices_px: ``(V, 2)`` projected pixels; vertices_cam: ``(V, 3)`` camera-frame metres.
        faces: ``(T, 3)``; size: ``(height, width)``; cull: the mesh's winding sign to skip back
            faces of a closed mesh (:func:`mvmocap.synth.rasterize.winding_sign`), 0 to draw all.
    Returns:
        pixels ``(M,)`` flat indices into ``height * width`` and their faces ``(M,)``.
    """
    screen = torch.from_numpy(np.concatenate([vertices_px, vertices_cam[:, 2:]], axis=1).astype(np.float32))[None]
    fragments = rasterize(screen, torch.from_numpy(np.asarray(faces, dtype=np.int64)), size, cull=cull)
    return fragments.pixels.numpy(), fragments.pixel_faces.numpy()


def face_shades(vertices_cam: np.ndarray, faces: np.ndarray, colour: np.ndarray = MESH_COLOUR) -> np.ndarray:
    """``(T, 3)`` BGR colour of every face: Lambert with the light at the camera, in ``SHADE_LEVELS`` steps.

    ``colour``: the fully lit BGR scale in [0, 1], ``(3,)`` for the whole mesh or ``(T, 3)`` per face.
    """
    tri = vertices_cam[faces]  # (T, 3, 3)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    centres = tri.mean(axis=1)
    facing = np.abs((normals * centres).sum(1)) / (np.linalg.norm(normals, axis=1) * np.linalg.norm(centres, axis=1) + 1e-12)
    level = np.minimum((0.35 + 0.65 * facing) * SHADE_LEVELS, SHADE_LEVELS - 1).astype(int)
    return np.asarray(colour, dtype=float) * 255 * (level[:, None] + 1) / SHADE_LEVELS


def draw_mesh(
    image: np.ndarray,
    vertices_px: np.ndarray,
    vertices_cam: np.ndarray,
    faces: np.ndarray,
    alpha: float = 0.55,
    cull: int = 0,
    colour: np.ndarray = MESH_COLOUR,
) -> np.ndarray:
    """Blend a shaded mesh into ``image (H, W, 3)`` uint8 BGR (a new image is returned).

    Args:
        vertices_px: ``(V, 2)`` projected pixels.
        vertices_cam: ``(V, 3)`` camera-frame points (metres), for the depth test and shading.
        faces: ``(T, 3)`` vertex indices; cull: see :func:`mesh_coverage`.
        colour: fully lit BGR scale in [0, 1]: ``(3,)`` for the whole mesh, or ``(T, 3)`` per face (several
            bodies drawn as one mesh, each in its own colour, nearest face on top).
    """
    height, width = image.shape[:2]
    pixels, pixel_faces = mesh_coverage(vertices_px, vertices_cam, faces, (height, width), cull)
    out = image.copy()
    if len(pixels) == 0:
        return out
    flat = out.reshape(-1, 3)
    shown, which = np.unique(pixel_faces, return_inverse=True)  # shade only the faces that show
    colour = np.asarray(colour, dtype=float)
    colour = colour[shown] if colour.ndim == 2 else colour
    colour = face_shades(vertices_cam, faces[shown], colour)[which]
    flat[pixels] = np.clip(flat[pixels] * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)
    return out


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
