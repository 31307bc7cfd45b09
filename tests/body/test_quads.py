"""The builder's quad split: shorter diagonal, ties decided by topology (no anny needed)."""

from __future__ import annotations

import numpy as np

from mvmocap.body.quads import split_quads


def grid(rows: int, cols: int, dx: float = 1.0, dy: float = 1.0):
    """A planar grid of quads (counter-clockwise a, b, c, d) and its vertices."""
    ys, xs = np.mgrid[0:rows + 1, 0:cols + 1]
    vertices = np.stack([xs.ravel() * dx, ys.ravel() * dy, np.zeros(xs.size)], axis=-1)
    index = np.arange(vertices.shape[0]).reshape(rows + 1, cols + 1)
    quads = np.stack([index[:-1, :-1], index[:-1, 1:], index[1:, 1:], index[1:, :-1]], axis=-1).reshape(-1, 4)
    return quads, vertices


def test_every_quad_becomes_two_triangles_covering_it():
    quads, vertices = grid(3, 4, dx=1.0, dy=1.7)
    triangles = split_quads(quads, vertices)
    assert triangles.shape == (2 * len(quads), 3)
    for quad, pair in zip(quads, triangles.reshape(-1, 2, 3)):
        assert set(pair.ravel()) == set(quad)
        shared = set(pair[0]) & set(pair[1])
        assert len(shared) == 2  # the two triangles share the cut diagonal


def test_the_shorter_diagonal_is_cut():
    quad = np.array([[0, 1, 2, 3]])
    kite = np.array([[0, 0, 0], [2, -0.5, 0], [3, 0, 0], [2, 0.5, 0]], dtype=float)  # a-c = 3, b-d = 1
    assert np.array_equal(split_quads(quad, kite), [[0, 1, 3], [3, 1, 2]])
    other = kite[:, [1, 0, 2]]  # swap x and y: a-c = 3 still, b-d = 1 still
    assert np.array_equal(split_quads(quad, other), [[0, 1, 3], [3, 1, 2]])
    narrow = np.array([[0, 0, 0], [1, -2, 0], [0.2, 0, 0], [1, 2, 0]], dtype=float)  # a-c = 0.2, b-d = 4
    assert np.array_equal(split_quads(quad, narrow), [[0, 1, 2], [2, 3, 0]])


def test_ties_do_not_depend_on_rounding():
    """Squares have equal diagonals: the last bits of the coordinates must not choose the cut."""
    quads, vertices = grid(6, 6)
    reference = split_quads(quads, vertices)
    rng = np.random.default_rng(0)
    for _ in range(20):
        jittered = vertices * (1 + rng.normal(0, 1e-12, vertices.shape))
        assert np.array_equal(split_quads(quads, jittered), reference)
    rotated_labels = np.roll(quads, 1, axis=1)  # the same quads, labelled from another corner
    pairs = split_quads(rotated_labels, vertices).reshape(-1, 2, 3)
    for pair, expected in zip(pairs, reference.reshape(-1, 2, 3)):  # the same diagonal is cut
        assert (set(pair[0]) & set(pair[1])) == (set(expected[0]) & set(expected[1]))
    lowest = quads.min(axis=1)
    for pair, low in zip(reference.reshape(-1, 2, 3), lowest):
        assert low in (set(pair[0]) & set(pair[1]))  # the cut runs from the lowest vertex index


def test_shipped_faces_follow_the_rule():
    """The shipped bodies' faces are two triangles per quad, ties cut from the lowest index."""
    from mvmocap.body.loading import MODELS_DIR

    faces = {}
    for gender in ("neutral", "male", "female"):
        with np.load(MODELS_DIR / f"open_{gender}.npz", allow_pickle=False) as data:
            faces[gender] = data["faces"]
    assert np.array_equal(faces["neutral"], faces["male"]) and np.array_equal(faces["neutral"], faces["female"])
    pairs = faces["neutral"].reshape(-1, 2, 3)
    assert all(len(set(p[0]) & set(p[1])) == 2 and len(set(p.ravel())) == 4 for p in pairs[:2000])
