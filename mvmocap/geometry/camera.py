"""``Camera`` (one calibrated camera) and ``CameraRig`` (a synchronised set).

Convention: OpenCV camera frame (x right, y down, z forward),
``x_cam = R @ x_world + t``, metres; ``K`` in pixels; ``dist = (k1, k2, p1, p2, k3)``;
``size = (width, height)`` pixels. World frame right-handed, +Z up.

``Camera`` holds float64 NumPy arrays and validates itself (it is what file
readers produce). ``CameraRig`` stacks cameras into torch tensors and offers
the batched, differentiable operations: project, triangulate, reprojection
errors, centres and similarity transforms (after aniposelib's CameraGroup).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.projection import camera_centers, project_points, project_points_jacobian
from mvmocap.geometry.triangulation import (
    TriangulationResult,
    reprojection_errors,
    triangulate,
    triangulate_robust,
)

ROTATION_TOLERANCE = 1e-6


def check_rotation(R: np.ndarray, what: str = "R") -> None:
    """Raise :class:`InputError` unless ``R (3, 3)`` is a proper rotation (|R^T R - I| <= 1e-6, det = +1)."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3) or not np.all(np.isfinite(R)):
        raise InputError(f"{what} must be a finite 3x3 matrix, got shape {R.shape}")
    err = np.abs(R.T @ R - np.eye(3)).max()
    if err > ROTATION_TOLERANCE:
        raise InputError(f"{what} is not a rotation: |R^T R - I| = {err:.2e} > {ROTATION_TOLERANCE:g}")
    det = np.linalg.det(R)
    if abs(det - 1.0) > 1e-5:
        raise InputError(f"{what} is not a rotation: det = {det:.6f} (a reflection if -1)")


# Plausibility bounds: values outside these are a broken or mislabelled file, not a camera.
MAX_IMAGE_SIDE_PX = 100_000
FOCAL_RANGE_IN_IMAGE_SIDES = (1e-2, 1e2)  # focal length / larger image side
MAX_PRINCIPAL_POINT_OFFSET = 10.0  # |principal point - image centre| / image side
MAX_TRANSLATION_M = 1e5


def _image_size(name: str, value) -> tuple[int, int]:
    """``(width, height)`` as ints from two finite, (nearly) whole, positive, plausible numbers."""
    try:
        w, h = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"camera {name!r}: size must be [width, height], got {value!r}") from None
    for side in (w, h):
        if not np.isfinite(side) or not 1 <= round(side) <= MAX_IMAGE_SIDE_PX:
            raise InputError(f"camera {name!r}: size must be two whole numbers of pixels in [1, "
                             f"{MAX_IMAGE_SIDE_PX}], got {value!r}")
    return round(w), round(h)


def check_plausible(camera: "Camera") -> None:
    """Raise :class:`InputError` when a camera read from a file cannot be a real one (focal length
    far from the image size, principal point far outside the image, translation beyond 100 km)."""
    name, K, t, size = camera.name, camera.K, camera.t, camera.size
    side = max(size)
    lo, hi = FOCAL_RANGE_IN_IMAGE_SIDES
    for f in (K[0, 0], K[1, 1]):
        if not lo * side <= f <= hi * side:
            raise InputError(f"camera {name!r}: focal length {f:g} px is implausible for a {size[0]}x{size[1]} "
                             f"image (expected {lo * side:g} to {hi * side:g} px)")
    offset = max(abs(K[0, 2] - size[0] / 2), abs(K[1, 2] - size[1] / 2)) / side
    if offset > MAX_PRINCIPAL_POINT_OFFSET:
        raise InputError(f"camera {name!r}: principal point ({K[0, 2]:g}, {K[1, 2]:g}) is far outside the "
                         f"{size[0]}x{size[1]} image")
    if np.linalg.norm(t) > MAX_TRANSLATION_M:
        raise InputError(f"camera {name!r}: translation {np.linalg.norm(t):g} m is implausible")


