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

Every camera then gets jitter (azimuth, distance, height, aim, roll, focal length).
Conventions: OpenCV cameras, ``x_cam = R x_world + t``, metres, world +Z up.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig

RIG_FAMILIES = ("full_ring", "half_ring", "opposite_sides", "four_corners", "qualisys_demo")
MAX_CAMERAS = {"full_ring": 8, "half_ring": 8, "opposite_sides": 8, "four_corners": 4, "qualisys_demo": 4}

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
    if family not in RIG_FAMILIES:
        raise InputError(f"unknown rig family {family!r}; known: {', '.join(RIG_FAMILIES)}")
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
    return [(math.radians(a), r, h) for a, r, h in QUALISYS_DEMO_LAYOUT[:n]]


def sample_rig(
    num_cameras: int,
    subject_center: Tensor,
    generator: torch.Generator,
    family: str | None = None,
    families: tuple[str, ...] = RIG_FAMILIES,
    image_size: tuple[int, int] | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[CameraRig, str]:
    """One rig of ``num_cameras`` (1..8) cameras around a subject.

    Args:
        num_cameras: cameras in the rig.
        subject_center: ``(3,)`` world point (m) the cameras aim at (e.g. the pelvis).
        generator: the only source of randomness.
        family: force a family, else drawn uniformly from the ``families`` that allow ``num_cameras``.
        image_size: ``(width, height)`` pixels for all cameras, else drawn from :data:`IMAGE_SIZES`
            (the Qualisys family always uses its 1088 x 1920 portrait images).

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
    # Camera 1 from the prior.
    distance = _u(generator, 2.5, 8.0)
    base_height = _u(generator, 0.3, 3.0)
    azimuth0 = _u(generator, -math.pi, math.pi)
    Ks, Rs, ts = [], [], []
    for i, (d_az, ratio, d_h) in enumerate(layout):
        jitter = i > 0
        az = azimuth0 + d_az + (math.radians(_u(generator, -10, 10)) if jitter else 0.0)
        dist = distance * ratio * (_u(generator, 0.85, 1.15) if jitter else 1.0)
        h = base_height + d_h + (_u(generator, -0.3, 0.3) if jitter else 0.0)
        h = min(max(h, 0.3), 3.0)
        center = target + torch.tensor([dist * math.cos(az), dist * math.sin(az), 0.0], dtype=torch.float64)
        center[2] = h
        aim = target + 0.1 * torch.randn(3, generator=generator, dtype=torch.float64)
        roll = math.radians(_u(generator, -3.0, 3.0))
        R, t = look_at(center, aim, roll)
        # Field of view: wide enough for a 2.1 m box around the subject at this distance.
        depth = float((R @ (target - center))[2])
        need_v = 2 * math.atan(1.05 / max(depth, 0.5))
        need_h = 2 * math.atan(math.tan(need_v / 2) * width / height)
        low = max(math.radians(30.0), need_h)
        hfov = _u(generator, low, max(low, math.radians(90.0)))
        f = (width / 2) / math.tan(hfov / 2)
        cx = width / 2 + _u(generator, -0.02, 0.02) * width
        cy = height / 2 + _u(generator, -0.02, 0.02) * height
        Ks.append(torch.tensor([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]], dtype=torch.float64))
        Rs.append(R)
        ts.append(t)
    C = num_cameras
    rig = CameraRig(
        names=tuple(f"cam{i + 1}" for i in range(C)),
        K=torch.stack(Ks).to(dtype),
        dist=torch.zeros(C, 5, dtype=dtype),
        R=torch.stack(Rs).to(dtype),
        t=torch.stack(ts).to(dtype),
        sizes=torch.tensor([[width, height]] * C, dtype=dtype),
    )
    return rig, family
