"""The result files of one ``reconstruct`` run, read back for the exporters.

Exports read only these files (``smpl_params.npz``, ``joints3d.npz``, ``config.yaml``) and the
body model they name; they never call back into a stage. Frames where nobody was seen
(``valid = 0``) are filled from their valid neighbours (rotation slerp, linear translation) so
that animation formats get a pose for every frame; ``valid`` says which frames were measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mvmocap.body import BodyModel, load_body_model
from mvmocap.body.joint_sets import SMPL_JOINTS, SMPL_PARENTS
from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.body.params import BodyParams, fill_invalid_frames
from mvmocap.io.safe_read import load_yaml
from mvmocap.io.smpl_params import load_smpl_params
from mvmocap.keypoints import COCO23


@dataclass(frozen=True)
class RunResult:
    """One run's fit, ready for export. World frame +Z up, metres.

    Attributes:
        params: :class:`BodyParams` over F frames (invalid frames filled).
        valid: ``(F,)`` bool, frames where the person was measured.
        frame_ids: ``(F,)`` video frame numbers; framerate: frames per second.
        body: the body model the fit used (float64).
        rest_joints: ``(24, 3)`` the fitted shape's rest joints in the body's y-up rest frame, metres.
        local_rotations: ``(F, 24, 3, 3)`` joint rotations (joint 0: body rest frame -> world).
        smpl_joints: ``(F, 24, 3)`` posed SMPL joints, world; coco23: ``(F, 23, 3)`` the fitted
            model's COCO-23 keypoints, world; vertices are computed on request (:meth:`vertices`).
        triangulated: ``(F, 23, 3)`` triangulated COCO-23 or None; triangulated_confidence ``(F, 23)``.
    """

    run_dir: Path
    params: BodyParams
    valid: np.ndarray
    frame_ids: np.ndarray
    framerate: float
    body: BodyModel
    rest_joints: np.ndarray
    local_rotations: np.ndarray
    smpl_joints: np.ndarray
    coco23: np.ndarray
    triangulated: np.ndarray | None
    triangulated_confidence: np.ndarray | None

    @property
    def num_frames(self) -> int:
        return int(self.params.num_frames)

    @property
    def parents(self) -> tuple[int, ...]:
        return SMPL_PARENTS

    @property
    def joint_names(self) -> tuple[str, ...]:
        return SMPL_JOINTS

    @property
    def coco23_names(self) -> tuple[str, ...]:
        return COCO23

    def rest_vertices(self) -> np.ndarray:
        """``(V, 3)`` the fitted shape in the rest pose (T-pose), body rest frame, metres."""
        with torch.no_grad():
            return self.body(betas=self.params.betas[None]).vertices[0].numpy()

    def vertices(self, frames: np.ndarray | slice | None = None) -> np.ndarray:
        """``(F', V, 3)`` posed vertices in the world, metres, for the chosen frames."""
        p = self.params if frames is None else self.params.frames(torch.as_tensor(np.arange(self.num_frames)[frames]))
        with torch.no_grad():
            out = self.body(global_orient=p.global_orient, body_pose=p.body_pose,
                            betas=p.betas.expand(p.num_frames, -1), transl=p.transl)
        return out.vertices.numpy()


def load_run(run_dir: str | Path, body_model: str | None = None) -> RunResult:
    """Read a ``reconstruct`` output folder.

    ``body_model`` overrides the model the run names (a shipped name or a file); the file's
    sha256 must match the one the run recorded. Raises :class:`MissingFileError` when the folder
    holds no fit, :class:`FileFormatError` for unreadable files.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MissingFileError(run_dir, "reconstruct output folder")
    params_path = run_dir / "smpl_params.npz"
    if not params_path.is_file():
        raise MissingFileError(params_path, "fit result (smpl_params.npz; run `mvmocap reconstruct` first)")
    record = load_smpl_params(params_path)
    body = _body_for(run_dir, params_path, record.body_model, record.body_model_sha256, body_model)
    valid = record.params.valid.numpy().copy()
    try:
        params = fill_invalid_frames(record.params.to(dtype=torch.float64), record.params.valid)
    except InputError:
        raise FileFormatError(params_path, "no valid frame: nothing to export") from None
    framerate = record.framerate if np.isfinite(record.framerate) and record.framerate > 0 else 30.0
    with torch.no_grad():
        out = body(global_orient=params.global_orient, body_pose=params.body_pose,
                   betas=params.betas.expand(params.num_frames, -1), transl=params.transl)
        rest = body(betas=params.betas[None])
    from mvmocap.body.lbs import rodrigues

    rotations = rodrigues(torch.cat([params.global_orient[:, None], params.body_pose], 1)).numpy()
    triangulated, confidence = _triangulated(run_dir / "joints3d.npz", params.num_frames)
    return RunResult(
        run_dir=run_dir, params=params, valid=valid, frame_ids=np.asarray(record.frame_ids), framerate=float(framerate),
        body=body, rest_joints=rest.joints[0].numpy(), local_rotations=rotations,
        smpl_joints=out.joints.numpy(), coco23=out.coco23.numpy(),
        triangulated=triangulated, triangulated_confidence=confidence,
    )


def _body_for(run_dir: Path, params_path: Path, name: str, sha256: str, override: str | None) -> BodyModel:
    source = override or _configured_body(run_dir) or name or None
    try:
        body = load_body_model(source, dtype=torch.float64)
    except MissingFileError:
        raise FileFormatError(params_path, f"was fitted with body model {name!r}, which was not found here; "
                                           "give it with --body-model PATH") from None
    if sha256 and body.file_hash != sha256:
        raise FileFormatError(params_path, f"was fitted with body model {name!r} (sha256 {sha256[:12]}…), not "
                                           f"{body.name!r} ({body.file_hash[:12]}…); give the right file with --body-model")
    return body


def _configured_body(run_dir: Path) -> str | None:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return None
    try:
        values = load_yaml(path, what="run configuration") or {}
    except FileFormatError:
        return None
    value = values.get("body_model") if isinstance(values, dict) else None
    return str(value) if value else None


def _triangulated(path: Path, frames: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not path.is_file():
        return None, None
    try:
        with np.load(path, allow_pickle=False) as data:
            if "triangulated" not in data.files:
                return None, None
            points = data["triangulated"].astype(np.float64)
            confidence = (data["triangulated_confidence"].astype(np.float64) if "triangulated_confidence" in data.files
                          else np.ones(points.shape[:2]))
    except (OSError, ValueError) as exc:
        raise FileFormatError(path, f"not a readable .npz file ({exc})") from None
    if points.shape != (frames, len(COCO23), 3) or confidence.shape != points.shape[:2]:
        raise FileFormatError(path, f"triangulated {points.shape} does not match {frames} frames x {len(COCO23)} joints")
    return np.nan_to_num(points), np.where(np.isfinite(confidence), confidence, 0.0)
