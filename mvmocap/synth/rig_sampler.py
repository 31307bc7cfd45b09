"""Camera-rig sampler after the volumetric multi-view paper: camera 1 from a prior, the others from
the relative layout of a real rig family, plus jitter.

Camera 1: horizontal distance 2.5-8 m from the subject, height 0.3-3 m, aimed at the subject
with angular jitter, horizontal field of view 30-90 deg (raised where needed so that a
2.1 m tall box around the subject fits the vertical field of view), square pixels, principal
point near the centre, no distortion.

The other cameras are placed in a subject-centred cylindrical frame relative to camera 1:
an azimuth offset, a distance ratio and a height offset per camera, given by the family:

* ``full_ring``: N cameras evenly spread over 360 deg.
* ``half_ring``: N cameras evenly spread over 180 deg.
* ``opposite_sides``: two clusters of cameras facing each other (0 and 180 deg).
* ``four_corners``: Human3.6M-like, cameras at the four corners of a room (90 deg apart), N <= 4.
* ``qualisys_demo``: the layout of the shared pose2sim demo's 4 Qualisys cameras, N <= 4.

Families added for #19 (not in :data:`RIG_FAMILIES`, so the default draw and existing seeds are
unchanged; name them in ``rig_families`` to train on them):

* ``front_arc``: N cameras over a 90 deg arc on one side (a single-wall studio), 2-8 cameras.
* ``two_tier``: N cameras evenly around, alternately high (2.0-3.0 m) and low (0.4-1.0 m).
* ``high_wide``: the HELD-OUT family, for evaluation only, never named in a training config:
  N cameras evenly around at 2.5-3.5 m height and 1.5-3.5 m horizontal distance (a steep
  look-down), wide lenses (70-100 deg horizontal field of view), always with lens distortion.

The four-camera layouts (``four_corners``, ``qualisys_demo``) stay at N <= 4; the others take 1-8.

Every camera then gets jitter (azimuth, distance, height, aim, roll, focal length). With
``distortion=True`` (always for ``high_wide``) each camera gets OpenCV distortion (k1 in
[-0.25, 0.10], k2 in [-0.05, 0.10], p1, p2 in [-0.002, 0.002], k3 = 0; barrel k1 in
[-0.25, -0.08] for ``high_wide``), shrunk where needed so that the mapping stays monotonic out to
the image corners; those draws come after all others, so a rig's geometry does not depend on it.
Conventions: OpenCV cameras, ``x_cam = R x_world + t``, metres, world +Z up.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig

RIG_FAMILIES = ("full_ring", "half_ring", "opposite_sides", "four_corners", "qualisys_demo")
NEW_RIG_FAMILIES = ("front_arc", "two_tier")
HELD_OUT_RIG_FAMILIES = ("high_wide",)
ALL_RIG_FAMILIES = RIG_FAMILIES + NEW_RIG_FAMILIES + HELD_OUT_RIG_FAMILIES
TRAINING_RIG_FAMILIES = RIG_FAMILIES + NEW_RIG_FAMILIES
MAX_CAMERAS = {
    "full_ring": 8, "half_ring": 8, "opposite_sides": 8, "four_corners": 4, "qualisys_demo": 4,
    "front_arc": 8, "two_tier": 8, "high_wide": 8,
}

# Relative layout of ../shared/data/pose2sim_demo/calibration/Calib.qca.txt, computed once by hand
# (2026-11-21) so the package needs no shared data at run time: camera centres C = (x, y, z)/1000,
# R = diag(1, -1, -1) M; the point nearest to all four optical axes (-0.94, -0.02, 0.59) m was taken
# as the subject; per camera its azimuth about that point relative to cam01 (deg), its horizontal
# distance divided by cam01's (3.056 m), and its height minus cam01's (1.897 m). All four look at
# that point within 2 deg; horizontal field of view 36 deg (portrait 1088 x 1920 images).
QUALISYS_DEMO_LAYOUT = (
    # (azimuth offset deg, distance ratio, height offset m)
    (0.0, 1.000, 0.000),
    (49.8, 1.178, -0.206),
    (173.4, 1.047, 0.191),
    (244.4, 1.028, -0.015),
)

IMAGE_SIZES = ((1920, 1080), (1080, 1920), (1280, 720), (1024, 1024), (1088, 1920))


def _u(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=g, dtype=torch.float64))


def look_at(center: Tensor, target: Tensor, roll: float = 0.0) -> tuple[Tensor, Tensor]:
    """World->camera ``R (3, 3)`` and ``t (3,)`` of an OpenCV camera at ``center (3,)`` looking at ``target (3,)``.

    Image "down" is the world's -Z projected on the image plane, then rotated by ``roll`` rad
    about the optical axis. The camera must not look straight up or down.
    """
    z = target - center
    z = z / z.norm()
    up = torch.tensor([0.0, 0.0, 1.0], dtype=z.dtype)
    x = torch.linalg.cross(z, up)
    x = x / x.norm().clamp(min=1e-9)
    y = torch.linalg.cross(z, x)
    c, s = math.cos(roll), math.sin(roll)
    x, y = c * x + s * y, -s * x + c * y
    R = torch.stack([x, y, z])
    return R, -R @ center


def family_layout(family: str, n: int, g: torch.Generator) -> list[tuple[float, float, float]]:
    """``n`` (azimuth offset rad, distance ratio, height offset m) relative to camera 1, before jitter."""
    if family not in ALL_RIG_FAMILIES:
        raise InputError(f"unknown rig family {family!r}; known: {', '.join(ALL_RIG_FAMILIES)}")
    if n > MAX_CAMERAS[family]:
        raise InputError(f"rig family {family!r} has at most {MAX_CAMERAS[family]} cameras, asked for {n}")
    if family == "full_ring":
        return [(2 * math.pi * i / n, 1.0, 0.0) for i in range(n)]
    if family == "half_ring":
        return [(math.pi * i / max(n - 1, 1), 1.0, 0.0) for i in range(n)]
    if family == "opposite_sides":
        spread = math.radians(_u(g, 15.0, 40.0))
        out = []
        for i in range(n):
            side, k = i % 2, i // 2
            count = (n + 1 - side) // 2
            offset = 0.0 if count == 1 else spread * (k / (count - 1) - 0.5) * 2
            out.append((side * math.pi + offset, 1.0, 0.0))
        return out
    if family == "four_corners":
        return [(math.pi / 2 * i, 1.0, 0.0) for i in range(n)]
    if family == "front_arc":
        return [(math.pi / 2 * (i / max(n - 1, 1) - 0.5), 1.0, 0.0) for i in range(n)]
    if family in ("two_tier", "high_wide"):
        return [(2 * math.pi * i / n, 1.0, 0.0) for i in range(n)]
    return [(math.radians(a), r, h) for a, r, h in QUALISYS_DEMO_LAYOUT[:n]]


def sample_rig(
    num_cameras: int,
    subject_center: Tensor,
    generator: torch.Generator,
    family: str | None = None,
    families: tuple[str, ...] = RIG_FAMILIES,
    image_size: tuple[int, int] | None = None,
    dtype: torch.dtype = torch.float64,
    distortion: bool = False,
) -> tuple[CameraRig, str]:
    """One rig of ``num_cameras`` (1..8) cameras around a subject.

    Args:
        num_cameras: cameras in the rig.
        subject_center: ``(3,)`` world point (m) the cameras aim at (e.g. the pelvis).
        generator: the only source of randomness.
        family: force a family, else drawn uniformly from the ``families`` that allow ``num_cameras``.
        image_size: ``(width, height)`` pixels for all cameras, else drawn from :data:`IMAGE_SIZES`
            (the Qualisys family always uses its 1088 x 1920 portrait images).
        distortion: give every camera lens distortion (``high_wide`` always has it).

    Returns:
        ``(rig, family)``: cameras named ``cam1..camN``.
    """
    if not 1 <= num_cameras <= 8:
        raise InputError(f"num_cameras must be in 1..8, got {num_cameras}")
    if family is None:
        allowed = [f for f in families if MAX_CAMERAS.get(f, 0) >= num_cameras]
        if not allowed:
            raise InputError(f"no rig family among {families} allows {num_cameras} cameras")
        family = allowed[int(torch.randint(len(allowed), (), generator=generator))]
    layout = family_layout(family, num_cameras, generator)
    target = torch.as_tensor(subject_center, dtype=torch.float64).reshape(3)
    if family == "qualisys_demo":
        width, height = 1088, 1920
    elif image_size is not None:
        width, height = int(image_size[0]), int(image_size[1])
    else:
        width, height = IMAGE_SIZES[int(torch.randint(len(IMAGE_SIZES), (), generator=generator))]
    high = family == "high_wide"
    # Camera 1 from the prior.
    distance = _u(generator, 1.5, 3.5) if high else _u(generator, 2.5, 8.0)
    base_height = _u(generator, 2.5, 3.5) if high else _u(generator, 0.3, 3.0)
    azimuth0 = _u(generator, -math.pi, math.pi)
    h_range = (2.5, 3.5) if high else (0.3, 3.0)
    Ks, Rs, ts = [], [], []
    for i, (d_az, ratio, d_h) in enumerate(layout):
        jitter = i > 0
        az = azimuth0 + d_az + (math.radians(_u(generator, -10, 10)) if jitter else 0.0)
        dist = distance * ratio * (_u(generator, 0.85, 1.15) if jitter else 1.0)
        h = base_height + d_h + (_u(generator, -0.3, 0.3) if jitter else 0.0)
        if family == "two_tier":
            h = _u(generator, 2.0, 3.0) if i % 2 == 0 else _u(generator, 0.4, 1.0)
        h = min(max(h, h_range[0]), h_range[1])
        center = target + torch.tensor([dist * math.cos(az), dist * math.sin(az), 0.0], dtype=torch.float64)
        center[2] = h
        aim = target + 0.1 * torch.randn(3, generator=generator, dtype=torch.float64)
        roll = math.radians(_u(generator, -3.0, 3.0))
        R, t = look_at(center, aim, roll)
        # Field of view: wide enough for a 2.1 m box around the subject at this distance.
        depth = float((R @ (target - center))[2])
        need_v = 2 * math.atan(1.05 / max(depth, 0.5))
        need_h = 2 * math.atan(math.tan(need_v / 2) * width / height)
        fov_range = (70.0, 100.0) if high else (30.0, 90.0)
        low = max(math.radians(fov_range[0]), need_h)
        hfov = _u(generator, low, max(low, math.radians(fov_range[1])))
        f = (width / 2) / math.tan(hfov / 2)
        cx = width / 2 + _u(generator, -0.02, 0.02) * width
        cy = height / 2 + _u(generator, -0.02, 0.02) * height
        Ks.append(torch.tensor([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]], dtype=torch.float64))
        Rs.append(R)
        ts.append(t)
    C = num_cameras
    dist = torch.zeros(C, 5, dtype=torch.float64)
    if distortion or high:
        dist = torch.stack([sample_distortion(generator, K, width, height, barrel=high) for K in Ks])
    rig = CameraRig(
        names=tuple(f"cam{i + 1}" for i in range(C)),
        K=torch.stack(Ks).to(dtype),
        dist=dist.to(dtype),
        R=torch.stack(Rs).to(dtype),
        t=torch.stack(ts).to(dtype),
        sizes=torch.tensor([[width, height]] * C, dtype=dtype),
    )
    return rig, family


def sample_distortion(g: torch.Generator, K: Tensor, width: int, height: int, barrel: bool = False) -> Tensor:
    """OpenCV ``(k1, k2, p1, p2, k3)`` ``(5,)`` for a camera with intrinsics ``K (3, 3)``, in realistic
    ranges (see the module docstring), shrunk until the radial mapping ``r (1 + k1 r^2 + k2 r^4)``
    is increasing out to the farthest image corner."""
    k1 = _u(g, -0.25, -0.08) if barrel else _u(g, -0.25, 0.10)
    k2 = _u(g, 0.0, 0.08) if barrel else _u(g, -0.05, 0.10)
    p1, p2 = _u(g, -0.002, 0.002), _u(g, -0.002, 0.002)
    fx, cx, cy = float(K[0, 0]), float(K[0, 2]), float(K[1, 2])
    r2 = max((max(cx, width - cx) / fx) ** 2 + (max(cy, height - cy) / fx) ** 2, 1e-6)
    for _ in range(20):
        # d/dr [r (1 + k1 r^2 + k2 r^4)] = 1 + 3 k1 r^2 + 5 k2 r^4 must stay positive up to the corner.
        worst = min(1 + 3 * k1 * s + 5 * k2 * s * s for s in (r2 * f for f in (0.25, 0.5, 0.75, 1.0)))
        if worst > 0.2:
            break
        k1, k2 = 0.7 * k1, 0.7 * k2
    return torch.tensor([k1, k2, p1, p2, 0.0], dtype=torch.float64)