@dataclass(frozen=True)
class Camera:
    """One calibrated pinhole camera with OpenCV distortion.

    Attributes:
        name: unique name in its rig (a video's file stem).
        K: ``(3, 3)`` intrinsics, pixels.
        dist: ``(5,)`` (k1, k2, p1, p2, k3).
        R: ``(3, 3)`` world -> camera rotation.
        t: ``(3,)`` world -> camera translation, metres.
        size: ``(width, height)`` pixels.
    """

    name: str
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    size: tuple[int, int]

    def __post_init__(self) -> None:
        def as_array(value, shape, what):
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != shape:
                raise InputError(f"camera {self.name!r}: {what} must have shape {shape}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise InputError(f"camera {self.name!r}: {what} has non-finite values")
            return arr

        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"camera name must be a non-empty string, got {self.name!r}")
        K = as_array(self.K, (3, 3), "K")
        dist_arr = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        if dist_arr.size > 5:
            raise InputError(f"camera {self.name!r}: dist has {dist_arr.size} coefficients; at most 5 (k1 k2 p1 p2 k3)")
        dist = as_array(np.pad(dist_arr, (0, 5 - dist_arr.size)), (5,), "dist")
        R = as_array(self.R, (3, 3), "R")
        t = as_array(self.t, (3,), "t")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise InputError(f"camera {self.name!r}: K has a non-positive focal length (fx={K[0, 0]}, fy={K[1, 1]})")
        if K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
            raise InputError(f"camera {self.name!r}: K's last row must be [0, 0, 1] and K[1, 0] = 0")
        check_rotation(R, f"camera {self.name!r}: R")
        size = _image_size(self.name, self.size)
        for attr, value in (("K", K), ("dist", dist), ("R", R), ("t", t), ("size", size)):
            object.__setattr__(self, attr, value)

    @property
    def center(self) -> np.ndarray:
        """Camera centre in the world ``(3,)`` metres."""
        return -self.R.T @ self.t

    @property
    def viewing_direction(self) -> np.ndarray:
        """Unit optical axis (camera +z) in world coordinates ``(3,)``."""
        return self.R[2].copy()


def check_unique_names(names) -> int:
    """The number of cameras ``names`` holds; :class:`InputError` naming any name given twice."""
    dupes = sorted({n for n in names if list(names).count(n) > 1})
    if dupes:
        raise InputError(f"duplicate camera names: {', '.join(dupes)}")
    return len(names)


