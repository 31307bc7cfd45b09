"""Overlay drawing: the mesh is painted without holes, nearest face on top."""

from __future__ import annotations

import numpy as np

from mvmocap.export.overlay import MESH_COLOUR, draw_mesh
from tests.synth.test_rasterize import _icosphere

FOCAL, SIZE = 800.0, (600, 800)


def _project(points: np.ndarray) -> np.ndarray:
    return points[:, :2] / points[:, 2:] * FOCAL + np.array([SIZE[1] / 2, SIZE[0] / 2])


def test_two_overlapping_spheres_are_painted_everywhere_inside_their_discs():
    vertices, faces = _icosphere(4)
    centres = [np.array([-0.3, 0.0, 4.0]), np.array([0.6, 0.2, 6.5])]  # apart in 3D, overlapping in the image
    points = np.concatenate([vertices + c for c in centres])
    mesh_faces = np.concatenate([faces, faces + len(vertices)])
    image = np.zeros(SIZE + (3,), np.uint8)
    out = draw_mesh(image, _project(points), points, mesh_faces, alpha=1.0, cull=1)
    painted = out.max(-1) > 0
    rows, cols = np.mgrid[0:SIZE[0], 0:SIZE[1]]
    inside = np.zeros(SIZE, bool)
    for c in centres:  # well inside each sphere's projected outline (radius ~ f r / d, minus the facets' sag)
        centre_px = _project(c[None])[0]
        radius = FOCAL * 1.0 / np.sqrt(c @ c - 1.0) * 0.97
        inside |= (cols - centre_px[0]) ** 2 + (rows - centre_px[1]) ** 2 < radius**2
    assert inside.sum() > 100_000
    assert painted[inside].all()  # no hole, also where the spheres overlap
    assert not painted[0, 0] and image.max() == 0  # the background is untouched, the input too
    # the nearer sphere is in front: wherever it is drawn alone, the pair looks the same
    near = points[: len(vertices)]
    alone = draw_mesh(image, _project(near), near, faces, alpha=1.0, cull=1)
    drawn = alone.max(-1) > 0
    np.testing.assert_array_equal(out[drawn], alone[drawn])


def test_mesh_colour_defaults_to_the_fixed_colour_and_can_be_set_per_mesh_or_per_face():
    vertices, faces = _icosphere(3)
    points = vertices + np.array([0.0, 0.0, 4.0])
    image = np.full(SIZE + (3,), 20, np.uint8)
    default = draw_mesh(image, _project(points), points, faces, cull=1)
    fixed = draw_mesh(image, _project(points), points, faces, cull=1, colour=MESH_COLOUR)
    np.testing.assert_array_equal(default, fixed)
    red = draw_mesh(image, _project(points), points, faces, alpha=1.0, cull=1, colour=np.array([0.0, 0.0, 1.0]))
    painted = red.max(-1) > 20
    assert painted.sum() > 10_000
    assert (red[painted, 2] > 0).all() and (red[painted, :2] == 0).all()  # only the red channel (BGR)
    per_face = np.zeros((len(faces), 3))
    per_face[:, 0] = 1.0  # every face blue, given face by face
    blue = draw_mesh(image, _project(points), points, faces, alpha=1.0, cull=1, colour=per_face)
    np.testing.assert_array_equal(blue[..., 0], red[..., 2])  # the same shading, in the other channel
    assert (blue[painted, 1:] == 0).all()
