"""Weak-projection cameras (MetaPose, section 3): ``pi(j; R, s, t) = s * I[0:2] R j + t``.

A camera is a rotation ``R (..., 3, 3)`` (from the body's frame into the camera's OpenCV axes), a
scale ``s (...)`` (2D units per metre; positive) and a 2D shift ``t (..., 2)``. The model has no
focal length or distance: depth only scales the whole body, which removes the focal-length /
distance ambiguity of a pinhole and lets monocular 3D initialise the cameras in closed form.

For a network to update cameras freely, :func:`weak_camera_vector` writes a camera as 9 numbers
``[6D rotation (Zhou et al. 2019), log s, t]`` and :func:`weak_camera_from_vector` reads it back:
any vector is a valid camera.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mvmocap.geometry.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix

CAMERA_VECTOR_SIZE = 9


def weak_project(points: Tensor, R: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """Project ``points (..., N, 3)`` metres with cameras ``R (..., 3, 3)``, ``scale (...)``, ``shift (..., 2)``
    -> ``(..., N, 2)`` 2D units. Broadcast a camera axis by giving ``points`` a ``C`` dim (``(..., C, N, 3)``)."""
    # uv[..., n, a] = s * sum_k R[..., a, k] p[..., n, k] + t[..., a] for a in (x, y)
    return scale[..., None, None] * torch.einsum("...ak,...nk->...na", R[..., :2, :], points) + shift[..., None, :]


def weak_camera_vector(R: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """``R (..., 3, 3)``, ``scale (...)`` > 0, ``shift (..., 2)`` -> ``(..., 9)`` = [6D rotation, log s, t]."""
    return torch.cat([matrix_to_rotation_6d(R), scale.log()[..., None], shift], -1)


def weak_camera_from_vector(vector: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(..., 9)`` -> ``R (..., 3, 3)`` (Gram-Schmidt of the 6D part), ``scale (...)``, ``shift (..., 2)``."""
    return rotation_6d_to_matrix(vector[..., :6]), vector[..., 6].exp(), vector[..., 7:9]
