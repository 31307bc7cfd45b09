"""Multi-person overlays: each person's mesh in its own colour, the nearer body in front."""

from __future__ import annotations

import numpy as np

from mvmocap.reconstruct.people_render import draw_people_meshes, mesh_colour
from tests.export.test_overlay import SIZE, _project
from tests.synth.test_rasterize import _icosphere


def _hue_share(pixels: np.ndarray, k: int) -> np.ndarray:
    """Cosine between each BGR pixel ``(N, 3)`` and person ``k``'s mesh colour."""
    colour = mesh_colour(k)
    return pixels @ colour / (np.linalg.norm(pixels, axis=1) * np.linalg.norm(colour) + 1e-9)


def test_people_meshes_are_drawn_in_their_colours_with_the_nearer_in_front():
    vertices, faces = _icosphere(3)
    near, far = vertices + np.array([-0.3, 0.0, 4.0]), vertices + np.array([0.6, 0.0, 6.5])  # overlapping in the image
    image = np.zeros(SIZE + (3,), np.uint8)
    out = draw_people_meshes(image, [(1, _project(far), far), (0, _project(near), near)], faces, cull=1)
    assert image.max() == 0  # a new image
    assert not np.allclose(mesh_colour(0), mesh_colour(1), atol=0.2)
    rows, cols = np.mgrid[0:SIZE[0], 0:SIZE[1]]

    def disc(centre, shrink=0.9):
        centre_px = _project(centre[None])[0]
        radius = 800.0 / np.sqrt(centre @ centre - 1.0) * shrink
        return (cols - centre_px[0]) ** 2 + (rows - centre_px[1]) ** 2 < radius**2

    near_disc, far_disc = disc(near.mean(0)), disc(far.mean(0))
    assert (near_disc & far_disc).sum() > 1000  # the two bodies overlap in the image
    near_pixels = out[near_disc].astype(float)  # the nearer person (P0) covers its whole disc, overlap included
    far_only = out[far_disc & ~disc(near.mean(0), 1.1)].astype(float)
    assert (_hue_share(near_pixels, 0) > 0.999).all() and (_hue_share(far_only, 1) > 0.999).all()
    assert (_hue_share(near_pixels, 1) < 0.99).all()
    # drawing the far one first or last changes nothing: one z-buffer, not the drawing order
    swapped = draw_people_meshes(image, [(0, _project(near), near), (1, _project(far), far)], faces, cull=1)
    np.testing.assert_array_equal(out, swapped)


def test_no_person_leaves_the_image_unchanged():
    image = np.full(SIZE + (3,), 7, np.uint8)
    np.testing.assert_array_equal(draw_people_meshes(image, [], np.zeros((0, 3), int)), image)
