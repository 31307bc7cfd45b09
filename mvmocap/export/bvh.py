"""BVH export: the SMPL 24-joint skeleton with the fitted shape's bone offsets, one frame per video frame.

Convention (what Blender's and MotionBuilder's BVH importers expect):

* **+Y up**, right-handed: the world's ``(x, y, z)`` (+Z up) is written as ``(x, z, -y)``;
* **centimetres** (MotionBuilder's unit; in Blender's importer set *Scale* to 0.01 for metres);
* every joint has the channels ``Zrotation Xrotation Yrotation`` in degrees, composed in that order
  (``R = Rz @ Rx @ Ry``, rotations acting on column vectors); the root also has
  ``Xposition Yposition Zposition``, the pelvis' world position (its ``OFFSET`` is zero);
* the rest pose (all channels zero) is the fitted body's T-pose, facing +Z, upright;
* joints are SMPL's (``pelvis``, ``left_hip``, …); leaves (feet, head, hands) end in an ``End Site``
  half their bone's length further along it.

Forward kinematics of the file (``M_j = M_parent · T(offset_j) · R_j``, the root
``T(position) · R_0``) gives the posed SMPL joints of ``joints3d.npz`` turned to Y-up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from mvmocap.export.axes import Z_UP_TO_Y_UP
from mvmocap.export.run_files import RunResult
from mvmocap.io.atomic import atomic_write_text

CENTIMETRES_PER_METRE = 100.0
ROTATION_CHANNELS = "Zrotation Xrotation Yrotation"


def bvh_motion(run: RunResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BVH numbers of a run.

    Returns:
        offsets ``(24, 3)`` cm (Y-up rest frame; the root's is zero), root_positions ``(F, 3)`` cm
        (Y-up world), euler ``(F, 24, 3)`` degrees in channel order (Z, X, Y).
    """
    parents = run.parents
    rest = run.rest_joints
    offsets = np.zeros_like(rest)
    offsets[1:] = rest[1:] - rest[list(parents[1:])]
    rotations = run.local_rotations.copy()  # (F, 24, 3, 3)
    rotations[:, 0] = Z_UP_TO_Y_UP @ rotations[:, 0]  # the root maps the rest frame to the Y-up world
    euler = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_euler("ZXY", degrees=True)
    root = run.smpl_joints[:, 0] @ Z_UP_TO_Y_UP.T
    return (offsets * CENTIMETRES_PER_METRE, root * CENTIMETRES_PER_METRE,
            euler.reshape(run.num_frames, len(parents), 3))


def write_bvh(run: RunResult, path: str | Path) -> Path:
    """Write ``path`` (atomically) and return it."""
    offsets, root, euler = bvh_motion(run)
    lines = ["HIERARCHY"]
    _joint_lines(0, run, offsets, 0, lines)
    lines += ["MOTION", f"Frames: {run.num_frames}", f"Frame Time: {1.0 / run.framerate:.8f}"]
    order = _depth_first(run.parents)  # the channels follow the hierarchy's order
    for f in range(run.num_frames):
        values = np.concatenate([root[f], euler[f, order].reshape(-1)])
        lines.append(" ".join(f"{v:.6f}" for v in values))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)


def _joint_lines(j: int, run: RunResult, offsets: np.ndarray, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    children = [c for c, p in enumerate(run.parents) if p == j]
    head = "ROOT" if j == 0 else "JOINT"
    channels = f"CHANNELS 6 Xposition Yposition Zposition {ROTATION_CHANNELS}" if j == 0 else f"CHANNELS 3 {ROTATION_CHANNELS}"
    lines += [f"{pad}{head} {run.joint_names[j]}", f"{pad}{{", f"{pad}  OFFSET {_xyz(offsets[j])}", f"{pad}  {channels}"]
    for c in children:
        _joint_lines(c, run, offsets, depth + 1, lines)
    if not children:
        lines += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {_xyz(0.5 * offsets[j])}", f"{pad}  }}"]
    lines.append(f"{pad}}}")


def _depth_first(parents: tuple[int, ...], j: int = 0) -> list[int]:
    order = [j]
    for c, p in enumerate(parents):
        if p == j:
            order += _depth_first(parents, c)
    return order


def _xyz(v: np.ndarray) -> str:
    return " ".join(f"{x:.6f}" for x in v)
