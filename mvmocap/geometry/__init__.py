"""Pure, batched, differentiable geometry (no I/O).

Conventions: OpenCV camera frame (x right, y down, z forward),
``x_cam = R @ x_world + t``, metres, radians, world +Z up.
"""

from mvmocap.geometry.camera import Camera, CameraRig
from mvmocap.geometry.procrustes import rigid_procrustes, similarity_procrustes
from mvmocap.geometry.projection import (
    camera_centers,
    distort_normalized,
    project_points,
    undistort_points,
    world_to_camera,
)
from mvmocap.geometry.triangulation import (
    reprojection_errors,
    triangulate,
    triangulate_robust,
)

__all__ = [
    "Camera",
    "CameraRig",
    "camera_centers",
    "distort_normalized",
    "project_points",
    "reprojection_errors",
    "rigid_procrustes",
    "similarity_procrustes",
    "triangulate",
    "triangulate_robust",
    "undistort_points",
    "world_to_camera",
]
