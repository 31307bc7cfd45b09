"""``FrameRig``: C cameras whose pose (and focal length) may change from frame to frame.

A :class:`~mvmocap.geometry.camera.CameraRig` with a leading frame dimension: a hand-held phone,
a bumped tripod, a pan-tilt head, or cameras estimated independently per frame-set (MetaPose).
Same conventions: OpenCV cameras, ``x_cam = R x_world + t``, metres, world +Z up, pixels.

Shapes: ``K (F, C, 3, 3)`` px, ``dist (F, C, 5)``, ``R (F, C, 3, 3)``, ``t (F, C, 3)`` m,
``sizes (C, 2)`` (width, height) px: the image size does not change. The projection and
triangulation functions of :mod:`mvmocap.geometry` broadcast camera parameters against the
points' leading dims, so frame ``f``'s points ``(F, ..., J, 3)`` meet frame ``f``'s cameras; the
methods here are those of ``CameraRig`` with points whose first dim is the frame.

:func:`camera_motion` measures how far each camera moved over the frames (the report's flag).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig, check_unique_names
from mvmocap.geometry.projection import camera_centers, project_points, project_points_jacobian
from mvmocap.geometry.rotation_mean import project_to_rotation
from mvmocap.geometry.triangulation import TriangulationResult, reprojection_errors, triangulate_robust

# A camera "moved" when its smoothed pose leaves its first-second pose by more than this.
MOVED_ROTATION_DEG = 5.0
MOVED_POSITION_FRACTION = 0.05  # of its mean distance to the other cameras' centroid (scale-free), or
MOVED_POSITION_MIN_M = 0.10  # at least this many metres
MOTION_WINDOW_S = 0.5  # the per-frame poses are averaged over this window before comparing (estimates are noisy)


@dataclass(frozen=True)
class FrameRig:
    """Per-frame cameras (see the module docstring).

    Attributes:
        names: ``C`` unique camera names.
        K ``(F, C, 3, 3)``, dist ``(F, C, 5)``, R ``(F, C, 3, 3)``, t ``(F, C, 3)`` metres,
        sizes ``(C, 2)`` px.
    """

    names: tuple[str, ...]
    K: Tensor
    dist: Tensor
    R: Tensor
    t: Tensor
    sizes: Tensor = field(repr=False)

    def __post_init__(self) -> None:
        C = check_unique_names(self.names)
        F = self.K.shape[0] if self.K.dim() == 4 else 0
        for attr, shape in (("K", (F, C, 3, 3)), ("dist", (F, C, 5)), ("R", (F, C, 3, 3)), ("t", (F, C, 3)),
                            ("sizes", (C, 2))):
            if tuple(getattr(self, attr).shape) != shape or F < 1:
                raise InputError(f"FrameRig.{attr} must have shape {('F',) + shape[1:] if attr == 'K' else shape} "
                                 f"(F >= 1 frames, {C} cameras), got {tuple(getattr(self, attr).shape)}")

    # -- construction and conversion ------------------------------------------------
    @classmethod
    def static(cls, rig: CameraRig, num_frames: int) -> "FrameRig":
        """``rig`` repeated in each of ``num_frames`` frames."""
        rep = lambda x: x.unsqueeze(0).expand(num_frames, *x.shape).clone()  # noqa: E731
        return cls(tuple(rig.names), rep(rig.K), rep(rig.dist), rep(rig.R), rep(rig.t), rig.sizes.clone())

    @property
    def num_frames(self) -> int:
        return int(self.R.shape[0])

    def __len__(self) -> int:
        return len(self.names)

    def frames(self, frames) -> "FrameRig":
        """The cameras of ``frames`` (indices ``(K,)`` or a slice)."""
        if not isinstance(frames, slice):
            frames = torch.as_tensor(frames, dtype=torch.long, device=self.R.device).reshape(-1)
        return FrameRig(self.names, self.K[frames], self.dist[frames], self.R[frames], self.t[frames], self.sizes)

    def at(self, frame: int) -> CameraRig:
        """Frame ``frame``'s cameras as a :class:`CameraRig`."""
        return CameraRig(self.names, self.K[frame], self.dist[frame], self.R[frame], self.t[frame], self.sizes)

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> "FrameRig":
        conv = lambda x: x.to(device=device, dtype=dtype)  # noqa: E731
        return FrameRig(self.names, conv(self.K), conv(self.dist), conv(self.R), conv(self.t), conv(self.sizes))

    def subset(self, names: list[str] | tuple[str, ...]) -> "FrameRig":
        """The cameras restricted to (and reordered as) ``names``."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise InputError(f"no camera named {', '.join(missing)}; the rig has {', '.join(self.names)}")
        idx = torch.as_tensor([self.names.index(n) for n in names], dtype=torch.long)
        return FrameRig(tuple(names), self.K[:, idx], self.dist[:, idx], self.R[:, idx], self.t[:, idx],
                        self.sizes[idx])

    # -- geometry (points' first dim = frames) --------------------------------------
    def centers(self) -> Tensor:
        """Camera centres ``(F, C, 3)`` metres, world frame."""
        return camera_centers(self.R, self.t)

    def project(self, points_world: Tensor, *, distort: bool = True) -> Tensor:
        """World points ``(F, J, 3)`` m -> pixels ``(F, C, J, 2)``, frame f's points in frame f's cameras."""
        points = torch.as_tensor(points_world, dtype=self.K.dtype, device=self.K.device)
        self._check_frames(points, 3)
        return project_points(points.unsqueeze(-3), self.K, self.dist if distort else None, self.R, self.t)

    def project_jacobian(self, points_world: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`project` and its derivative ``(F, C, J, 2, 3)`` px/m with respect to each world point."""
        points = torch.as_tensor(points_world, dtype=self.K.dtype, device=self.K.device)
        self._check_frames(points, 3)
        return project_points_jacobian(points.unsqueeze(-3), self.K, self.dist, self.R, self.t)

    def depths(self, points_world: Tensor) -> Tensor:
        """Camera-frame depth (z) of world points ``(F, J, 3)`` in every camera of their frame -> ``(F, C, J)`` m."""
        points = torch.as_tensor(points_world, dtype=self.K.dtype, device=self.K.device)
        self._check_frames(points, 3)
        return (points.unsqueeze(-3) @ self.R[..., 2:, :].transpose(-1, -2)).squeeze(-1) + self.t[..., 2:]

    def triangulate_robust(self, points_2d: Tensor, confidence: Tensor | None = None, *, threshold_px: float = 20.0,
                           min_views: int = 2) -> TriangulationResult:
        """Robust triangulation (:func:`mvmocap.geometry.triangulation.triangulate_robust`) of
        ``points_2d (F, C, J, 2)`` px with each frame's cameras -> points ``(F, J, 3)``."""
        points_2d = torch.as_tensor(points_2d, dtype=self.K.dtype, device=self.K.device)
        self._check_frames(points_2d, 4)
        if confidence is None:
            confidence = torch.ones(points_2d.shape[:-1], dtype=points_2d.dtype, device=points_2d.device)
        return triangulate_robust(points_2d, confidence.to(points_2d), self.K, self.dist, self.R, self.t,
                                  threshold_px=threshold_px, min_views=min_views)

    def reprojection_errors(self, points_3d: Tensor, points_2d: Tensor) -> Tensor:
        """``points_3d (F, J, 3)`` m vs ``points_2d (F, C, J, 2)`` px -> ``(F, C, J)`` px."""
        points_2d = torch.as_tensor(points_2d, dtype=self.K.dtype, device=self.K.device)
        points_3d = torch.as_tensor(points_3d, dtype=self.K.dtype, device=self.K.device)
        self._check_frames(points_3d, 3)
        return reprojection_errors(points_3d, points_2d, self.K, self.dist, self.R, self.t)

    def transformed(self, scale: float | Tensor, rotation: Tensor, translation: Tensor) -> "FrameRig":
        """The same cameras after the world moves by ``x' = s * Q @ x + u`` (``Q (3, 3)``, ``u (3,)``, shared by all frames)."""
        s = torch.as_tensor(scale, dtype=self.R.dtype, device=self.R.device)
        Q = torch.as_tensor(rotation, dtype=self.R.dtype, device=self.R.device)
        u = torch.as_tensor(translation, dtype=self.R.dtype, device=self.R.device)
        R_new = self.R @ Q.transpose(-1, -2)
        t_new = s * self.t - (R_new @ u.unsqueeze(-1)).squeeze(-1)
        return FrameRig(self.names, self.K, self.dist, R_new, t_new, self.sizes)

    def relative_to(self, reference: int) -> "FrameRig":
        """The cameras in camera ``reference``'s frame of each frame (its own pose: I, 0): what an
        estimate that takes that camera as the world can be compared with."""
        R_ref, t_ref = self.R[:, reference:reference + 1], self.t[:, reference:reference + 1]  # (F, 1, ...)
        R = self.R @ R_ref.transpose(-1, -2)
        t = self.t - (R @ t_ref.unsqueeze(-1)).squeeze(-1)
        return FrameRig(self.names, self.K, self.dist, R, t, self.sizes)

    def _check_frames(self, points: Tensor, dims: int) -> None:
        if points.dim() != dims or points.shape[0] != self.num_frames or (dims == 4 and points.shape[1] != len(self)):
            what = "(F, J, 3)" if dims == 3 else f"(F, {len(self)}, J, 2)"
            raise InputError(f"points must have shape {what} with F = {self.num_frames} frames of this rig, "
                             f"got {tuple(points.shape)}")