@dataclass(frozen=True)
class CameraRig:
    """C synchronised cameras as stacked tensors (differentiable; any dtype/device).

    Attributes:
        names: ``C`` unique camera names.
        K: ``(C, 3, 3)`` pixels.  dist: ``(C, 5)``.  R: ``(C, 3, 3)``.  t: ``(C, 3)`` metres.
        sizes: ``(C, 2)`` (width, height) pixels.
    """

    names: tuple[str, ...]
    K: Tensor
    dist: Tensor
    R: Tensor
    t: Tensor
    sizes: Tensor = field(repr=False)

    def __post_init__(self) -> None:
        C = check_unique_names(self.names)
        for attr, shape in (("K", (C, 3, 3)), ("dist", (C, 5)), ("R", (C, 3, 3)), ("t", (C, 3)), ("sizes", (C, 2))):
            value = getattr(self, attr)
            if tuple(value.shape) != shape:
                raise InputError(f"CameraRig.{attr} must have shape {shape}, got {tuple(value.shape)}")

    # -- construction and conversion ------------------------------------------------
    @classmethod
    def from_cameras(cls, cameras: list[Camera], dtype: torch.dtype = torch.float64) -> "CameraRig":
        """Stack validated :class:`Camera` objects (at least one) into a rig."""
        if not cameras:
            raise InputError("a camera rig needs at least one camera")

        def stack(attr):
            return torch.as_tensor(np.stack([getattr(c, attr) for c in cameras]), dtype=dtype)

        return cls(
            names=tuple(c.name for c in cameras),
            K=stack("K"),
            dist=stack("dist"),
            R=stack("R"),
            t=stack("t"),
            sizes=torch.as_tensor([c.size for c in cameras], dtype=dtype),
        )

    def cameras(self) -> list[Camera]:
        """Back to validated :class:`Camera` objects (float64 NumPy)."""
        def np64(x: Tensor) -> np.ndarray:
            return x.detach().cpu().to(torch.float64).numpy()

        return [
            Camera(
                name=n,
                K=np64(self.K[i]),
                dist=np64(self.dist[i]),
                R=np64(self.R[i]),
                t=np64(self.t[i]),
                size=(int(round(float(self.sizes[i, 0]))), int(round(float(self.sizes[i, 1])))),
            )
            for i, n in enumerate(self.names)
        ]

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of camera ``name``; :class:`InputError` listing the names if absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise InputError(f"no camera named {name!r}; the rig has {', '.join(self.names)}") from None

    def subset(self, names: list[str] | tuple[str, ...]) -> "CameraRig":
        """The rig restricted to (and reordered as) ``names``."""
        idx = torch.as_tensor([self.index(n) for n in names], dtype=torch.long)
        return CameraRig(
            names=tuple(names),
            K=self.K[idx],
            dist=self.dist[idx],
            R=self.R[idx],
            t=self.t[idx],
            sizes=self.sizes[idx],
        )

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> "CameraRig":
        """Same rig with tensors cast/moved."""
        def conv(x: Tensor) -> Tensor:
            return x.to(device=device, dtype=dtype)

        return CameraRig(self.names, conv(self.K), conv(self.dist), conv(self.R), conv(self.t), conv(self.sizes))

    # -- geometry -------------------------------------------------------------------
    def centers(self) -> Tensor:
        """Camera centres ``(C, 3)`` metres, world frame."""
        return camera_centers(self.R, self.t)

    def project(self, points_world: Tensor, *, distort: bool = True) -> Tensor:
        """World points ``(..., J, 3)`` m -> pixels in every camera ``(..., C, J, 2)``."""
        points = torch.as_tensor(points_world, dtype=self.K.dtype, device=self.K.device)
        return project_points(points.unsqueeze(-3), self.K, self.dist if distort else None, self.R, self.t)

    def project_jacobian(self, points_world: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`project` ``(..., C, J, 2)`` px and its derivative with respect to each world point
        ``(..., C, J, 2, 3)`` px/m (closed form, distortion included)."""
        points = torch.as_tensor(points_world, dtype=self.K.dtype, device=self.K.device)
        return project_points_jacobian(points.unsqueeze(-3), self.K, self.dist, self.R, self.t)

    def depths(self, points_world: Tensor) -> Tensor:
        """Camera-frame depth (z) of world points ``(..., J, 3)`` in every camera -> ``(..., C, J)`` m."""
        points = torch.as_tensor(points_world, dtype=self.K.dtype, device=self.K.device).unsqueeze(-3)
        return (points @ self.R[:, 2:, :].transpose(-1, -2)).squeeze(-1) + self.t[:, 2:]

    def triangulate(
        self, points_2d: Tensor, confidence: Tensor | None = None, *, method: str = "linear"
    ) -> Tensor:
        """Weighted DLT: ``points_2d (..., C, J, 2)`` px, ``confidence (..., C, J)`` -> ``(..., J, 3)`` m."""
        points_2d = torch.as_tensor(points_2d, dtype=self.K.dtype, device=self.K.device)
        if confidence is None:
            confidence = torch.ones(points_2d.shape[:-1], dtype=points_2d.dtype, device=points_2d.device)
        self._check_views(points_2d)
        return triangulate(points_2d, confidence.to(points_2d), self.K, self.dist, self.R, self.t, method=method)

    def triangulate_robust(
        self,
        points_2d: Tensor,
        confidence: Tensor | None = None,
        *,
        threshold_px: float = 20.0,
        min_views: int = 2,
    ) -> TriangulationResult:
        """Robust triangulation dropping the worst views; see :func:`triangulate_robust`."""
        points_2d = torch.as_tensor(points_2d, dtype=self.K.dtype, device=self.K.device)
        if confidence is None:
            confidence = torch.ones(points_2d.shape[:-1], dtype=points_2d.dtype, device=points_2d.device)
        self._check_views(points_2d)
        return triangulate_robust(
            points_2d,
            confidence.to(points_2d),
            self.K,
            self.dist,
            self.R,
            self.t,
            threshold_px=threshold_px,
            min_views=min_views,
        )

    def reprojection_errors(self, points_3d: Tensor, points_2d: Tensor) -> Tensor:
        """``points_3d (..., J, 3)`` m vs ``points_2d (..., C, J, 2)`` px -> ``(..., C, J)`` px."""
        points_2d = torch.as_tensor(points_2d, dtype=self.K.dtype, device=self.K.device)
        points_3d = torch.as_tensor(points_3d, dtype=self.K.dtype, device=self.K.device)
        return reprojection_errors(points_3d, points_2d, self.K, self.dist, self.R, self.t)

    def transformed(self, scale: float | Tensor, rotation: Tensor, translation: Tensor) -> "CameraRig":
        """The same rig after the world moves by ``x' = s * Q @ x + u``.

        Projections of correspondingly moved points are unchanged:
        ``R' = R Q^T`` and ``t' = s t - R Q^T u``.
        ``scale ()``, ``rotation (3, 3)``, ``translation (3,)``.
        """
        s = torch.as_tensor(scale, dtype=self.R.dtype, device=self.R.device)
        Q = torch.as_tensor(rotation, dtype=self.R.dtype, device=self.R.device)
        u = torch.as_tensor(translation, dtype=self.R.dtype, device=self.R.device)
        R_new = self.R @ Q.transpose(-1, -2)
        t_new = s * self.t - (R_new @ u.unsqueeze(-1)).squeeze(-1)
        return CameraRig(self.names, self.K, self.dist, R_new, t_new, self.sizes)

    def _check_views(self, points_2d: Tensor) -> None:
        if points_2d.dim() < 3 or points_2d.shape[-3] != len(self) or points_2d.shape[-1] != 2:
            raise InputError(
                f"points_2d must have shape (..., {len(self)}, J, 2) for this {len(self)}-camera rig, "
                f"got {tuple(points_2d.shape)}"
            )
