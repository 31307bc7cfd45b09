"""Loaders for user-supplied SMPL pose files, and a frame pool to sample poses from them.

* AMASS ``.npz``: ``poses (N, 156)`` (SMPL-H: global + 21 body joints + 2 x 15 hand joints) or
  ``(N, 72)`` (SMPL), ``trans (N, 3)``, ``mocap_framerate``, optional ``betas``. AMASS's world
  is already +Z up, metres. SMPL-H has no SMPL hand joints 22, 23: they are set to zero.
* Our own ``smpl_params.npz`` (written by ``mvmocap reconstruct``): ``poses (F, 72)``,
  ``betas (10,)``, ``trans (F, 3)``, ``mocap_framerate``, ``frame_ids (F,)``, ``valid (F,)``;
  world +Z up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.synth.pose_sampler import PoseSample, yaw_about_vertical
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle


@dataclass(frozen=True)
class PoseSequence:
    """SMPL parameters of one sequence (float64).

    Attributes:
        global_orient: ``(F, 3)`` axis-angle, body rest frame -> world (+Z up).
        body_pose: ``(F, 23, 3)`` axis-angle.
        betas: ``(B,)`` shape coefficients (zeros if the file has none).
        transl: ``(F, 3)`` metres.
        fps: frames per second (0 if unknown).
        valid: ``(F,)`` bool, frames that hold a pose.
    """

    global_orient: Tensor
    body_pose: Tensor
    betas: Tensor
    transl: Tensor
    fps: float
    valid: Tensor

    def __len__(self) -> int:
        return self.global_orient.shape[0]


def _read_npz(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "pose file")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # truncated or damaged archives raise zipfile, zlib, EOF and value errors
        raise FileFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None


def _from_poses(path: Path, data: dict[str, np.ndarray]) -> PoseSequence:
    if "poses" not in data:
        raise FileFormatError(path, f"no 'poses' array (keys: {', '.join(sorted(data))})")
    poses = np.asarray(data["poses"], dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] not in (72, 156, 165):
        raise FileFormatError(path, f"'poses' must be (N, 72) SMPL or (N, 156) SMPL-H, got {poses.shape}")
    N = poses.shape[0]
    body = np.zeros((N, 23, 3))
    if poses.shape[1] == 72:
        body[:] = poses[:, 3:72].reshape(N, 23, 3)
    else:  # SMPL-H / SMPL-X: the first 21 body joints are SMPL's; SMPL's hand joints stay zero.
        body[:, :21] = poses[:, 3:66].reshape(N, 21, 3)
    trans = np.asarray(data.get("trans", np.zeros((N, 3))), dtype=np.float64)
    if trans.shape != (N, 3):
        raise FileFormatError(path, f"'trans' must be ({N}, 3), got {trans.shape}")
    betas = np.asarray(data.get("betas", np.zeros(10)), dtype=np.float64).reshape(-1)
    valid = np.asarray(data.get("valid", np.ones(N, dtype=bool))).astype(bool).reshape(-1)
    if valid.shape != (N,):
        raise FileFormatError(path, f"'valid' must be ({N},), got {valid.shape}")
    if not (np.all(np.isfinite(poses[valid])) and np.all(np.isfinite(trans[valid]))):
        raise FileFormatError(path, "non-finite values in valid frames")
    fps = float(np.asarray(data.get("mocap_framerate", 0.0)).reshape(-1)[0]) if "mocap_framerate" in data else 0.0
    t = lambda a: torch.as_tensor(np.nan_to_num(a), dtype=torch.float64)  # noqa: E731
    return PoseSequence(t(poses[:, :3]), t(body), t(betas), t(trans), fps, torch.as_tensor(valid))


def load_amass(path: str | Path) -> PoseSequence:
    """Read an AMASS ``.npz`` (see the module docstring)."""
    return _from_poses(Path(path), _read_npz(path))


def load_smpl_params(path: str | Path) -> PoseSequence:
    """Read our ``smpl_params.npz`` (see the module docstring)."""
    data = _read_npz(path)
    if "poses" in data and np.asarray(data["poses"]).shape[-1] != 72:
        raise FileFormatError(Path(path), f"smpl_params 'poses' must be (F, 72), got {np.asarray(data['poses']).shape}")
    return _from_poses(Path(path), data)


def load_pose_file(path: str | Path) -> PoseSequence:
    """Either layout, told apart by the width of ``poses``."""
    return _from_poses(Path(path), _read_npz(path))


class PoseFramePool:
    """Valid frames of one or more sequences; draws poses with a random yaw about the vertical.

    The translation is dropped (the synthetic engine places bodies itself); the
    global orientation is kept and turned about +Z by a uniform angle, so a
    capture's heading does not bias the data.
    """

    def __init__(self, sequences: list[PoseSequence]):
        orient = [s.global_orient[s.valid] for s in sequences]
        body = [s.body_pose[s.valid] for s in sequences]
        if not orient or sum(o.shape[0] for o in orient) == 0:
            raise InputError("the pose files hold no valid frame")
        self.global_orient = torch.cat(orient)
        self.body_pose = torch.cat(body)

    @classmethod
    def from_files(cls, paths: list[str | Path]) -> "PoseFramePool":
        return cls([load_pose_file(p) for p in paths])

    def __len__(self) -> int:
        return self.global_orient.shape[0]

    def sample(self, n: int, generator: torch.Generator, family_index: int = -1) -> PoseSample:
        """``n`` frames drawn uniformly with replacement; ``family`` is ``family_index`` (-1 = from files)."""
        idx = torch.randint(len(self), (n,), generator=generator)
        yaw = (2 * torch.rand(n, generator=generator, dtype=torch.float64) - 1) * torch.pi
        R = yaw_about_vertical(yaw) @ axis_angle_to_matrix(self.global_orient[idx])
        return PoseSample(matrix_to_axis_angle(R), self.body_pose[idx].clone(), torch.full((n,), family_index))