def nominal_rig(names: tuple[str, ...] | list[str], sizes: Tensor) -> CameraRig:
    """What is known of cameras without a calibration, their names and image ``sizes (C, 2)`` px, as
    a :class:`CameraRig`: pinholes at the origin looking along +Z (focal length = the longer image
    side, principal point at the centre, no distortion). A placeholder for methods that estimate the
    cameras themselves."""
    sizes = torch.as_tensor(sizes, dtype=torch.float64)
    C = len(names)
    K = torch.zeros(C, 3, 3, dtype=torch.float64)
    K[:, 0, 0] = K[:, 1, 1] = sizes.amax(-1)
    K[:, :2, 2], K[:, 2, 2] = sizes / 2, 1.0
    return CameraRig(tuple(names), K, torch.zeros(C, 5, dtype=torch.float64),
                     torch.eye(3, dtype=torch.float64).expand(C, 3, 3).clone(), torch.zeros(C, 3, dtype=torch.float64),
                     sizes.clone())


def _window_sums(x: Tensor, half: int) -> Tensor:
    """``x (F, ...)`` summed over the frames ``[f - half, f + half]`` (clipped to the sequence) of each frame ``f``."""
    F = x.shape[0]
    cumulative = torch.cat([torch.zeros_like(x[:1]), x.cumsum(0)])
    frames = torch.arange(F, device=x.device)
    return cumulative[(frames + half + 1).clamp(max=F)] - cumulative[(frames - half).clamp(min=0)]


