"""Axis conventions at the export edge.

Inside mvmocap the world is +Z up (metres). BVH, glTF and OpenSim's TRC are +Y up; the turn
used everywhere here is ``(x, y, z)_zup -> (x, z, -y)_yup``, a proper rotation of -90° about x,
so the subject's forward and left keep their handedness.
"""

from __future__ import annotations

import numpy as np

Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def to_y_up(points: np.ndarray) -> np.ndarray:
    """``(..., 3)`` world points (+Z up) -> the same points in a +Y-up frame."""
    return points @ Z_UP_TO_Y_UP.T


def from_y_up(points: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_y_up`."""
    return points @ Z_UP_TO_Y_UP