def smoothed_rig(rig: FrameRig, window: int, valid: Tensor | None = None) -> FrameRig:
    """Each camera's pose averaged over the ``window`` frames (odd; clipped at the ends) around each
    frame: the chordal mean of the rotations (the SVD projection of their sum, as
    :func:`mvmocap.geometry.rotation_mean.chordal_mean`), the mean of the centres, over the frames
    where ``valid (F, C)`` (all when None; a frame with no valid neighbour keeps its pose). Intrinsics kept."""
    if window <= 1:
        return rig
    F, C = rig.num_frames, len(rig)
    w = (torch.ones(F, C) if valid is None else valid.to(torch.float64)).to(rig.R.dtype)
    half = window // 2
    R_sum = _window_sums(w[..., None, None] * rig.R, half)
    count = _window_sums(w, half)
    R = project_to_rotation(R_sum)  # the chordal mean of the window's rotations (mvmocap.geometry.rotation_mean)
    R = torch.where((count > 0)[..., None, None], R, rig.R)
    centres = _window_sums(w[..., None] * rig.centers(), half) / count.clamp(min=1e-12)[..., None]
    centres = torch.where((count > 0)[..., None], centres, rig.centers())
    t = -(R @ centres[..., None]).squeeze(-1)
    return FrameRig(rig.names, rig.K, rig.dist, R, t, rig.sizes)


@dataclass(frozen=True)
class CameraMotion:
    """How far each camera moved (:func:`camera_motion`).

    Attributes:
        rotation_deg: ``(C,)`` largest angle between a camera's smoothed orientation and its first one.
        position_m: ``(C,)`` largest distance between its smoothed centre and its first one.
        moved: ``(C,)`` bool, either above its threshold.
        rotation_threshold_deg: the rotation threshold; position_threshold_m ``(C,)`` the position thresholds.
    """

    rotation_deg: Tensor
    position_m: Tensor
    moved: Tensor
    rotation_threshold_deg: float
    position_threshold_m: Tensor


def camera_motion(rig: FrameRig, fps: float, valid: Tensor | None = None,
                  rotation_threshold_deg: float = MOVED_ROTATION_DEG,
                  position_fraction: float = MOVED_POSITION_FRACTION) -> CameraMotion:
    """Which cameras moved over the frames of ``rig`` (frames with ``valid (F, C)`` False are skipped).

    Per-frame estimates are noisy, so each camera's pose is first averaged over
    :data:`MOTION_WINDOW_S` seconds around each frame (:func:`smoothed_rig`); a camera moved when a
    frame's smoothed orientation is more than ``rotation_threshold_deg`` from the first valid
    frame's, or its centre more than ``max(MOVED_POSITION_MIN_M, position_fraction x`` its
    mean distance to the cameras' centroid``)``. The default thresholds suit exact cameras; noisy
    estimates need larger ones (``mvmocap.reconstruct.per_frame``). Everything is relative to the rig's world: when
    that world is attached to a camera (MetaPose: the reference camera), that camera's own motion
    shows as everyone else's.
    """
    F, C = rig.num_frames, len(rig)
    ok = torch.ones(F, C, dtype=torch.bool) if valid is None else valid.to(torch.bool).cpu()
    window = 2 * (max(1, round(MOTION_WINDOW_S * fps)) // 2) + 1
    smooth = smoothed_rig(rig.to(torch.float64, "cpu"), window, ok)
    first = ok.to(torch.int64).argmax(0)  # (C,) each camera's first valid frame
    cam = torch.arange(C)
    rel = smooth.R[first, cam].unsqueeze(0).transpose(-1, -2) @ smooth.R
    cos = ((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    zero = torch.zeros((), dtype=torch.float64)
    angle = torch.rad2deg(torch.arccos(cos)).where(ok, zero)
    centres = smooth.centers()
    shift = (centres - centres[first, cam].unsqueeze(0)).norm(dim=-1).where(ok, zero)
    spread = (centres - centres.mean(1, keepdim=True)).norm(dim=-1)  # (F, C)
    spread = (spread * ok).sum(0) / ok.sum(0).clamp(min=1)
    position_threshold = (position_fraction * spread).clamp(min=MOVED_POSITION_MIN_M)
    rotation, position = angle.amax(0), shift.amax(0)
    moved = ((rotation > rotation_threshold_deg) | (position > position_threshold)) & ok.any(0)
    return CameraMotion(rotation.to(torch.float32), position.to(torch.float32), moved, float(rotation_threshold_deg),
                        position_threshold.to(torch.float32))


__all__ = ["CameraMotion", "FrameRig", "camera_motion", "nominal_rig", "smoothed_rig"]
